//! A worker's end of its group of replicas: one `MessagePort` to each other worker (the page
//! made the channels, `ToWorker::Join` brought them). Each optimizer step, this worker's part
//! goes to every other worker as a transferred `Float32Array` (one copy out of wasm memory,
//! none in flight); their parts arrive on the ports and wait in an inbox until the step that
//! needs them has all of them. A receiver sends each part's array back once it has read it,
//! and the sender fills it again next step: no step allocates a new 1.6 MB array. Nothing here
//! passes through the page's thread.

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

/// Arrays the other workers sent back after reading this worker's parts, to be filled again.
struct SpareArrays {
    arrays: Vec<Float32Array>,
    most: usize,
    made: usize,
}

impl SpareArrays {
    /// An array holding `values`: a spare one of that length if there is one, else a new one.
    fn filled_with(&mut self, values: &[f32]) -> Float32Array {
        match self
            .arrays
            .iter()
            .position(|array| array.length() as usize == values.len())
        {
            Some(i) => {
                let array = self.arrays.swap_remove(i);
                array.copy_from(values);
                array
            }
            None => {
                self.made += 1;
                Float32Array::from(values)
            }
        }
    }

    fn keep(&mut self, array: Float32Array) {
        if self.arrays.len() < self.most {
            self.arrays.push(array);
        }
    }
}

/// This worker's place and its ports to the others.
pub struct PortExchange {
    place: ShardPlace,
    ports: Vec<MessagePort>,
    inbox: Rc<RefCell<Inbox>>,
    spares: Rc<RefCell<SpareArrays>>,
    _listeners: Vec<Listener>,
}

impl PortExchange {
    /// Listens on `ports` (one per other worker) as replica `place`.
    pub fn new(place: ShardPlace, ports: Vec<MessagePort>) -> Self {
        let inbox = Rc::new(RefCell::new(Inbox::default()));
        // One array per port is under way at a time (each step waits for every part).
        let spares = Rc::new(RefCell::new(SpareArrays {
            arrays: Vec::new(),
            most: ports.len(),
            made: 0,
        }));
        let listeners = ports
            .iter()
            .map(|port| {
                let inbox = inbox.clone();
                let spares = spares.clone();
                let sender = port.clone();
                let listener = Listener::new(port, "message", move |event| {
                    let Some(data) = event.dyn_ref::<MessageEvent>().map(MessageEvent::data) else {
                        return;
                    };
                    if let Some(spare) = spare_of(&data) {
                        spares.borrow_mut().keep(spare);
                        return;
                    }
                    match decode(&data) {
                        Ok((part, index, array)) if index < place.count => {
                            inbox.borrow_mut().put(part, index, place.count);
                            send_back(&sender, array);
                        }
                        Ok(_) => log::warn!("a part from an unknown replica"),
                        Err(e) => log::warn!("an unreadable part from a replica: {e}"),
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
            spares,
            _listeners: listeners,
        }
    }

    /// How many arrays this worker has made for its parts (the others were sent back).
    pub fn arrays_made(&self) -> usize {
        self.spares.borrow().made
    }
}

impl Exchange for PortExchange {
    fn place(&self) -> ShardPlace {
        self.place
    }

    fn exchange(&self, mine: ShardGradients) -> Pending<Result<Vec<ShardGradients>, TrainerError>> {
        let step = mine.step;
        for port in &self.ports {
            let grads = self.spares.borrow_mut().filled_with(&mine.grads);
            let sent = encode(&mine, self.place.index, &grads).and_then(|(message, transfer)| {
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

/// `{ step, shard, values: Float32Array(4), grads }` (`grads` holds `part.grads`), and the
/// buffer to transfer.
fn encode(
    part: &ShardGradients,
    index: usize,
    grads: &Float32Array,
) -> Result<(JsValue, Array), JsValue> {
    let message = Object::new();
    let values = &part.values;
    let values = [values.d_loss, values.g_loss, values.d_real, values.d_fake];
    Reflect::set(&message, &"step".into(), &(part.step as f64).into())?;
    Reflect::set(&message, &"shard".into(), &(index as f64).into())?;
    Reflect::set(&message, &"values".into(), &Float32Array::from(&values[..]))?;
    Reflect::set(&message, &"grads".into(), grads)?;
    Ok((message.into(), Array::of1(&grads.buffer())))
}

/// `{ spare: Float32Array }`: a part's array, read, returned to its sender.
fn send_back(port: &MessagePort, array: Float32Array) {
    let message = Object::new();
    let sent = Reflect::set(&message, &"spare".into(), &array)
        .and_then(|_| port.post_message_with_transferable(&message, &Array::of1(&array.buffer())));
    // Only a lost array: the sender makes a new one.
    if let Err(e) = sent {
        log::warn!("a part's array was not returned: {}", js_message(&e));
    }
}

fn spare_of(data: &JsValue) -> Option<Float32Array> {
    Reflect::get(data, &"spare".into()).ok()?.dyn_into().ok()
}

/// The part, the sender's place, and its `grads` array (to send back).
fn decode(data: &JsValue) -> Result<(ShardGradients, usize, Float32Array), String> {
    let field = |name: &str| Reflect::get(data, &name.into()).map_err(|e| js_message(&e));
    let number = |name: &str| {
        field(name)?
            .as_f64()
            .ok_or_else(|| format!("no {name} in the part"))
    };
    let array = |name: &str| {
        field(name)?
            .dyn_into::<Float32Array>()
            .map_err(|_| format!("no {name} in the part"))
    };
    let values = array("values")?.to_vec();
    let grads = array("grads")?;
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
        grads: grads.to_vec(),
    };
    Ok((part, number("shard")? as usize, grads))
}
