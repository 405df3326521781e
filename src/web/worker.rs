//! The trainer's thread: a dedicated Web Worker runs the core on either path — Burn's CPU
//! backend (wasm SIMD) or its own WebGPU device — so a step, which takes longer than a frame
//! to compute (CPU) or to record (WebGPU), never blocks the page.
//!
//! Both ends are here. The page's [`TrainerWorker`] starts `www/worker.js`, which loads this
//! same wasm module and passes every message to [`worker_receive`]. Requests carry an id;
//! the worker starts them strictly in order and answers each with a [`Response`].

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};

use burn::tensor::Device;
use js_sys::{Function, Object, Promise, Reflect};
use serde_bytes::ByteBuf;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, Worker, WorkerOptions, WorkerType};

use super::dom::{Listener, js_message};
use super::engine::{EngineError, LocalEngine, Pending, StepReport};
use crate::config::TrainingConfig;
use crate::data::Dataset;
use crate::idx::{IMAGE_PIXELS, IdxImages};
use crate::path::ComputePath;
use crate::weights::Checkpoint;

/// What the page asks of the worker.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Command {
    /// The training images (sent once; steps need them).
    Data {
        /// Number of images.
        count: usize,
        /// `count × 784` pixels.
        pixels: ByteBuf,
    },
    /// Create the worker's WebGPU device (before any trainer on that path).
    StartWebGpu,
    /// A fresh trainer.
    Create {
        /// Its settings (already validated by the page).
        config: TrainingConfig,
        /// Its device.
        path: ComputePath,
    },
    /// The trainer of a weights file.
    Load {
        /// The file.
        weights: ByteBuf,
        /// Settings for a file without them.
        fallback: TrainingConfig,
        /// Its device.
        path: ComputePath,
    },
    /// The settings a run may change while under way.
    SetLive {
        /// Epochs to train.
        epochs: usize,
        /// Snapshot interval in epochs.
        snapshot_every: usize,
    },
    /// Train the next batch.
    Step,
    /// The sample grid.
    Grid,
    /// The weights file.
    Capture {
        /// Also check it loads (every value finite): an autosave must never keep a diverged run.
        checked: bool,
    },
    /// Memory figures.
    Stats,
}

/// The worker's answer to one command.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Reply {
    /// Done, nothing to return.
    Done,
    /// A step's results.
    Step(StepReport),
    /// Sample pixels, f32 little-endian.
    Pixels(ByteBuf),
    /// A weights file.
    Weights(ByteBuf),
    /// Memory figures.
    Stats(WorkerStats),
    /// The command failed; the worker's state is as before it.
    Failed(EngineError),
}

impl Reply {
    /// The variant's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Reply::Done => "Done",
            Reply::Step(_) => "Step",
            Reply::Pixels(_) => "Pixels",
            Reply::Weights(_) => "Weights",
            Reply::Stats(_) => "Stats",
            Reply::Failed(_) => "Failed",
        }
    }
}

/// The worker's memory: its wasm heap and its device's memory pool.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkerStats {
    /// Bytes of the worker's wasm linear memory.
    pub wasm_bytes: f64,
    /// Bytes in use in the device's memory pool (Burn's allocator), where it reports one.
    pub device_in_use: Option<f64>,
    /// Bytes the device's memory pool has reserved.
    pub device_reserved: Option<f64>,
}

/// Bytes of this thread's wasm linear memory.
pub fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| {
            f64::from(
                m.buffer()
                    .unchecked_into::<js_sys::ArrayBuffer>()
                    .byte_length(),
            )
        })
        .unwrap_or(0.0)
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Request {
    id: u32,
    command: Command,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Response {
    id: u32,
    reply: Reply,
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, EngineError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::new())
        .map_err(|e| EngineError::Worker(format!("could not encode a message: {e}")))
}

/// Why the worker could not start.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the worker could not start: {0}")]
pub struct SpawnError(String);

/// What the owner of a worker is told when it stops.
type StopHandler = Box<dyn Fn(&str)>;

/// The page's handle on the worker. Dropping it stops the worker.
pub struct TrainerWorker {
    worker: Worker,
    next_id: Cell<u32>,
    /// The `resolve` function of each request's promise, by id.
    waiting: RefCell<HashMap<u32, Function>>,
    failure: RefCell<Option<String>>,
    /// Told once when the worker stops, so its owner can recover even with nothing pending.
    on_stop: RefCell<Option<StopHandler>>,
    _listeners: Vec<Listener>,
}

