//! WebGPU: is it there, which adapter, and Burn's device on it (initialised asynchronously,
//! before any tensor exists).

use burn::tensor::Device;
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::dom::{js_message, window};

/// Why WebGPU cannot be used, with what the user can do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpuError {
    /// The browser has no `navigator.gpu`.
    #[error(
        "This browser does not offer WebGPU. Use a recent Chrome, Edge or Firefox; in Chromium on \
         Linux start it with --enable-unsafe-webgpu, or enable it at chrome://flags/#enable-unsafe-webgpu."
    )]
    NotSupported,
    /// `requestAdapter()` gave no adapter.
    #[error(
        "WebGPU is present but no GPU adapter is available (it may be disabled or blocklisted). \
         Check chrome://gpu, update the graphics driver, or enable chrome://flags/#enable-unsafe-webgpu."
    )]
    NoAdapter,
    /// Burn could not create its device.
    #[error("The GPU device could not be created: {0}")]
    Device(String),
}

/// What the browser says about the adapter.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AdapterInfo {
    /// e.g. "nvidia", "google".
    pub vendor: String,
    /// e.g. "ampere", "swiftshader".
    pub architecture: String,
    /// A free-form description, often empty.
    pub description: String,
    /// Whether the browser marks it as a fallback (software) adapter.
    pub is_fallback: bool,
}

impl AdapterInfo {
    /// A one-line description for the page.
    pub fn summary(&self) -> String {
        let mut parts: Vec<&str> = [&self.vendor, &self.architecture, &self.description]
            .into_iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            parts.push("unnamed adapter");
        }
        let kind = if self.is_software() {
            " (software)"
        } else {
            ""
        };
        format!("{}{kind}", parts.join(" · "))
    }

    /// A fallback adapter, or one that runs on the CPU (SwiftShader, llvmpipe).
    pub fn is_software(&self) -> bool {
        let arch = self.architecture.to_lowercase();
        let text = format!("{arch} {}", self.description.to_lowercase());
        self.is_fallback || text.contains("swiftshader") || text.contains("llvmpipe")
    }
}

fn string_field(object: &JsValue, key: &str) -> String {
    Reflect::get(object, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

fn bool_field(object: &JsValue, key: &str) -> bool {
    Reflect::get(object, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Asks the browser for an adapter and describes it.
pub async fn probe() -> Result<AdapterInfo, GpuError> {
    let navigator = window().navigator();
    let gpu = Reflect::get(&navigator, &JsValue::from_str("gpu")).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err(GpuError::NotSupported);
    }
    let request = Reflect::get(&gpu, &JsValue::from_str("requestAdapter"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or(GpuError::NotSupported)?;
    let promise: Promise = request
        .call0(&gpu)
        .map_err(|e| GpuError::Device(js_message(&e)))?
        .dyn_into()
        .map_err(|_| GpuError::NotSupported)?;
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|e| GpuError::Device(js_message(&e)))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err(GpuError::NoAdapter);
    }
    // Chrome moved `isFallbackAdapter` from the adapter to its `info`; read both.
    let info = Reflect::get(&adapter, &JsValue::from_str("info"))
        .ok()
        .filter(|i| i.is_object())
        .unwrap_or_else(|| Object::new().into());
    Ok(AdapterInfo {
        vendor: string_field(&info, "vendor"),
        architecture: string_field(&info, "architecture"),
        description: string_field(&info, "description"),
        is_fallback: bool_field(&info, "isFallbackAdapter")
            || bool_field(&adapter, "isFallbackAdapter"),
    })
}

thread_local! {
    // Burn registers its WebGPU runtime once per page; later callers share that device.
    static DEVICE: std::cell::RefCell<Option<Device>> = const { std::cell::RefCell::new(None) };
}

/// Burn's WebGPU device, initialised on first use and shared afterwards.
pub async fn device() -> Result<Device, GpuError> {
    if let Some(device) = DEVICE.with(|d| d.borrow().clone()) {
        return Ok(device);
    }
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| GpuError::Device(e.to_string()))?;
    DEVICE.with(|d| *d.borrow_mut() = Some(device.clone()));
    Ok(device)
}
