//! Which compute path trains: WebGPU, or Burn's CPU backend (both run in a Web Worker).
//!
//! A software WebGPU adapter (SwiftShader, llvmpipe) runs shaders on the CPU at seconds per
//! step, far slower than the CPU backend's SIMD code, so only a hardware adapter gets WebGPU
//! unless the user asks for it.

use std::fmt;

use crate::matmul::Products;

/// Where training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComputePath {
    /// Burn's WebGPU backend.
    WebGpu,
    /// Burn's CPU backend (wasm SIMD).
    Cpu,
}

impl ComputePath {
    /// The name used in the page, its URL and its data attributes.
    pub fn name(self) -> &'static str {
        match self {
            ComputePath::WebGpu => "webgpu",
            ComputePath::Cpu => "cpu",
        }
    }
}

impl fmt::Display for ComputePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ComputePath::WebGpu => "WebGPU",
            ComputePath::Cpu => "the CPU (wasm SIMD)",
        })
    }
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PathPreference {
    /// Follow the rules of [`choose_path`].
    #[default]
    Auto,
    /// This path, whatever the adapter.
    Force(ComputePath),
}

impl PathPreference {
    /// Reads `auto`, `webgpu` or `cpu` (as in `?path=cpu`); anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Some(PathPreference::Auto),
            "webgpu" | "gpu" => Some(PathPreference::Force(ComputePath::WebGpu)),
            "cpu" => Some(PathPreference::Force(ComputePath::Cpu)),
            _ => None,
        }
    }

    /// The inverse of [`PathPreference::parse`].
    pub fn name(self) -> &'static str {
        match self {
            PathPreference::Auto => "auto",
            PathPreference::Force(path) => path.name(),
        }
    }
}

/// What the browser says about its WebGPU adapter.
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

    /// A fallback adapter, or one that runs on the CPU (SwiftShader, llvmpipe, lavapipe).
    pub fn is_software(&self) -> bool {
        let text = format!("{} {}", self.architecture, self.description).to_lowercase();
        self.is_fallback
            || ["swiftshader", "llvmpipe", "lavapipe", "software"]
                .iter()
                .any(|name| text.contains(name))
    }

    /// SwiftShader, Chromium's software adapter: the one adapter whose matrix products go
    /// through the register-tiled kernel (`crate::matmul`) without measuring, 8.7× faster there
    /// than CubeCL's own; on llvmpipe (natively) that kernel made the step 1.5× slower
    /// (BENCHMARKS.md).
    pub fn is_swiftshader(&self) -> bool {
        format!("{} {}", self.architecture, self.description)
            .to_lowercase()
            .contains("swiftshader")
    }

    /// The kernel for this adapter's matrix products before (or without) a calibration: the
    /// register-tiled one on SwiftShader, CubeCL's elsewhere.
    pub fn products(&self) -> Products {
        if self.is_swiftshader() {
            Products::RegisterTiled
        } else {
            Products::Burns
        }
    }
}

/// What asking the browser for WebGPU gave.
#[derive(Debug, Clone, PartialEq)]
pub enum GpuProbe {
    /// `navigator.gpu` is missing.
    Missing,
    /// `requestAdapter()` gave no adapter.
    NoAdapter,
    /// Asking failed.
    Failed(String),
    /// An adapter.
    Adapter(AdapterInfo),
}

/// The path to train on and why, in words for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathChoice {
    /// The path.
    pub path: ComputePath,
    /// Why, for the page.
    pub reason: String,
}

/// WebGPU on a hardware adapter; otherwise the CPU worker. A forced path is followed where
/// it can run (WebGPU needs an adapter, even a software one).
pub fn choose_path(probe: &GpuProbe, preference: PathPreference) -> PathChoice {
    let choice = |path, reason: String| PathChoice { path, reason };
    let no_gpu = match probe {
        GpuProbe::Missing => "this browser does not offer WebGPU".to_string(),
        GpuProbe::NoAdapter => "WebGPU is present but gives no adapter".to_string(),
        GpuProbe::Failed(message) => format!("WebGPU failed to start ({message})"),
        GpuProbe::Adapter(info) => {
            return match preference {
                PathPreference::Force(ComputePath::Cpu) => choice(
                    ComputePath::Cpu,
                    format!("chosen by you (WebGPU adapter: {})", info.summary()),
                ),
                PathPreference::Force(ComputePath::WebGpu) => choice(
                    ComputePath::WebGpu,
                    format!("chosen by you, on {}", info.summary()),
                ),
                PathPreference::Auto if info.is_software() => choice(
                    ComputePath::Cpu,
                    format!(
                        "the WebGPU adapter ({}) runs on the CPU, slower than the CPU path",
                        info.summary()
                    ),
                ),
                PathPreference::Auto => choice(
                    ComputePath::WebGpu,
                    format!("a hardware adapter: {}", info.summary()),
                ),
            };
        }
    };
    let reason = match preference {
        PathPreference::Force(ComputePath::WebGpu) => {
            format!("WebGPU was asked for, but {no_gpu}")
        }
        PathPreference::Force(ComputePath::Cpu) => format!("chosen by you ({no_gpu})"),
        PathPreference::Auto => no_gpu,
    };
    choice(ComputePath::Cpu, reason)
}

/// Most CPU workers the page offers (each holds a replica and a copy of MNIST, ~60 MB).
pub const MAX_CPU_WORKERS: usize = 8;

/// How many workers train a run on the CPU path: one per core but one (the page's), at most 4
/// by default (beyond that the gain per worker is small and each costs memory), at least 1.
pub fn default_cpu_workers(cores: usize) -> usize {
    cores.saturating_sub(1).clamp(1, 4)
}

/// The CPU workers: the machine's cores, the user's choice and the group running now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuWorkers {
    /// Logical cores the browser reports (`navigator.hardwareConcurrency`).
    pub cores: usize,
    /// The user's choice; `None`: automatic ([`default_cpu_workers`]).
    pub chosen: Option<usize>,
}

impl Default for CpuWorkers {
    fn default() -> Self {
        Self::new(1)
    }
}

impl CpuWorkers {
    /// Automatic, on a machine of `cores` cores.
    pub fn new(cores: usize) -> Self {
        Self {
            cores: cores.max(1),
            chosen: None,
        }
    }

    /// Workers a new CPU group gets.
    pub fn wanted(&self) -> usize {
        self.chosen
            .unwrap_or_else(|| default_cpu_workers(self.cores))
    }

    /// Reads `auto` or a count from 1 to [`MAX_CPU_WORKERS`] (the menu's values, `?workers=`).
    pub fn parse(text: &str) -> Option<Option<usize>> {
        match text.trim() {
            "auto" | "" => Some(None),
            number => number
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_CPU_WORKERS).contains(n))
                .map(Some),
        }
    }

    /// The menu's value for the choice.
    pub fn choice_name(&self) -> String {
        self.chosen.map_or_else(|| "auto".into(), |n| n.to_string())
    }
}
