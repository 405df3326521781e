//! The browser layer: everything `#[wasm_bindgen]` lives here, over the pure core.
//!
//! One `start` function installs the panic hook and the logger, then boots the page's
//! [`app::App`] (the CPU worker loads the same module; [`worker`] is its entry). Errors are typed inside and become `JsError` only where JavaScript sees them.

pub mod app;
pub mod dataset;
pub mod dom;
pub mod engine;
pub mod frame;
pub mod gpu;
pub mod render;
pub mod store;
pub mod worker;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

thread_local! {
    // The page's one app; dropping it would cancel its frame and remove its listeners.
    static APP: RefCell<Option<app::App>> = const { RefCell::new(None) };
}

/// Installs the panic hook and the logger, then starts the app if the page has one.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    // A second logger (tests start the module more than once) is harmless: keep the first.
    let _ = console_log::init_with_level(log::Level::Info);
    let page = web_sys::window().and_then(|w| w.document());
    if page.and_then(|d| d.get_element_by_id("app")).is_none() {
        return; // loaded by the CPU worker or the browser tests, not by the page
    }
    wasm_bindgen_futures::spawn_local(async {
        match app::App::boot().await {
            Ok(app) => APP.with(|slot| *slot.borrow_mut() = Some(app)),
            Err(e) => {
                log::error!("the app could not start: {e}");
                dom::show_fatal(&e.to_string());
            }
        }
    });
}

/// Destroys the trainer's WebGPU device, as a driver reset would. The end-to-end test calls it
/// (`window.wasmBindings.lose_gpu_device()`) to check that the page recovers from the last save.
#[wasm_bindgen]
pub fn lose_gpu_device() {
    APP.with(|slot| {
        if let Some(app) = slot.borrow().as_ref() {
            app.lose_gpu_device();
        }
    });
}
