//! The one place where the page acts on the world: the worker, the saved runs, downloads,
//! animation frames. Each [`Effect`] runs here, and what comes of it returns as an [`Event`] through the
//! [`Dispatch`] (always later, never inside the update that asked for it).

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlCanvasElement, Url};

use super::client::TrainerWorker;
use super::dataset;
use super::dispatch::Dispatch;
use super::dom::{by_id, document, js_message, wasm_memory_bytes, window};
use super::frame::FrameLoop;
use super::gpu;
use super::library::RunLibrary;
use super::locks;
use crate::app::{CapturePurpose, DataSummary, Effect, Event, MemoryFigures, RunKey};
use crate::idx::IdxImages;
use crate::path::ComputePath;
use crate::protocol::{Command, Reply, TrainerError, bytes_to_floats};

/// Bytes reserved in the page's wasm memory at load for the autosave's copies of the weights.
const AUTOSAVE_HEADROOM: usize = 16 << 20;

fn spawn(future: impl Future<Output = ()> + 'static) {
    wasm_bindgen_futures::spawn_local(future);
}

/// What the effects keep between calls: the worker, the images for each new worker, frames.
pub struct Effects {
    dispatch: Dispatch,
    frames: Rc<FrameLoop>,
    /// The worker (shared with the task that loads MNIST, which hands it the images).
    worker: Rc<RefCell<Option<Rc<TrainerWorker>>>>,
    /// The images, for every worker started once they are loaded.
    images: Rc<RefCell<Option<Rc<IdxImages>>>>,
    /// The saved runs, the runs this tab holds, the channel to other tabs.
    library: Rc<RunLibrary>,
}

impl Effects {
    /// Effects that report through `dispatch` and schedule `frames`.
    pub fn new(dispatch: Dispatch, frames: Rc<FrameLoop>) -> Self {
        let library = {
            let dispatch = dispatch.clone();
            RunLibrary::new(move || dispatch.send(Event::LibraryChanged))
        };
        Self {
            dispatch,
            frames,
            worker: Rc::new(RefCell::new(None)),
            images: Rc::new(RefCell::new(None)),
            library: Rc::new(library),
        }
    }

    /// Runs `task` with the library and sends its outcome back as an event.
    fn with_library<T: 'static, F: Future<Output = T> + 'static>(
        &self,
        task: impl FnOnce(Rc<RunLibrary>) -> F,
        event: impl FnOnce(T) -> Event + 'static,
    ) {
        self.reply(task(self.library.clone()), event);
    }

    /// Lists the runs, then waits on each run another tab holds, to list again once it is let
    /// go (a tab closed, or its run left its screen).
    fn list_runs(&self) {
        let library = self.library.clone();
        let dispatch = self.dispatch.clone();
        spawn(async move {
            let listing = library.listing().await;
            if let Ok(listing) = &listing {
                for key in library.to_watch(&listing.elsewhere) {
                    watch(library.clone(), key, dispatch.clone());
                }
            }
            dispatch.send(Event::RunsListed(listing));
        });
    }

    /// The worker, when one runs.
    pub fn worker(&self) -> Option<Rc<TrainerWorker>> {
        self.worker.borrow().clone()
    }

