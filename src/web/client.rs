//! The page's end of the trainer's worker: it starts `www/worker.js` (which loads this same
//! wasm module and hands each message to `web::host`), sends [`Request`]s and resolves each
//! with its answer ([`crate::protocol::FromWorker`]). It knows the protocol, not the host.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use super::dom::{Listener, js_message, to_js};
use super::unread::Unread;
use crate::calibration::ProductTiming;
use crate::config::TrainingConfig;
use crate::data::{DataRef, Dataset};
use crate::matmul::Products;
use crate::path::ComputePath;
use crate::protocol::{Command, Reply, Request, ToWorker, TrainerError};
use crate::session::Pending;
use crate::shard::ShardPlace;

/// Why the worker could not start.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the worker could not start: {0}")]
pub struct SpawnError(String);

impl SpawnError {
    /// The error, with why.
    pub fn new(reason: String) -> Self {
        Self(reason)
    }
}

/// What the owner of a worker is told when it stops.
type StopHandler = Box<dyn Fn(&str)>;

/// What a request is told of its progress: done, in all.
type ProgressHandler = Box<dyn Fn(usize, usize)>;

/// The page's handle on the worker. Dropping it stops the worker.
pub struct TrainerWorker {
    worker: Worker,
    next_id: Cell<u32>,
    waiting: RefCell<HashMap<u32, Function>>,
    /// The request told of its progress (`FromWorker::Progress`), and what it is told: one at
    /// a time (an import worker stages one request's files).
    progress: RefCell<Option<(u32, ProgressHandler)>>,
    failure: RefCell<Option<String>>,
    on_stop: RefCell<Option<StopHandler>>,
    _listeners: Vec<Listener>,
}

impl Drop for TrainerWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// The URL of the wasm-bindgen glue of the module this thread runs: the wasm file the page
/// fetched (`x_bg.wasm` comes with `x.js`, under trunk and under the test runner alike).
fn glue_url() -> Option<String> {
    let performance = Reflect::get(&js_sys::global(), &"performance".into()).ok()?;
    let performance: web_sys::Performance = performance.dyn_into().ok()?;
    performance
        .get_entries_by_type("resource")
        .iter()
        .filter_map(|entry| entry.dyn_into::<web_sys::PerformanceEntry>().ok())
        .map(|entry| entry.name())
        .find_map(|name| {
            let path = name.split(['?', '#']).next()?;
            path.strip_suffix("_bg.wasm")
                .map(|base| format!("{base}.js"))
        })
}

impl TrainerWorker {
    /// Starts the worker on this very wasm module.
    pub fn spawn() -> Result<Rc<Self>, SpawnError> {
        let fail = |e: JsValue| SpawnError(js_message(&e));
        let glue =
            glue_url().ok_or_else(|| SpawnError("the page's wasm module was not found".into()))?;
        let script = wasm_bindgen::link_to!(module = "/www/worker.js");
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        options.set_name("mnist-gan-trainer");
        let worker = Worker::new_with_options(&script, &options).map_err(fail)?;
        let boot = Object::new();
        Reflect::set(&boot, &"glue".into(), &glue.into()).map_err(fail)?;
        Reflect::set(&boot, &"module".into(), &wasm_bindgen::module()).map_err(fail)?;
        worker.post_message(&boot).map_err(fail)?;
        Ok(Rc::new_cyclic(|weak: &Weak<Self>| {
            let on_message = {
                let weak = weak.clone();
                Listener::new(&worker, "message", move |event| {
                    if let (Some(this), Some(event)) =
                        (weak.upgrade(), event.dyn_ref::<MessageEvent>())
                    {
                        this.receive(event.data());
                    }
                })
            };
            let on_error = {
                let weak = weak.clone();
                Listener::new(&worker, "error", move |event| {
                    let message = event
                        .dyn_ref::<web_sys::ErrorEvent>()
                        .map(|e| e.message())
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| "it stopped".into());
                    if let Some(this) = weak.upgrade() {
                        this.fail(&message);
                    }
                })
            };
            Self {
                worker,
                next_id: Cell::new(1),
                waiting: RefCell::new(HashMap::new()),
                progress: RefCell::new(None),
                failure: RefCell::new(None),
                on_stop: RefCell::new(None),
                _listeners: vec![on_message, on_error],
            }
        }))
    }

    /// Calls `on_stop` with the reason when the worker stops.
    pub fn set_on_stop(&self, on_stop: impl Fn(&str) + 'static) {
        *self.on_stop.borrow_mut() = Some(Box::new(on_stop));
    }

    /// Why the worker stopped, once it has.
    pub fn failure(&self) -> Option<String> {
        self.failure.borrow().clone()
    }
}

