//! The owner of the animation-frame callback: one closure for the app's life, one frame
//! scheduled at a time, cancelled on drop.

use std::cell::Cell;
use std::rc::{Rc, Weak};

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::dom::window;

/// A requestAnimationFrame loop around a tick function that says whether to go on.
pub struct FrameLoop {
    closure: Closure<dyn FnMut(f64)>,
    handle: Cell<Option<i32>>,
}

impl FrameLoop {
    /// A loop calling `tick(timestamp)` each frame while it returns `true`. Nothing runs
    /// until [`FrameLoop::schedule`].
    pub fn new(mut tick: impl FnMut(f64) -> bool + 'static) -> Rc<Self> {
        Rc::new_cyclic(|me: &Weak<FrameLoop>| {
            let me = me.clone();
            let closure = Closure::<dyn FnMut(f64)>::new(move |timestamp: f64| {
                let Some(this) = me.upgrade() else { return };
                this.handle.set(None);
                if tick(timestamp) {
                    this.schedule();
                }
            });
            FrameLoop {
                closure,
                handle: Cell::new(None),
            }
        })
    }

    /// Requests the next frame unless one is already requested.
    pub fn schedule(&self) {
        if self.handle.get().is_some() {
            return;
        }
        match window().request_animation_frame(self.closure.as_ref().unchecked_ref()) {
            Ok(id) => self.handle.set(Some(id)),
            Err(e) => log::error!("requestAnimationFrame failed: {e:?}"),
        }
    }

    /// Cancels the requested frame, if any.
    pub fn cancel(&self) {
        if let Some(id) = self.handle.take() {
            let _ = window().cancel_animation_frame(id);
        }
    }

    /// Whether a frame is requested.
    pub fn is_scheduled(&self) -> bool {
        self.handle.get().is_some()
    }
}

impl Drop for FrameLoop {
    fn drop(&mut self) {
        self.cancel();
    }
}
