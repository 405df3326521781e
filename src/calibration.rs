//! The automatic choice that measures: on a hardware WebGPU adapter, a few timed steps on each
//! path decide where "automatic" trains, and the result is remembered per adapter and settings.
//!
//! A software adapter is never measured (its shaders run on the CPU, seconds per step: see
//! [`crate::path`]); a hardware one may still lose to the CPU path, when recording a step's
//! kernels costs the worker more than the CPU path's whole step.

use serde::{Deserialize, Serialize};

use crate::matmul::Products;
use crate::model::ModelKind;
use crate::path::{AdapterInfo, ComputePath, PathChoice};

/// Steps each path runs before the timed ones: shader compilation, the first allocations, and
/// on WebGPU the capture of the step that the timed ones replay (prepared on the first step,
/// warmed up on the second, recorded on the third: `train::graph`).
pub const WARM_UP_STEPS: usize = 3;
/// Timed steps per path.
pub const TIMED_STEPS: usize = 5;
/// WebGPU keeps its place when it is at most this much slower than the CPU path: it leaves the
/// CPU's cores to the page and the rest of the machine.
pub const TIE_MARGIN: f64 = 0.05;
/// Calibrations remembered (the newest); one per adapter and settings.
pub const MAX_REMEMBERED: usize = 8;

/// What a calibration is valid for: the adapter, the settings that change a step's cost, and
/// the build (a new version may be faster on either path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalibrationKey {
    /// The adapter, as [`AdapterInfo::summary`] names it.
    pub adapter: String,
    /// The model trained (a convolutional step costs each path differently); a key stored
    /// before models existed is the tutorial's.
    #[serde(default)]
    pub model: ModelKind,
    /// Images per step.
    pub batch_size: usize,
    /// CPU workers the CPU path trains on.
    pub cpu_workers: usize,
    /// The app's version.
    pub build: String,
}

impl CalibrationKey {
    /// The key for `adapter` with these settings, in this build.
    pub fn new(
        adapter: &AdapterInfo,
        model: ModelKind,
        batch_size: usize,
        cpu_workers: usize,
    ) -> Self {
        Self {
            adapter: adapter.summary(),
            model,
            batch_size,
            cpu_workers,
            build: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// WebGPU's mean step time (ms) with one kernel for its matrix products, or why it could not be
/// measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductTiming {
    /// The kernel.
    pub products: Products,
    /// Its ms per step.
    pub ms: Result<f64, String>,
}

/// Both paths' mean step time (ms), or why a path could not be measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// What it was measured for.
    pub key: CalibrationKey,
    /// WebGPU's ms per step (with its fastest kernel for the products).
    pub webgpu: Result<f64, String>,
    /// The CPU path's ms per step, on `key.cpu_workers` workers.
    pub cpu: Result<f64, String>,
    /// WebGPU's ms per step with each kernel for its products (none in a calibration stored
    /// before they were timed, which [`CalibrationStore::from_json`] forgets).
    #[serde(default)]
    pub products: Vec<ProductTiming>,
    /// The kernel WebGPU's products go through after this calibration ([`choose_products`]);
    /// `None`: the adapter's own ([`AdapterInfo::products`]).
    #[serde(default)]
    pub chosen: Option<Products>,
}

/// The kernel that computes WebGPU's products fastest of `timings`; `default` (the adapter's
/// own, [`AdapterInfo::products`]) keeps its place within [`TIE_MARGIN`]. `None` when none was
/// measured.
pub fn choose_products(timings: &[ProductTiming], default: Products) -> Option<Products> {
    let usable = |t: &ProductTiming| usable(&t.ms).ok().map(|ms| (t.products, ms));
    let (fastest, best) = timings
        .iter()
        .filter_map(usable)
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let kept = timings
        .iter()
        .filter_map(usable)
        .find(|(products, ms)| *products == default && *ms <= best * (1.0 + TIE_MARGIN));
    Some(kept.map_or(fastest, |(products, _)| products))
}

/// A timing that can be compared: a positive, finite number of milliseconds.
fn usable(timing: &Result<f64, String>) -> Result<f64, String> {
    match timing {
        Ok(ms) if ms.is_finite() && *ms > 0.0 => Ok(*ms),
        Ok(ms) => Err(format!("measured {ms} ms/step")),
        Err(e) => Err(e.clone()),
    }
}

fn workers(count: usize) -> String {
    match count {
        1 => "1 worker".into(),
        n => format!("{n} workers"),
    }
}

impl Calibration {
    /// What `products` (WebGPU's step with each kernel) and `cpu` measured for `key`: WebGPU's
    /// figure is its step with the kernel [`choose_products`] keeps.
    pub fn measured(
        key: CalibrationKey,
        products: Vec<ProductTiming>,
        cpu: Result<f64, String>,
        default: Products,
    ) -> Self {
        let chosen = choose_products(&products, default);
        let webgpu = match chosen {
            Some(chosen) => products
                .iter()
                .find(|t| t.products == chosen)
                .map_or(Err("not measured".to_string()), |t| t.ms.clone()),
            // Why the first kernel failed stands for all of them.
            None => products
                .first()
                .map_or_else(|| Err("not measured".to_string()), |t| usable(&t.ms)),
        };
        Self {
            key,
            webgpu,
            cpu,
            products,
            chosen,
        }
    }