    /// Sends `request`'s outcome back as an event, once it arrives.
    fn reply<T: 'static>(
        &self,
        request: impl Future<Output = T> + 'static,
        event: impl FnOnce(T) -> Event + 'static,
    ) {
        let dispatch = self.dispatch.clone();
        spawn(async move { dispatch.send(event(request.await)) });
    }

    /// Asks the worker; without one, the answer is an error.
    fn ask(&self, command: Command) -> impl Future<Output = Result<Reply, TrainerError>> + 'static {
        let reply = self.worker().map(|worker| worker.request(command));
        async move {
            match reply {
                Some(reply) => reply.await,
                None => Err(TrainerError::Worker("no worker is running".into())),
            }
        }
    }

    /// Runs one effect.
    pub fn run(&self, effect: Effect) {
        match effect {
            Effect::ProbeGpu => self.reply(gpu::probe(), Event::GpuProbed),
            Effect::StartPath(path) => self.start_path(path),
            Effect::DropWorker => drop(self.worker.borrow_mut().take()),
            Effect::LoadData => self.load_data(),
            Effect::ListRuns => self.list_runs(),
            Effect::ClaimRun { key } => self.with_library(
                {
                    let key = key.clone();
                    |library| async move { library.claim(&key).await }
                },
                |result| Event::RunClaimed { key, result },
            ),
            Effect::ReleaseRun { key } => self.library.release(&key),
            Effect::DeleteRuns { keys } => self.with_library(
                |library| async move { library.delete(&keys).await },
                Event::RunsDeleted,
            ),
            Effect::RenameRun { key, name } => self.with_library(
                |library| async move { library.rename(&key, &name).await },
                Event::RunRenamed,
            ),
            Effect::DownloadRun { key, name } => {
                let library = self.library.clone();
                let dispatch = self.dispatch.clone();
                spawn(async move {
                    let offered = match library.weights(&key).await {
                        Ok(bytes) => download_bytes(&bytes, &name, "application/octet-stream"),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = offered {
                        dispatch.send(Event::DownloadFailed(e));
                    }
                });
            }
            Effect::PersistStorage => {
                let library = self.library.clone();
                let dispatch = self.dispatch.clone();
                spawn(async move {
                    if let Some(figures) = library.persist().await {
                        dispatch.send(Event::StorageChecked(figures));
                    }
                });
            }
            Effect::Create { run, path, config } => {
                let ack = self.ask(Command::Create { config, path });
                self.reply(ack, move |result| Event::TrainerReady {
                    run,
                    result: result.and_then(done),
                });
            }
            Effect::Load {
                run,
                path,
                weights,
                fallback,
            } => {
                let ack = self.ask(Command::Load {
                    weights: serde_bytes::ByteBuf::from(weights),
                    fallback,
                    path,
                });
                self.reply(ack, move |result| Event::TrainerReady {
                    run,
                    result: result.and_then(done),
                });
            }
            Effect::SetLive {
                run,
                epochs,
                snapshot_every,
            } => {
                let ack = self.ask(Command::SetLive {
                    epochs,
                    snapshot_every,
                });
                self.reply(ack, move |result| Event::LiveApplied {
                    run,
                    epochs,
                    snapshot_every,
                    result: result.and_then(done),
                });
            }
            Effect::Step { run } => {
                let reply = self.ask(Command::Step);
                self.reply(reply, move |result| Event::StepDone {
                    run,
                    result: result.and_then(|reply| match reply {
                        Reply::Step(report) => Ok(report),
                        other => Err(other.unexpected()),
                    }),
                });
            }
            Effect::Grid { run, step } => {
                let reply = self.ask(Command::Grid);
                self.reply(reply, move |result| Event::GridRead {
                    run,
                    step,
                    result: result.and_then(|reply| match reply {
                        Reply::Pixels(bytes) => Ok(bytes_to_floats(&bytes)),
                        other => Err(other.unexpected()),
                    }),
                });
            }
            Effect::Capture { run, purpose } => {
                let checked = matches!(purpose, CapturePurpose::Autosave { .. });
                let reply = self.ask(Command::Capture { checked });
                self.reply(reply, move |result| Event::Captured {
                    run,
                    purpose,
                    result: result.and_then(|reply| match reply {
                        Reply::Weights(bytes) => Ok(bytes.into_vec()),
                        other => Err(other.unexpected()),
                    }),
                });
            }
            Effect::Stats => {
                let reply = self.ask(Command::Stats);
                let dispatch = self.dispatch.clone();
                spawn(async move {
                    if let Ok(Reply::Stats(worker)) = reply.await {
                        dispatch.send(Event::Memory(MemoryFigures {
                            worker,
                            page_wasm: wasm_memory_bytes(),
                            page_js_heap: js_heap_bytes(),
                        }));
                    }
                });
            }
            Effect::Save {
                mut summary,
                mut record,
            } => {
                let key = summary.key.clone();
                self.with_library(
                    |library| async move {
                        record.saved_at = js_sys::Date::now();
                        summary.saved_at = record.saved_at;
                        library.save(&summary, &record).await?;
                        Ok((*summary, *record))
                    },
                    |result| Event::Saved { key, result },
                );
            }
            Effect::Download { name, bytes } => {
                if let Err(e) = download_bytes(&bytes, &name, "application/octet-stream") {
                    self.dispatch.send_later(Event::DownloadFailed(e));
                }
            }
            Effect::DownloadCanvas { id, name } => {
                let saved = by_id::<HtmlCanvasElement>(id)
                    .map_err(|e| e.to_string())
                    .and_then(|canvas| canvas.to_data_url().map_err(|e| js_message(&e)))
                    .and_then(|url| click_link(&url, &name));
                if let Err(e) = saved {
                    self.dispatch.send_later(Event::DownloadFailed(e));
                }
            }
            Effect::ScheduleFrame => self.frames.schedule(),
            Effect::CancelFrame => self.frames.cancel(),
        }
    }

    /// A worker for `path`: the running one, or a new one given the images; then, for WebGPU,
    /// the worker's device.
    fn start_path(&self, path: ComputePath) {
        let running = self.worker().filter(|w| w.failure().is_none());
        let (worker, images) = match running {
            Some(worker) => (worker, None),
            None => match TrainerWorker::spawn() {
                Ok(worker) => {
                    let dispatch = self.dispatch.clone();
                    worker.set_on_stop(move |reason| {
                        dispatch.send_later(Event::WorkerStopped(reason.to_string()));
                    });
                    *self.worker.borrow_mut() = Some(worker.clone());
                    (worker, self.images.borrow().clone())
                }
                Err(e) => {
                    let result = Err(e.to_string());
                    self.dispatch
                        .send_later(Event::PathStarted { path, result });
                    return;
                }
            },
        };
        let started = async move {
            if let Some(images) = images {
                worker.send_images(&images).await?;
            }
            if path == ComputePath::WebGpu {
                worker.acknowledge(Command::StartWebGpu).await?;
            }
            Ok::<(), TrainerError>(())
        };
        self.reply(started, move |result| Event::PathStarted {
            path,
            result: result.map_err(|e| e.to_string()),
        });
    }

    /// Downloads and checks MNIST, keeps the images for every worker, and hands them to the
    /// running one before saying that MNIST is ready.
    fn load_data(&self) {
        let dispatch = self.dispatch.clone();
        let slot = self.images.clone();
        let worker_slot = self.worker.clone();
        spawn(async move {
            let base = format!("{}/", dataset::DATA_DIR);
            let mut progress = |received: u64, total: u64| {
                dispatch.send(Event::DataProgress { received, total });
            };
            let summary = match dataset::load_mnist(&base, &mut progress).await {
                Ok(mnist) => {
                    // Grow the page's wasm memory now, while loading, by what an autosave
                    // passes through it (a weights file, twice): growing it mid-training
                    // stalls a frame.
                    drop(Vec::<u8>::with_capacity(AUTOSAVE_HEADROOM));
                    let summary = DataSummary {
                        count: mnist.images.count,
                        first_label: mnist.labels.first().copied().unwrap_or_default(),
                        first_image: mnist.images.image(0).to_vec(),
                    };
                    let images = Rc::new(mnist.images);
                    *slot.borrow_mut() = Some(images.clone());
                    // The worker running now (started during the download, before there were
                    // images to give it); a later one gets them when it starts.
                    let worker = worker_slot.borrow().clone();
                    match worker.filter(|w| w.failure().is_none()) {
                        Some(worker) => worker
                            .send_images(&images)
                            .await
                            .map(|()| summary)
                            .map_err(|e| e.to_string()),
                        None => Ok(summary),
                    }
                }
                Err(e) => {
                    log::warn!("{e}");
                    Err(e.to_string())
                }
            };
            dispatch.send(Event::DataLoaded(summary));
        });
    }
}

