//! Small typed helpers over `web-sys`: element lookup, text, owned event listeners.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, EventTarget, HtmlElement, Window};

/// The page lacks an element the app needs (a mismatch between `index.html` and the code).
#[derive(Debug, thiserror::Error)]
#[error("the page has no element #{0} of the expected kind")]
pub struct MissingElement(pub String);

/// The browser window (always present in a page or a test runner; only page code calls this,
/// never the worker).
#[allow(clippy::expect_used)]
pub fn window() -> Window {
    web_sys::window().expect("a browser window")
}

/// The page's document (present wherever a window is).
#[allow(clippy::expect_used)]
pub fn document() -> Document {
    window().document().expect("a document")
}

/// The element `#id` as type `T`.
pub fn by_id<T: JsCast>(id: &str) -> Result<T, MissingElement> {
    document()
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<T>().ok())
        .ok_or_else(|| MissingElement(id.to_string()))
}

/// Sets an element's text.
/// Sets an element's text, unless it already shows it (views render after every event).
pub fn set_text(element: &Element, text: &str) {
    if element.text_content().as_deref() != Some(text) {
        element.set_text_content(Some(text));
    }
}

/// Sets or removes an attribute, unless it already has that value.
pub fn set_attribute(element: &Element, name: &str, value: Option<&str>) {
    if element.get_attribute(name).as_deref() == value {
        return;
    }
    let _ = match value {
        Some(value) => element.set_attribute(name, value),
        None => element.remove_attribute(name),
    };
}

/// Sets or clears a boolean attribute (`disabled`, `hidden`), unless it already is so: views
/// render after every event, and a write, even of the same state, can cost a style pass.
pub fn set_flag(element: &Element, name: &str, on: bool) {
    if element.has_attribute(name) != on {
        let _ = if on {
            element.set_attribute(name, "")
        } else {
            element.remove_attribute(name)
        };
    }
}

/// Adds or removes a class.
pub fn set_class(element: &Element, class: &str, on: bool) {
    let list = element.class_list();
    let _ = if on {
        list.add_1(class)
    } else {
        list.remove_1(class)
    };
}

/// Shows a message that the app cannot start, in place of the app.
/// Safe in a panic hook and in a worker (where there is no document, it does nothing).
pub fn show_fatal(message: &str) {
    let banner = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("fatal"))
        .and_then(|e| e.dyn_into::<HtmlElement>().ok());
    if let Some(banner) = banner {
        banner.set_text_content(Some(message));
        banner.set_hidden(false);
    }
}

/// A JavaScript exception's message, for errors that come back from browser APIs.
pub fn js_message(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

/// An event listener that is removed when dropped: the closure's owner.
pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    closure: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    /// Listens for `kind` events on `target`.
    pub fn new(
        target: &EventTarget,
        kind: &'static str,
        handler: impl FnMut(web_sys::Event) + 'static,
    ) -> Self {
        let closure = Closure::<dyn FnMut(web_sys::Event)>::new(handler);
        // Only throws for a non-callable callback, which a Closure never is.
        if let Err(e) =
            target.add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref())
        {
            log::warn!("could not listen for {kind}: {}", js_message(&e));
        }
        Self {
            target: target.clone(),
            kind,
            closure,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.kind, self.closure.as_ref().unchecked_ref());
    }
}

/// Milliseconds since the page's time origin.
pub fn now_ms() -> f64 {
    window()
        .performance()
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

/// Encodes a message for `postMessage`.
pub fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, crate::protocol::TrainerError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::new())
        .map_err(|e| {
            crate::protocol::TrainerError::Worker(format!("could not encode a message: {e}"))
        })
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
