//! The browser layer: everything `#[wasm_bindgen]` lives here, over the pure core.
//!
//! [`start`] installs the panic hook and the logger, then boots the page's
//! [`runtime::Runtime`] (the model in [`crate::app`], the views in [`view`], the effects in
//! [`effects`]). The trainer's worker loads the same module: [`host`] is its end, [`client`]
//! the page's. Errors are typed inside and become `JsError` only where JavaScript sees them.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod calibrations;
pub mod client;
pub mod dataset;
pub mod datasets;
pub mod decode;
pub mod dispatch;
pub mod dom;
pub mod downloads;
pub mod effects;
pub mod frame;
pub mod gpu;
pub mod group;
pub mod host;
pub mod library;
pub mod locks;
pub mod picked;
pub mod quality_chart;
pub mod render;
pub mod replicas;
pub mod runtime;
pub mod store;
pub mod unread;
pub mod view;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use wasm_bindgen::prelude::*;

thread_local! {
    // The page's one runtime; dropping it would cancel its frame and remove its listeners.
    static APP: RefCell<Option<Rc<runtime::Runtime>>> = const { RefCell::new(None) };
}

unsafe extern "C" {
    /// wasm-ld's runner of static constructors (CubeCL registers its IR types with
    /// `inventory`, which uses them).
    fn __wasm_call_ctors();
}

/// Runs the static constructors, once per module instance. Calling `__wasm_call_ctors`
/// explicitly is what stops wasm-ld from wrapping *every* export (each closure call, each
/// `__wbindgen_malloc`) in a call that runs all the constructors again: measured on the page,
/// that wrapper took most of the main thread while training.
///
/// So nothing runs them for an entry that [`start`] did not precede: `wasm-bindgen-test` never
/// calls `start`, in its page or in the worker it starts. [`start`], [`host::worker_receive`]
/// and [`gpu::device`] (the first use of CubeCL, which needs what they register) call this.
pub(crate) fn run_constructors_once() {
    static DONE: AtomicBool = AtomicBool::new(false);
    if !DONE.swap(true, Ordering::SeqCst) {
        // SAFETY: the linker-made constructor runner takes no arguments and is run once, before
        // any other Rust code of this instance uses what the constructors register.
        unsafe { __wasm_call_ctors() }
    }
}

/// Installs the panic hook and the logger, then starts the app if the page has one.
#[wasm_bindgen(start)]
pub fn start() {
    run_constructors_once();
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        // On the page (not in the worker, whose crash the page reports itself).
        dom::show_fatal(&format!(
            "The app crashed ({info}). Reload the page; the last autosave is kept."
        ));
    }));
    // A second logger (tests start the module more than once) is harmless: keep the first.
    // Warnings and errors: release builds compile nothing below (`log`'s `release_max_level_warn`).
    let _ = console_log::init_with_level(log::Level::Warn);
    let page = web_sys::window().and_then(|w| w.document());
    if page.and_then(|d| d.get_element_by_id("app")).is_none() {
        return; // loaded by the trainer's worker or the browser tests, not by the page
    }
    match runtime::Runtime::boot() {
        Ok(app) => APP.with(|slot| *slot.borrow_mut() = Some(app)),
        Err(e) => {
            log::error!("the app could not start: {e}");
            dom::show_fatal(&e.to_string());
        }
    }
}

/// Destroys the trainer's WebGPU device, as a driver reset would. The end-to-end test calls it
/// (`window.wasmBindings.lose_gpu_device()`) to check that the page recovers from the last save.
#[cfg(feature = "test-hooks")]
#[wasm_bindgen]
pub fn lose_gpu_device() {
    APP.with(|slot| {
        let worker = slot
            .borrow()
            .as_ref()
            .and_then(|app| app.effects().worker());
        if let Some(worker) = worker {
            worker.lose_gpu_device();
        }
    });
}
