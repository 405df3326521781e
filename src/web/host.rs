//! The worker's end: `www/worker.js` hands each message from the page to [`worker_receive`];
//! requests are started strictly in order by the core's [`Host`], and each answer is posted
//! when its future completes. It knows the protocol, not the page's client.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use burn::tensor::Device;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::DedicatedWorkerGlobalScope;

use super::dom::{js_message, to_js, wasm_memory_bytes};
use super::replicas::PortExchange;
use super::unread::Unread;
use crate::import::Decoders;
use crate::matmul::Products;
use crate::path::ComputePath;
use crate::protocol::{Command, FromWorker, Reply, Request, ToWorker, TrainerError};
use crate::session::{Exchange, Host, Pending, Platform};

/// The worker's thread: Burn's CPU backend, or the WebGPU device it created.
struct WorkerPlatform;

impl Platform for WorkerPlatform {
    fn device(&self, path: ComputePath) -> Result<Device, TrainerError> {
        match path {
            ComputePath::Cpu => Ok(Device::flex()),
            ComputePath::WebGpu => super::gpu::created_device().ok_or_else(|| {
                TrainerError::Refused("the worker's WebGPU device was not started".into())
            }),
        }
    }

    fn start_webgpu(&self, products: Option<Products>) -> Pending<Result<(), TrainerError>> {
        Box::pin(async move {
            let device = super::gpu::device()
                .await
                .map_err(|e| TrainerError::Refused(e.to_string()))?;
            super::gpu::use_products(&device, products).await;
            Ok(())
        })
    }

    fn memory_bytes(&self) -> f64 {
        wasm_memory_bytes()
    }

    fn group(&self) -> Option<Rc<dyn Exchange>> {
        GROUP
            .with(|group| group.borrow().clone())
            .map(|group| group as Rc<dyn Exchange>)
    }

    fn clock(&self) -> fn() -> f64 {
        fn performance_now() -> f64 {
            let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
            scope
                .performance()
                .map_or_else(js_sys::Date::now, |performance| performance.now())
        }
        performance_now
    }

    fn decoders(&self) -> Rc<dyn Decoders> {
        Rc::new(super::decode::BrowserDecoders)
    }
}

/// The host and the requests not yet started (with the files a `StageFiles` request hands over
/// unread, read here before the host sees it).
#[derive(Default)]
struct WorkerSide {
    host: Host,
    queue: VecDeque<(Request, Option<Unread>)>,
    busy: bool,
}

thread_local! {
    static SIDE: RefCell<WorkerSide> = RefCell::new(WorkerSide::default());
    // Apart from `SIDE`: the host asks for it while `SIDE` is borrowed.
    static GROUP: RefCell<Option<Rc<PortExchange>>> = const { RefCell::new(None) };
}

/// Called by `www/worker.js` with each message from the page and the ports it carries (the
/// worker's only entry).
#[wasm_bindgen]
pub fn worker_receive(message: JsValue, ports: js_sys::Array) -> Result<(), JsError> {
    super::run_constructors_once();
    let unread = unread_of(&message).map_err(|e| JsError::new(&e))?;
    let message: ToWorker = serde_wasm_bindgen::from_value(message)
        .map_err(|e| JsError::new(&format!("the worker got an unreadable message: {e}")))?;
    let request = match message {
        ToWorker::Request(request) => request,
        ToWorker::Join(place) => {
            let ports = ports
                .iter()
                .filter_map(|port| port.dyn_into::<web_sys::MessagePort>().ok())
                .collect::<Vec<_>>();
            if ports.len() + 1 != place.count {
                return Err(JsError::new(&format!(
                    "a group of {} workers needs {} ports, not {}",
                    place.count,
                    place.count - 1,
                    ports.len()
                )));
            }
            let group = Rc::new(PortExchange::new(place, ports));
            GROUP.with(|slot| *slot.borrow_mut() = Some(group));
            return Ok(());
        }
        ToWorker::LoseDevice => return Ok(()), // handled by worker.js
    };
    let start = SIDE.with(|side| {
        let mut side = side.borrow_mut();
        side.queue.push_back((request, unread));
        !std::mem::replace(&mut side.busy, true)
    });
    if start {
        wasm_bindgen_futures::spawn_local(drain());
    }
    Ok(())
}

