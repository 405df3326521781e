//! WebGPU: is it there, which adapter, and Burn's device on it (initialised asynchronously,
//! before any tensor exists).

use burn::tensor::Device;
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::dom::js_message;
use crate::matmul::Products;
pub use crate::path::AdapterInfo;
use crate::path::GpuProbe;

/// Why Burn's WebGPU device could not be created.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("The GPU device could not be created: {0}")]
pub struct GpuError(pub String);

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

/// Asks the browser for an adapter and describes it (works on the page and in a worker).
pub async fn probe() -> GpuProbe {
    let navigator = Reflect::get(&js_sys::global(), &JsValue::from_str("navigator"))
        .unwrap_or(JsValue::UNDEFINED);
    let gpu = Reflect::get(&navigator, &JsValue::from_str("gpu")).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return GpuProbe::Missing;
    }
    let Some(request) = Reflect::get(&gpu, &JsValue::from_str("requestAdapter"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    else {
        return GpuProbe::Missing;
    };
    let promise = match request.call0(&gpu).map(JsCast::dyn_into::<Promise>) {
        Ok(Ok(promise)) => promise,
        Ok(Err(_)) => return GpuProbe::Failed("requestAdapter gave no promise".into()),
        Err(e) => return GpuProbe::Failed(js_message(&e)),
    };
    let adapter = match JsFuture::from(promise).await {
        Ok(adapter) => adapter,
        Err(e) => return GpuProbe::Failed(js_message(&e)),
    };
    if adapter.is_null() || adapter.is_undefined() {
        return GpuProbe::NoAdapter;
    }
    // Chrome moved `isFallbackAdapter` from the adapter to its `info`; read both.
    let info = Reflect::get(&adapter, &JsValue::from_str("info"))
        .ok()
        .filter(|i| i.is_object())
        .unwrap_or_else(|| Object::new().into());
    GpuProbe::Adapter(AdapterInfo {
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

/// The device, if [`device`] has created it on this thread.
pub fn created_device() -> Option<Device> {
    DEVICE.with(|d| d.borrow().clone())
}

/// Kernels CubeCL records before it submits them: one submit per training step (~480 kernels)
/// instead of CubeCL's 32 per submit. Each `submit` costs the worker ~0.5 ms whatever it holds
/// (SwiftShader); the step's own read-back submits it anyway, and the page keeps steps in flight,
/// so the GPU still works while the next step is recorded (docs/benchmarks/history.md,
/// "One submit per step in the worker").
const KERNELS_PER_SUBMIT: usize = 512;

/// Burn's WebGPU device, initialised on first use and shared afterwards.
pub async fn device() -> Result<Device, GpuError> {
    if let Some(device) = DEVICE.with(|d| d.borrow().clone()) {
        return Ok(device);
    }
    // CubeCL's kernels need the types its constructors register, whoever calls first.
    super::run_constructors_once();
    let device = Device::wgpu_options()
        .tasks_max(KERNELS_PER_SUBMIT)
        .init_async()
        .await
        .map_err(|e| GpuError(e.to_string()))?;
    use_products(&device, None).await;
    DEVICE.with(|d| *d.borrow_mut() = Some(device.clone()));
    Ok(device)
}

/// Sends `device`'s matrix products through `products`, or through its adapter's own kernel
/// when `None` (`AdapterInfo::products`: SwiftShader runs CubeCL's ~9× slower than the
/// register-tiled one, `crate::matmul`; other adapters keep CubeCL's until a calibration says
/// otherwise).
pub async fn use_products(device: &Device, products: Option<Products>) {
    let products = match products {
        Some(products) => products,
        None => match probe().await {
            GpuProbe::Adapter(info) => info.products(),
            _ => Products::Burns,
        },
    };
    crate::matmul::use_products(device, products);
}