/// What the page asks of its trainers (one worker, or a group of them): a command and its
/// reply, and the requests built on it.
pub trait Requests {
    /// Sends a command; the future resolves with its reply (a `Failed` reply is an error).
    /// Dropping the future does not cancel the command.
    fn request(&self, command: Command) -> Pending<Result<Reply, TrainerError>>;

    /// A command whose answer is [`Reply::Done`].
    fn acknowledge(&self, command: Command) -> Pending<Result<(), TrainerError>> {
        let reply = self.request(command);
        Box::pin(async move {
            match reply.await? {
                Reply::Done => Ok(()),
                other => Err(other.unexpected()),
            }
        })
    }

    /// Times `steps` steps (after `warm_up`) of a throwaway trainer with `config` on each path,
    /// WebGPU's device started first and timed with each kernel for its products in turn (the
    /// device keeps the last; `StartWebGpu` names the one to train with): WebGPU's ms per step
    /// per kernel, then the CPU path's (or why not).
    fn calibrate(
        &self,
        config: &TrainingConfig,
        warm_up: usize,
        steps: usize,
    ) -> Pending<(Vec<ProductTiming>, Result<f64, String>)> {
        let started = self.acknowledge(Command::StartWebGpu { products: None });
        let timing = |path, products| {
            let reply = self.request(Command::Calibrate {
                config: config.clone(),
                path,
                warm_up,
                steps,
                products,
            });
            async move {
                match reply.await {
                    Ok(Reply::Timing(ms)) => Ok(ms),
                    Ok(other) => Err(other.unexpected().to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        let webgpu: Vec<_> = Products::ALL
            .into_iter()
            .map(|products| (products, timing(ComputePath::WebGpu, Some(products))))
            .collect();
        let cpu = timing(ComputePath::Cpu, None);
        Box::pin(async move {
            let started = started.await.map_err(|e| e.to_string());
            let mut products = Vec::new();
            for (kernel, ms) in webgpu {
                let ms = ms.await;
                let ms = started.clone().and(ms);
                products.push(ProductTiming {
                    products: kernel,
                    ms,
                });
            }
            (products, cpu.await)
        })
    }

    /// Sends MNIST's training images and waits until the trainers have them.
    fn send_images(&self, data: &Dataset) -> Pending<Result<(), TrainerError>> {
        self.send_data(data, &DataRef::mnist())
    }

    /// Sends the training images of `source` and waits until the trainers have them.
    fn send_data(&self, data: &Dataset, source: &DataRef) -> Pending<Result<(), TrainerError>> {
        let images = data.images();
        self.acknowledge(Command::Data {
            count: images.count,
            pixels: serde_bytes::ByteBuf::from(images.pixels.clone()),
            labels: data
                .labels()
                .map(|labels| serde_bytes::ByteBuf::from(labels.to_vec())),
            source: source.clone(),
        })
    }

    /// Hands the quality classifier's file to the trainer that scores.
    fn send_classifier(&self, classifier: &[u8]) -> Pending<Result<(), TrainerError>> {
        self.acknowledge(Command::Quality {
            classifier: serde_bytes::ByteBuf::from(classifier.to_vec()),
        })
    }
}

impl Requests for TrainerWorker {
    fn request(&self, command: Command) -> Pending<Result<Reply, TrainerError>> {
        self.post(command, &|_| Ok(()))
    }
}

impl TrainerWorker {
    /// Hands the worker `unread` files to read and stage for the imports that follow
    /// ([`Command::StageFiles`], read by the worker's web layer: `web::unread`);
    /// `progress(read, total)` as it reads them.
    pub fn stage(
        &self,
        unread: &Unread,
        progress: impl Fn(usize, usize) + 'static,
    ) -> Pending<Result<(), TrainerError>> {
        if let Some(failure) = self.failure() {
            return Box::pin(std::future::ready(Err(TrainerError::Worker(failure))));
        }
        let id = self.next_id.get();
        *self.progress.borrow_mut() = Some((id, Box::new(progress)));
        // `{ Request: { id, command: { StageFiles: { files: [], unread } } } }`.
        let reply = self.post(Command::StageFiles { files: Vec::new() }, &|message| {
            let request = Reflect::get(message, &"Request".into())?;
            let command = Reflect::get(&request, &"command".into())?;
            let staged = Reflect::get(&command, &"StageFiles".into())?;
            Reflect::set(&staged, &"unread".into(), &unread.to_js()?).map(drop)
        });
        Box::pin(async move {
            match reply.await? {
                Reply::Done => Ok(()),
                other => Err(other.unexpected()),
            }
        })
    }

    /// Sends `command` (its message amended by `amend`); the future resolves with the reply.
    fn post(
        &self,
        command: Command,
        amend: &dyn Fn(&JsValue) -> Result<(), JsValue>,
    ) -> Pending<Result<Reply, TrainerError>> {
        if let Some(failure) = self.failure() {
            return Box::pin(std::future::ready(Err(TrainerError::Worker(failure))));
        }
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        let mut resolve = None;
        let promise = Promise::new(&mut |ok, _| resolve = Some(ok));
        let sent = to_js(&ToWorker::Request(Request { id, command })).and_then(|message| {
            amend(&message)
                .and_then(|()| self.worker.post_message(&message))
                .map_err(|e| TrainerError::Worker(js_message(&e)))
        });
        if let Err(e) = sent {
            return Box::pin(std::future::ready(Err(e)));
        }
        if let Some(resolve) = resolve {
            self.waiting.borrow_mut().insert(id, resolve);
        }
        Box::pin(async move {
            let value = JsFuture::from(promise)
                .await
                .map_err(|e| TrainerError::Worker(js_message(&e)))?;
            match serde_wasm_bindgen::from_value::<Reply>(value) {
                Ok(Reply::Failed(e)) => Err(e),
                Ok(reply) => Ok(reply),
                Err(e) => Err(TrainerError::Worker(format!("an unreadable reply: {e}"))),
            }
        })
    }
}

impl TrainerWorker {
    /// Reads a [`FromWorker`] envelope; the reply inside is decoded once, by the request that
    /// waits for it (a weights file is megabytes).
    fn receive(&self, data: JsValue) {
        let field = |value: &JsValue, name: &str| {
            Reflect::get(value, &JsValue::from_str(name))
                .ok()
                .filter(|v| !v.is_undefined())
        };
        if let Some(reason) = field(&data, "Fatal").and_then(|f| f.as_string()) {
            self.fail(&reason);
            return;
        }
        if let Some(progress) = field(&data, "Progress").filter(JsValue::is_object) {
            let number = |name| field(&progress, name).and_then(|v| v.as_f64());
            // Out of its cell while it runs: the page may send another request meanwhile.
            let told = self.progress.borrow_mut().take();
            if let Some((id, handler)) = told {
                if number("id") == Some(f64::from(id))
                    && let (Some(done), Some(total)) = (number("done"), number("total"))
                {
                    handler(done as usize, total as usize);
                }
                let mut cell = self.progress.borrow_mut();
                if cell.is_none() && self.failure.borrow().is_none() {
                    *cell = Some((id, handler));
                }
            }
            return;
        }
        // Anything else is not ours (a test runner relays the worker's console this way).
        let Some(answer) = field(&data, "Answer").filter(JsValue::is_object) else {
            return;
        };
        let Some(id) = field(&answer, "id").and_then(|id| id.as_f64()) else {
            return;
        };
        let reply = field(&answer, "reply").unwrap_or(JsValue::UNDEFINED);
        let mut progress = self.progress.borrow_mut();
        if progress
            .as_ref()
            .is_some_and(|(told, _)| *told == id as u32)
        {
            *progress = None;
        }
        drop(progress);
        let resolve = self.waiting.borrow_mut().remove(&(id as u32));
        match resolve {
            Some(resolve) => {
                let _ = resolve.call1(&JsValue::NULL, &reply);
            }
            None => log::warn!("the worker answered an unknown request {id}"),
        }
    }

    /// Marks the worker as stopped and fails every request still waiting.
    fn fail(&self, message: &str) {
        if self.failure.borrow().is_some() {
            return;
        }
        log::warn!("the worker stopped: {message}");
        *self.failure.borrow_mut() = Some(message.to_string());
        let reply = to_js(&Reply::Failed(TrainerError::Worker(message.to_string())))
            .unwrap_or(JsValue::UNDEFINED);
        self.progress.borrow_mut().take();
        let waiting: Vec<Function> = self.waiting.borrow_mut().drain().map(|(_, f)| f).collect();
        for resolve in waiting {
            let _ = resolve.call1(&JsValue::NULL, &reply);
        }
        if let Some(on_stop) = self.on_stop.borrow().as_ref() {
            on_stop(message);
        }
    }

    /// Places the worker in a group of replicas, with one port to each other worker.
    pub fn join(&self, place: ShardPlace, ports: &js_sys::Array) -> Result<(), TrainerError> {
        let message = to_js(&ToWorker::Join(place))?;
        self.worker
            .post_message_with_transfer(&message, ports)
            .map_err(|e| TrainerError::Worker(js_message(&e)))
    }

    /// Destroys the worker's WebGPU device, as a driver reset would (tests recovery).
    #[cfg(feature = "test-hooks")]
    pub fn lose_gpu_device(&self) {
        if let Ok(message) = to_js(&ToWorker::LoseDevice) {
            let _ = self.worker.post_message(&message);
        }
    }
}