/// Starts queued requests one at a time, in order, until none is left. Each answer is sent when
/// its future completes; only a barrier (starting WebGPU, a score, anything while the session
/// is a replica) is awaited before the next request starts, so several steps can be under way
/// on the GPU at once.
async fn drain() {
    loop {
        let next = SIDE.with(|side| {
            let mut side = side.borrow_mut();
            let next = side.queue.pop_front();
            side.busy = next.is_some();
            next
        });
        let Some((Request { id, mut command }, unread)) = next else {
            return;
        };
        if let Some(unread) = unread {
            let progress = |done, total| post(&FromWorker::Progress { id, done, total });
            match unread.read(progress).await {
                Ok(files) => command = Command::StageFiles { files },
                Err(e) => {
                    answer(id, Reply::Failed(TrainerError::Refused(e)));
                    continue;
                }
            }
        }
        let (barrier, reply) = SIDE.with(|side| {
            let host = &mut side.borrow_mut().host;
            #[cfg(feature = "test-hooks")]
            bench_replay_switch(host);
            (
                host.is_barrier(&command),
                host.start(command, &WorkerPlatform),
            )
        });
        if barrier {
            answer(id, reply.await);
        } else {
            wasm_bindgen_futures::spawn_local(async move { answer(id, reply.await) });
        }
    }
}

/// The benchmarks' switch (test hooks only): `self.__benchReplay = false` set in the worker
/// (`bench/profile.mjs`, over the DevTools protocol) turns replayed WebGPU steps off from the
/// next command, `true` back on, so one build measures both.
#[cfg(feature = "test-hooks")]
fn bench_replay_switch(host: &Host) {
    let flag = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("__benchReplay"));
    if let Some(enabled) = flag.ok().and_then(|v| v.as_bool()) {
        host.set_replay(enabled);
    }
}

fn answer(id: u32, reply: Reply) {
    post(&FromWorker::Answer { id, reply });
}

fn post(message: &FromWorker) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let sent = to_js(message)
        .map_err(|e| e.to_string())
        .and_then(|message| {
            let moved = js_sys::Array::new();
            large_buffers(&message, &moved, 4);
            scope
                .post_message_with_transfer(&message, &moved)
                .map_err(|e| js_message(&e))
        });
    if let Err(e) = sent {
        log::warn!("the worker could not post to the page: {e}");
    }
}

/// Byte arrays at least this large are moved to the page, not copied.
const MOVED_BYTES: u32 = 1 << 20;

/// The buffers of the large byte arrays in `value` (made for this message alone, so nothing
/// here uses them after), `depth` levels down: moved, the page's thread does not copy them as
/// it receives the message (an import's 47 MB of pixels took it ~80 ms).
fn large_buffers(value: &JsValue, moved: &js_sys::Array, depth: u32) {
    if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
        if bytes.byte_length() >= MOVED_BYTES && bytes.byte_length() == bytes.buffer().byte_length()
        {
            moved.push(&bytes.buffer());
        }
    } else if depth > 0 && value.is_object() {
        for field in js_sys::Object::values(value.unchecked_ref()).iter() {
            large_buffers(&field, moved, depth - 1);
        }
    }
}

/// The files a `StageFiles` request hands over unread, if it does
/// (`{ Request: { command: { StageFiles: { unread } } } }`).
fn unread_of(message: &JsValue) -> Result<Option<Unread>, String> {
    let mut value = message.clone();
    for key in ["Request", "command", "StageFiles", "unread"] {
        value = js_sys::Reflect::get(&value, &key.into()).unwrap_or(JsValue::UNDEFINED);
        if !value.is_object() {
            return Ok(None);
        }
    }
    Unread::from_js(&value).map(Some)
}
