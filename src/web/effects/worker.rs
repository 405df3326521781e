//! The effects on the trainer's worker: starting it (with the images and the classifier),
//! loading MNIST, and every command of a run.

use std::cell::RefCell;
use std::rc::Rc;

use super::{AUTOSAVE_HEADROOM, Effects, spawn};
use crate::app::{CapturePurpose, DataRef, Effect, Event, MemoryFigures};
use crate::calibration::{Calibration, ProductTiming, TIMED_STEPS, WARM_UP_STEPS};
use crate::matmul::Products;
use crate::path::ComputePath;
use crate::protocol::{Command, Reply, TrainerError, bytes_to_floats};
use crate::web::client::Requests;
use crate::web::dataset;
use crate::web::dom::{wasm_memory_bytes, window};
use crate::web::group::TrainerGroup;

impl Effects {
    /// Runs one command of the worker.
    pub(super) fn run_worker(&self, effect: Effect) {
        match effect {
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
            Effect::Grid { run, step, digits } => {
                let reply = self.ask(Command::Grid { digits });
                self.reply(reply, move |result| Event::GridRead {
                    run,
                    step,
                    result: result.and_then(|reply| match reply {
                        Reply::Pixels(bytes) => Ok(bytes_to_floats(&bytes)),
                        other => Err(other.unexpected()),
                    }),
                });
            }
            Effect::Samples { run, epoch, count } => {
                let reply = self.ask(Command::Samples { count });
                self.reply(reply, move |result| Event::SamplesRead {
                    run,
                    epoch,
                    result: result.and_then(|reply| match reply {
                        Reply::Pixels(bytes) => Ok(bytes.into_vec()),
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
            Effect::Score {
                run,
                epoch,
                samples,
            } => {
                let reply = self.ask(Command::Score { samples });
                self.reply(reply, move |result| Event::Scored {
                    run,
                    epoch,
                    result: result.and_then(|reply| match reply {
                        Reply::Score(score) => Ok(score),
                        other => Err(other.unexpected()),
                    }),
                });
            }
            Effect::Walk {
                run,
                from,
                to,
                frames,
                digits,
            } => {
                let reply = self.ask(Command::Walk {
                    from,
                    to,
                    frames,
                    digits,
                });
                self.reply(reply, move |result| Event::Walked {
                    run,
                    from,
                    to,
                    result: result.and_then(|reply| match reply {
                        Reply::Pixels(bytes) => Ok(bytes_to_floats(&bytes)),
                        other => Err(other.unexpected()),
                    }),
                });
            }
            Effect::GridNoise { run, seed } => {
                let ack = self.ask(Command::GridNoise { seed });
                self.reply(ack, move |result| Event::NoiseRedrawn {
                    run,
                    result: result.and_then(done),
                });
            }
            Effect::Calibrate { key, config } => {
                let measured = match self.worker() {
                    Some(group) => group.calibrate(&config, WARM_UP_STEPS, TIMED_STEPS),
                    None => {
                        let none = || Err("no worker is running".to_string());
                        let products = Products::ALL.map(|products| ProductTiming {
                            products,
                            ms: none(),
                        });
                        Box::pin(std::future::ready((products.to_vec(), none())))
                    }
                };
                // The page calibrates hardware adapters only, whose own kernel is CubeCL's.
                self.reply(measured, move |(products, cpu)| {
                    Event::Calibrated(Calibration::measured(key, products, cpu, Products::Burns))
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
            Effect::UseProducts(products) => {
                let started = self.ask(Command::StartWebGpu {
                    products: Some(products),
                });
                spawn(async move {
                    if !matches!(started.await, Ok(Reply::Done)) {
                        log::warn!("the worker kept its product kernel");
                    }
                });
            }
            _ => log::warn!("not an effect on the worker"),
        }
    }

    /// Workers for `path`: the running group, or a new one of `workers` given the images;
    /// then, for WebGPU, the first worker's device.
    pub(super) fn start_path(&self, path: ComputePath, workers: usize, products: Option<Products>) {
        let running = self.worker().filter(|w| w.failure().is_none());
        let (worker, images, classifier) = match running {
            Some(worker) => (worker, None, None),
            None => match TrainerGroup::spawn(workers) {
                Ok(worker) => {
                    let dispatch = self.dispatch.clone();
                    worker.set_on_stop(move |reason| {
                        dispatch.send_later(Event::WorkerStopped(reason.to_string()));
                    });
                    *self.worker.borrow_mut() = Some(worker.clone());
                    let classifier = self.classifier.borrow().clone();
                    (worker, self.images.borrow().clone(), classifier)
                }
                Err(e) => {
                    let result = Err(e.to_string());
                    self.dispatch.send_later(Event::PathStarted {
                        path,
                        workers,
                        result,
                    });
                    return;
                }
            },
        };
        let workers = worker.len();
        let started = async move {
            if let Some((source, images)) = images {
                worker.send_data(&images, &source).await?;
            }
            if let Some(classifier) = classifier {
                worker.send_classifier(&classifier).await?;
            }
            if path == ComputePath::WebGpu {
                worker
                    .acknowledge(Command::StartWebGpu { products })
                    .await?;
            }
            Ok::<(), TrainerError>(())
        };
        self.reply(started, move |result| Event::PathStarted {
            path,
            workers,
            result: result.map_err(|e| e.to_string()),
        });
    }

    /// Downloads and checks MNIST, keeps the images for every worker, and hands them to the
    /// running one before saying that MNIST is ready.
    pub(super) fn load_data(&self) {
        let dispatch = self.dispatch.clone();
        let slot = self.images.clone();
        let mnist_slot = self.mnist.clone();
        let worker_slot = self.worker.clone();
        let classifier_slot = self.classifier.clone();
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
                    let summary = super::data::summary_of(DataRef::mnist(), &mnist);
                    let images = Rc::new(mnist);
                    *mnist_slot.borrow_mut() = Some(images.clone());
                    *slot.borrow_mut() = Some((DataRef::mnist(), images.clone()));
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
            let loaded = summary.is_ok();
            dispatch.send(Event::DataLoaded(summary));
            if loaded {
                let ready = load_classifier(&classifier_slot, &worker_slot).await;
                dispatch.send(Event::QualityReady(ready));
            }
        });
    }
}

/// Downloads and checks the quality classifier, keeps it for every new worker and hands it to
/// the running one.
async fn load_classifier(
    slot: &RefCell<Option<Rc<Vec<u8>>>>,
    worker: &RefCell<Option<Rc<TrainerGroup>>>,
) -> Result<(), String> {
    let bytes = Rc::new(
        dataset::load_classifier()
            .await
            .map_err(|e| e.to_string())?,
    );
    *slot.borrow_mut() = Some(bytes.clone());
    let worker = worker.borrow().clone();
    match worker.filter(|w| w.failure().is_none()) {
        Some(worker) => worker
            .send_classifier(&bytes)
            .await
            .map_err(|e| e.to_string()),
        None => Ok(()),
    }
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