    /// The faster path and why, with both figures. Within [`TIE_MARGIN`] WebGPU keeps its
    /// place; a path that failed to measure loses; when both failed, the CPU path trains.
    pub fn choice(&self) -> PathChoice {
        let cpu_name = format!("CPU ({})", workers(self.key.cpu_workers));
        let choice = |path, reason: String| PathChoice { path, reason };
        match (usable(&self.webgpu), usable(&self.cpu)) {
            (Ok(gpu), Ok(cpu)) => {
                let kernel = self
                    .chosen
                    .map_or(String::new(), |k| format!(" with {}", k.name()));
                let figures =
                    format!("WebGPU {gpu:.1} ms/step{kernel}, {cpu_name} {cpu:.1} ms/step");
                if gpu <= cpu * (1.0 + TIE_MARGIN) {
                    choice(
                        ComputePath::WebGpu,
                        format!("{figures}: training on WebGPU"),
                    )
                } else {
                    choice(ComputePath::Cpu, format!("{figures}: training on the CPU"))
                }
            }
            (Ok(gpu), Err(e)) => choice(
                ComputePath::WebGpu,
                format!(
                    "WebGPU {gpu:.1} ms/step; the {cpu_name} could not be measured ({e}): training on WebGPU"
                ),
            ),
            (Err(e), Ok(cpu)) => choice(
                ComputePath::Cpu,
                format!(
                    "{cpu_name} {cpu:.1} ms/step; WebGPU could not be measured ({e}): training on the CPU"
                ),
            ),
            (Err(gpu), Err(cpu)) => choice(
                ComputePath::Cpu,
                format!("neither path could be measured (WebGPU: {gpu}; CPU: {cpu})"),
            ),
        }
    }
}

/// The calibrations remembered in the browser's local storage, newest last.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CalibrationStore {
    /// At most [`MAX_REMEMBERED`], one per key.
    pub entries: Vec<Calibration>,
}

impl CalibrationStore {
    /// The stored text; anything unreadable (another version's, a user's edit) is an empty
    /// store, which only costs a new measurement. A calibration made before WebGPU's product
    /// kernels were timed is forgotten, so the adapter is measured again with them.
    pub fn from_json(text: &str) -> Self {
        let mut store: Self = serde_json::from_str(text).unwrap_or_default();
        store.entries.retain(|c| !c.products.is_empty());
        store
    }

    /// The text to store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The calibration made for exactly `key`.
    pub fn find(&self, key: &CalibrationKey) -> Option<&Calibration> {
        self.entries.iter().find(|c| &c.key == key)
    }

    /// Keeps `calibration` in place of one for the same key, dropping the oldest beyond
    /// [`MAX_REMEMBERED`].
    pub fn remember(&mut self, calibration: Calibration) {
        self.forget(&calibration.key);
        self.entries.push(calibration);
        let extra = self.entries.len().saturating_sub(MAX_REMEMBERED);
        self.entries.drain(..extra);
    }

    /// Drops the calibration for `key` ("Measure again").
    pub fn forget(&mut self, key: &CalibrationKey) {
        self.entries.retain(|c| &c.key != key);
    }
}