impl Drop for TrainerWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// The URL of this module's wasm-bindgen JavaScript, derived from the wasm file the page
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

    /// Sends a command; the future resolves with its reply (a `Failed` reply is an error).
    /// Dropping the future does not cancel the command.
    pub fn request(&self, command: Command) -> Pending<Result<Reply, EngineError>> {
        if let Some(failure) = self.failure() {
            return Box::pin(std::future::ready(Err(EngineError::Worker(failure))));
        }
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        let mut resolve = None;
        let promise = Promise::new(&mut |ok, _| resolve = Some(ok));
        let sent = to_js(&Request { id, command }).and_then(|message| {
            self.worker
                .post_message(&message)
                .map_err(|e| EngineError::Worker(js_message(&e)))
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
                .map_err(|e| EngineError::Worker(js_message(&e)))?;
            match serde_wasm_bindgen::from_value::<Reply>(value) {
                Ok(Reply::Failed(e)) => Err(e),
                Ok(reply) => Ok(reply),
                Err(e) => Err(EngineError::Worker(format!("an unreadable reply: {e}"))),
            }
        })
    }

    fn receive(&self, data: JsValue) {
        if let Some(fatal) = Reflect::get(&data, &"fatal".into())
            .ok()
            .and_then(|f| f.as_string())
        {
            self.fail(&fatal);
            return;
        }
        // Anything else without an id is not ours (a test runner relays the worker's console).
        let Some(id) = Reflect::get(&data, &"id".into())
            .ok()
            .and_then(|id| id.as_f64())
        else {
            return;
        };
        let reply = Reflect::get(&data, &"reply".into()).unwrap_or(JsValue::UNDEFINED);
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
        log::error!("the worker stopped: {message}");
        *self.failure.borrow_mut() = Some(message.to_string());
        let reply = to_js(&Reply::Failed(EngineError::Worker(message.to_string())))
            .unwrap_or(JsValue::UNDEFINED);
        let waiting: Vec<Function> = self.waiting.borrow_mut().drain().map(|(_, f)| f).collect();
        for resolve in waiting {
            let _ = resolve.call1(&JsValue::NULL, &reply);
        }
        if let Some(on_stop) = self.on_stop.borrow().as_ref() {
            on_stop(message);
        }
    }

    /// Destroys the worker's WebGPU device, as a driver reset would (tests recovery).
    pub fn lose_gpu_device(&self) {
        let message = Object::new();
        if Reflect::set(&message, &"loseDevice".into(), &JsValue::TRUE).is_ok() {
            let _ = self.worker.post_message(&message);
        }
    }

    /// Sends the training images (once per worker; later requests may train on them).
    pub fn send_dataset(&self, images: &IdxImages) {
        drop(self.request(Command::Data {
            count: images.count,
            pixels: ByteBuf::from(images.pixels.clone()),
        }));
    }
}

// ----- the worker's side ---------------------------------------------------------------

/// The worker's state: its images, its trainer, and the requests not yet handled.
#[derive(Default)]
struct WorkerSide {
    dataset: Option<Dataset>,
    engine: Option<LocalEngine>,
    queue: VecDeque<Request>,
    busy: bool,
}

thread_local! {
    static SIDE: RefCell<WorkerSide> = RefCell::new(WorkerSide::default());
}

fn refused(error: impl std::fmt::Display) -> Reply {
    Reply::Failed(EngineError::Refused(error.to_string()))
}

fn ready(reply: Reply) -> Pending<Reply> {
    Box::pin(std::future::ready(reply))
}

impl WorkerSide {
    /// Installs a new trainer; a failed one leaves the current trainer in place.
    fn replace_engine(&mut self, engine: Result<LocalEngine, EngineError>) -> Pending<Reply> {
        match engine {
            Ok(engine) => {
                self.engine = Some(engine);
                ready(Reply::Done)
            }
            Err(e) => ready(Reply::Failed(e)),
        }
    }

