//! Small typed helpers over `web-sys`: element lookup, text, owned event listeners.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, EventTarget, HtmlElement, Window};

/// The page lacks an element the app needs (a mismatch between `index.html` and the code).
#[derive(Debug, thiserror::Error)]
#[error("the page has no element #{0} of the expected kind")]
pub struct MissingElement(pub String);

/// The browser window (always present in a page or a test runner).
pub fn window() -> Window {
    web_sys::window().expect("a browser window")
}

/// The page's document.
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
pub fn set_text(element: &Element, text: &str) {
    element.set_text_content(Some(text));
}

/// Shows or hides an element through the `hidden` attribute.
pub fn set_hidden(element: &HtmlElement, hidden: bool) {
    element.set_hidden(hidden);
}

/// Shows a message that the app cannot start, in place of the app.
pub fn show_fatal(message: &str) {
    if let Ok(banner) = by_id::<HtmlElement>("fatal") {
        set_text(&banner, message);
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
            log::error!("could not listen for {kind}: {}", js_message(&e));
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
