//! How views, listeners and effects send events to the page's loop, without depending on it:
//! the runtime hands out a [`Dispatch`] that holds only a weak link to itself.

use std::rc::Rc;

use crate::app::Event;

/// Sends events to the page's loop (it does not keep the loop alive).
#[derive(Clone)]
pub struct Dispatch(Rc<dyn Fn(Event)>);

impl Dispatch {
    /// A dispatch that hands each event to `handle`.
    pub fn new(handle: impl Fn(Event) + 'static) -> Self {
        Self(Rc::new(handle))
    }

    /// Handles `event` now (or right after the update under way).
    pub fn send(&self, event: Event) {
        (self.0)(event);
    }

    /// Handles `event` in a later task: for results that are known at once.
    pub fn send_later(&self, event: Event) {
        let dispatch = self.clone();
        wasm_bindgen_futures::spawn_local(async move { dispatch.send(event) });
    }
}
