//! A worker's end of its group of replicas: one `MessagePort` to each other worker (the page
//! made the channels, `ToWorker::Join` brought them). Each optimizer step, this worker's part
//! goes to every other worker as a transferred `Float32Array` (one copy out of wasm memory,
//! none in flight); their parts arrive on the ports and wait in an inbox until the step that
//! needs them has all of them. Nothing here passes through the page's thread.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Array, Float32Array, Function, Object, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, MessagePort};

use super::dom::{Listener, js_message};
use crate::protocol::TrainerError;
use crate::session::{Exchange, Pending};
use crate::shard::{ShardGradients, ShardPlace};
use crate::train::StepValues;

/// Parts received, by optimizer step, one slot per replica; and the step being awaited with
/// the function that wakes its future.
#[derive(Default)]
struct Inbox {
    parts: BTreeMap<u64, Vec<Option<ShardGradients>>>,
    waiting: Option<(u64, Function)>,
}

impl Inbox {
    fn put(&mut self, part: ShardGradients, index: usize, count: usize) {
        let slots = self
            .parts
            .entry(part.step)
            .or_insert_with(|| vec![None; count]);
        slots[index] = Some(part);
        self.wake_if_complete();
    }

    fn complete(&self, step: u64) -> bool {
        self.parts
            .get(&step)
            .is_some_and(|parts| parts.iter().all(Option::is_some))
    }

    fn wake_if_complete(&mut self) {
        if let Some((step, _)) = &self.waiting
            && self.complete(*step)
            && let Some((_, wake)) = self.waiting.take()
        {
            let _ = wake.call0(&JsValue::NULL);
        }
    }

    fn take(&mut self, step: u64) -> Option<Vec<ShardGradients>> {
        self.parts.remove(&step)?.into_iter().collect()
    }
}

/// This worker's place and its ports to the others.
pub struct PortExchange {
    place: ShardPlace,
    ports: Vec<MessagePort>,
    inbox: Rc<RefCell<Inbox>>,
    _listeners: Vec<Listener>,
}

impl PortExchange {
    /// Listens on `ports` (one per other worker) as replica `place`.
    pub fn new(place: ShardPlace, ports: Vec<MessagePort>) -> Self {
        let inbox = Rc::new(RefCell::new(Inbox::default()));
        let listeners = ports
            .iter()
            .map(|port| {
                let inbox = inbox.clone();
                let listener = Listener::new(port, "message", move |event| {
                    let part = event.dyn_ref::<MessageEvent>().map(|e| decode(&e.data()));
                    match part {
                        Some(Ok((part, index))) if index < place.count => {
                            inbox.borrow_mut().put(part, index, place.count);
                        }
                        Some(Err(e)) => log::warn!("an unreadable part from a replica: {e}"),
                        _ => log::warn!("a part from an unknown replica"),
                    }
                });
                // A port listened to with addEventListener delivers only once started.
                port.start();
                listener
            })
            .collect();
        Self {
            place,
            ports,
            inbox,
            _listeners: listeners,
        }
    }
}

impl Exchange for PortExchange {
    fn place(&self) -> ShardPlace {
        self.place
    }

    fn exchange(&self, mine: ShardGradients) -> Pending<Result<Vec<ShardGradients>, TrainerError>> {
        let step = mine.step;
        for port in &self.ports {
            let sent = encode(&mine, self.place.index).and_then(|(message, transfer)| {
                port.post_message_with_transferable(&message, &transfer)
            });
            if let Err(e) = sent {
                let error =
                    TrainerError::Replicas(format!("a part was not sent: {}", js_message(&e)));
                return Box::pin(std::future::ready(Err(error)));
            }
        }
        let mut wake = None;
        let arrived = Promise::new(&mut |resolve, _| wake = Some(resolve));
        {
            let mut inbox = self.inbox.borrow_mut();
            inbox.waiting = wake.map(|wake| (step, wake));
            inbox.put(mine, self.place.index, self.place.count);
        }
        let inbox = self.inbox.clone();
        Box::pin(async move {
            JsFuture::from(arrived)
                .await
                .map_err(|e| TrainerError::Replicas(js_message(&e)))?;
            inbox
                .borrow_mut()
                .take(step)
                .ok_or_else(|| TrainerError::Replicas(format!("step {step}'s parts went missing")))
        })
    }
}

/// `{ step, shard, values: Float32Array(4), grads: Float32Array }`, and the buffer to transfer.
fn encode(part: &ShardGradients, index: usize) -> Result<(JsValue, Array), JsValue> {
    let message = Object::new();
    let values = &part.values;
    let values = [values.d_loss, values.g_loss, values.d_real, values.d_fake];
    let grads = Float32Array::from(part.grads.as_slice());
    Reflect::set(&message, &"step".into(), &(part.step as f64).into())?;
    Reflect::set(&message, &"shard".into(), &(index as f64).into())?;
    Reflect::set(&message, &"values".into(), &Float32Array::from(&values[..]))?;
    Reflect::set(&message, &"grads".into(), &grads)?;
    Ok((message.into(), Array::of1(&grads.buffer())))
}

fn decode(data: &JsValue) -> Result<(ShardGradients, usize), String> {
    let field = |name: &str| Reflect::get(data, &name.into()).map_err(|e| js_message(&e));
    let number = |name: &str| {
        field(name)?
            .as_f64()
            .ok_or_else(|| format!("no {name} in the part"))
    };
    let floats = |name: &str| {
        field(name)?
            .dyn_into::<Float32Array>()
            .map(|array| array.to_vec())
            .map_err(|_| format!("no {name} in the part"))
    };
    let values = floats("values")?;
    let [d_loss, g_loss, d_real, d_fake] = values[..] else {
        return Err(format!("{} values, not 4", values.len()));
    };
    let part = ShardGradients {
        step: number("step")? as u64,
        values: StepValues {
            d_loss,
            g_loss,
            d_real,
            d_fake,
        },
        grads: floats("grads")?,
    };
    Ok((part, number("shard")? as usize))
}