    /// Starts a command: the synchronous part under the borrow, the rest as a future.
    fn start(&mut self, command: Command) -> Pending<Reply> {
        let no_trainer = || refused("the worker has no trainer yet");
        match command {
            Command::Data { count, pixels } => {
                if count.checked_mul(IMAGE_PIXELS) != Some(pixels.len()) || count == 0 {
                    return ready(refused(format!(
                        "{} bytes are not {count} images of {IMAGE_PIXELS} pixels",
                        pixels.len()
                    )));
                }
                let pixels = pixels.into_vec();
                self.dataset = Some(Dataset::new(IdxImages { count, pixels }));
                ready(Reply::Done)
            }
            Command::StartWebGpu => Box::pin(async {
                match super::gpu::device().await {
                    Ok(_) => Reply::Done,
                    Err(e) => Reply::Failed(EngineError::Refused(e.to_string())),
                }
            }),
            Command::Create { config, path } => {
                self.replace_engine(device(path).and_then(|device| {
                    LocalEngine::new(config, &device)
                        .map_err(|e| EngineError::Refused(e.to_string()))
                }))
            }
            Command::Load {
                weights,
                fallback,
                path,
            } => self.replace_engine(device(path).and_then(|device| {
                Checkpoint::from_bytes(&weights, "", &fallback)
                    .map(|checkpoint| LocalEngine::from_checkpoint(checkpoint, &device))
                    .map_err(|e| EngineError::Refused(e.to_string()))
            })),
            Command::SetLive {
                epochs,
                snapshot_every,
            } => match self.engine.as_mut() {
                Some(engine) => {
                    engine.trainer.config.epochs = epochs;
                    engine.trainer.config.snapshot_every = snapshot_every;
                    ready(Reply::Done)
                }
                None => ready(no_trainer()),
            },
            Command::Step => {
                let (Some(engine), Some(data)) = (self.engine.as_mut(), self.dataset.as_ref())
                else {
                    return ready(refused("the worker has no trainer or no images yet"));
                };
                match engine.step(data) {
                    Ok(report) => Box::pin(async move {
                        match report.await {
                            Ok(report) => Reply::Step(report),
                            Err(e) => Reply::Failed(e),
                        }
                    }),
                    Err(e) => ready(refused(e)),
                }
            }
            Command::Grid => match &self.engine {
                Some(engine) => {
                    let grid = engine.grid();
                    Box::pin(async move {
                        match grid.await {
                            Ok(pixels) => Reply::Pixels(ByteBuf::from(
                                pixels
                                    .iter()
                                    .flat_map(|v| v.to_le_bytes())
                                    .collect::<Vec<u8>>(),
                            )),
                            Err(e) => Reply::Failed(e),
                        }
                    })
                }
                None => ready(no_trainer()),
            },
            Command::Stats => {
                let usage = self
                    .engine
                    .as_ref()
                    .and_then(|engine| engine.trainer.gan.device().memory_pool_usage());
                ready(Reply::Stats(WorkerStats {
                    wasm_bytes: wasm_memory_bytes(),
                    device_in_use: usage.as_ref().map(|u| u.bytes_in_use as f64),
                    device_reserved: usage.as_ref().map(|u| u.bytes_reserved as f64),
                }))
            }
            Command::Capture { checked } => match &self.engine {
                Some(engine) => {
                    let capture = engine.capture();
                    let config = engine.trainer.config.clone();
                    Box::pin(async move {
                        match capture.await {
                            Ok(bytes) => match Checkpoint::from_bytes(&bytes, "", &config) {
                                Err(e) if checked => {
                                    Reply::Failed(EngineError::Diverged(e.to_string()))
                                }
                                _ => Reply::Weights(ByteBuf::from(bytes)),
                            },
                            Err(e) => Reply::Failed(e),
                        }
                    })
                }
                None => ready(no_trainer()),
            },
        }
    }
}

/// The worker's device for `path` (WebGPU's was created by `StartWebGpu`).
fn device(path: ComputePath) -> Result<Device, EngineError> {
    match path {
        ComputePath::Cpu => Ok(Device::flex()),
        ComputePath::WebGpu => super::gpu::created_device().ok_or_else(|| {
            EngineError::Refused("the worker's WebGPU device was not started".into())
        }),
    }
}

/// Called by `www/worker.js` with each message from the page (the worker's only entry).
#[wasm_bindgen]
pub fn worker_receive(message: JsValue) -> Result<(), JsError> {
    let request: Request = serde_wasm_bindgen::from_value(message)
        .map_err(|e| JsError::new(&format!("the worker got an unreadable request: {e}")))?;
    let start = SIDE.with(|side| {
        let mut side = side.borrow_mut();
        side.queue.push_back(request);
        !std::mem::replace(&mut side.busy, true)
    });
    if start {
        wasm_bindgen_futures::spawn_local(drain());
    }
    Ok(())
}

/// Starts queued requests one at a time, in order, until none is left. Each answer is sent when
/// its future completes; only starting WebGPU is awaited before the next request starts, so
/// several steps can be under way on the GPU at once.
async fn drain() {
    loop {
        let next = SIDE.with(|side| {
            let mut side = side.borrow_mut();
            let next = side.queue.pop_front();
            side.busy = next.is_some();
            next
        });
        let Some(Request { id, command }) = next else {
            return;
        };
        let barrier = matches!(command, Command::StartWebGpu);
        let reply = SIDE.with(|side| side.borrow_mut().start(command));
        if barrier {
            answer(id, reply.await);
        } else {
            wasm_bindgen_futures::spawn_local(async move { answer(id, reply.await) });
        }
    }
}

fn answer(id: u32, reply: Reply) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let sent = to_js(&Response { id, reply })
        .map_err(|e| e.to_string())
        .and_then(|message| scope.post_message(&message).map_err(|e| js_message(&e)));
    if let Err(e) = sent {
        log::error!("the worker could not answer request {id}: {e}");
    }
}