/// Waits until no tab holds run `key`, then has the runs listed again.
fn watch(library: Rc<RunLibrary>, key: RunKey, dispatch: Dispatch) {
    spawn(async move {
        if let Err(e) = locks::released(&key).await {
            log::warn!("{e}");
        }
        library.watched(&key);
        dispatch.send(Event::LibraryChanged);
    });
}

fn done(reply: Reply) -> Result<(), TrainerError> {
    match reply {
        Reply::Done => Ok(()),
        other => Err(other.unexpected()),
    }
}

/// The page's JavaScript heap, where the browser tells (Chrome's `performance.memory`).
fn js_heap_bytes() -> Option<f64> {
    window()
        .performance()
        .and_then(|p| js_sys::Reflect::get(&p, &"memory".into()).ok())
        .and_then(|m| js_sys::Reflect::get(&m, &"usedJSHeapSize".into()).ok())
        .and_then(|v| v.as_f64())
}

/// Offers `bytes` as a file download.
fn download_bytes(bytes: &[u8], name: &str, mime: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| js_message(&e))?;
    let url = Url::create_object_url_with_blob(&blob).map_err(|e| js_message(&e))?;
    let result = click_link(&url, name);
    Url::revoke_object_url(&url).map_err(|e| js_message(&e))?;
    result
}

fn click_link(href: &str, name: &str) -> Result<(), String> {
    let link: HtmlAnchorElement = document()
        .create_element("a")
        .map_err(|e| js_message(&e))?
        .unchecked_into();
    link.set_href(href);
    link.set_download(name);
    link.click();
    Ok(())
}
