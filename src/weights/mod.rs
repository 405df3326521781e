//! Weights in and out as safetensors, in Keras' layout: the tutorial's
//! `gen.dense{0..4}.{kernel,bias}` and `disc.dense{0..3}.{kernel,bias}`; another model's layers
//! named by their Keras kind and place (`gen.conv2d_transpose1`, `disc.conv2d0`, …, from its
//! description), `Dense` kernels `[in, out]`, convolution kernels in Keras' 4-D shapes, float32,
//! so a file loads into the model's Keras twin unchanged; a model that shows a moving average of
//! its generator keeps it under `gen_avg.*`. The metadata's `model` names the model, and a file
//! loads only as that model. Optimizer state rides along under `optim.` and the header's
//! metadata holds the format version, the position in training and the full config (seeds
//! included), so training resumes exactly.
//!
//! A [`Checkpoint`] is the host-side copy of everything: captured with asynchronous reads,
//! written to bytes, parsed from bytes with every name, shape, dtype and value checked, and only
//! then turned into a new [`Trainer`](crate::Trainer) — a bad file never touches the model in use.

use thiserror::Error;

use crate::config::{ConfigError, TrainingConfig};
use crate::data::DataRef;
use crate::quality::score::EpochScore;
use crate::train::Progress;

mod device;
mod file;
mod layout;

/// Version of the file layout this build writes; files from a newer one are refused.
pub const FORMAT_VERSION: u32 = 1;
/// The `format` metadata value of files this app writes.
pub const FORMAT_NAME: &str = "mnist-gan-web";
/// The number of MNIST training images, which bounds a saved position within an epoch.
pub const MNIST_TRAIN_IMAGES: usize = 60_000;
/// The prefix of the generator's tensors in the file (`gen.dense0.kernel`, …).
pub const GENERATOR_STEM: &str = "gen";
/// The prefix of the discriminator's tensors in the file (`disc.dense0.kernel`, …).
pub const DISCRIMINATOR_STEM: &str = "disc";

/// The prefix of the generator's moving average (`gen_avg.dense0.kernel`, …), for a model that
/// keeps one: a generator of the same layers.
pub const AVERAGE_STEM: &str = "gen_avg";

pub use crate::model::layer_name;

impl Checkpoint {
    /// Each layer's values under its name in the file (`gen.dense0`, `disc.conv2d1`,
    /// `gen_avg.conv2d_transpose2`, …): the generator's, the discriminator's, then the average's.
    pub fn named_layers(&self) -> Vec<(String, &HostDense)> {
        let spec = self.config.model.spec(self.config.noise_dim);
        let networks = [
            (GENERATOR_STEM, &spec.generator, Some(&self.generator)),
            (
                DISCRIMINATOR_STEM,
                &spec.discriminator,
                Some(&self.discriminator),
            ),
            (AVERAGE_STEM, &spec.generator, self.average.as_ref()),
        ];
        let mut out = Vec::new();
        for (stem, network, layers) in networks {
            let Some(layers) = layers else { continue };
            for (i, (layer, shape)) in layers.iter().zip(network.layers()).enumerate() {
                out.push((layer_name(stem, &shape, i), layer));
            }
        }
        out
    }
}

/// Why a weights file was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum WeightsError {
    /// The bytes are not a safetensors file (or are truncated, or their header is inconsistent).
    #[error("not a valid safetensors file: {0}")]
    NotSafetensors(String),
    /// The file was written by a newer version of the app.
    #[error("the file uses format version {found}, newer than this app's {FORMAT_VERSION}")]
    NewerFormat {
        /// The version in the file.
        found: u32,
    },
    /// A metadata entry cannot be read.
    #[error("metadata entry `{key}` is invalid: {message}")]
    BadMetadata {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The stored training configuration is invalid.
    #[error("the stored configuration is invalid: {0}")]
    BadConfig(#[from] ConfigError),
    /// A required tensor is absent.
    #[error("tensor `{0}` is missing")]
    MissingTensor(String),
    /// A tensor the app does not know.
    #[error("unexpected tensor `{0}`")]
    UnexpectedTensor(String),
    /// A tensor is not float32.
    #[error("tensor `{name}` is {found}, expected F32")]
    WrongDtype {
        /// The tensor.
        name: String,
        /// Its dtype.
        found: String,
    },
    /// A tensor has the wrong shape.
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    WrongShape {
        /// The tensor.
        name: String,
        /// The shape the model needs.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor holds NaN or an infinity.
    #[error("tensor `{name}` holds a non-finite value ({value}) at index {index}")]
    NonFinite {
        /// The tensor.
        name: String,
        /// The flat index of the first bad value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// The file holds another model's networks.
    #[error("the file holds the `{found}` model's weights, not the `{expected}` model's")]
    WrongModel {
        /// The model whose networks the file holds.
        found: crate::model::ModelKind,
        /// The model it was to load into.
        expected: crate::model::ModelKind,
    },
    /// Reading the model back from the device failed.
    #[error("reading the model from the device failed: {0}")]
    Read(String),
}

/// One layer's values on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostDense {
    /// Its kernel, row-major in Keras' shape (`[in, out]` for `Dense`).
    pub kernel: Vec<f32>,
    /// `[out]`.
    pub bias: Vec<f32>,
}

/// One optimizer's state on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostOptimizer {
    /// Steps taken.
    pub iterations: u64,
    /// `slots[s][layer]`: slot `s` (Adam: m, v; RMSprop: v) of each layer.
    pub slots: Vec<Vec<HostDense>>,
}

/// Both optimizers' state.
#[derive(Debug, Clone, PartialEq)]
pub struct HostOptimizers {
    /// The generator's Adam.
    pub generator: HostOptimizer,
    /// The discriminator's optimizer (RMSprop, or Adam as the model says).
    pub discriminator: HostOptimizer,
}

/// Everything a weights file holds, on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The training configuration.
    pub config: TrainingConfig,
    /// Where training stood.
    pub progress: Progress,
    /// Generator layers, first to last.
    pub generator: Vec<HostDense>,
    /// Discriminator layers, first to last.
    pub discriminator: Vec<HostDense>,
    /// The generator's moving average, for a model that keeps one (`gen_avg.*`).
    pub average: Option<Vec<HostDense>>,
    /// Optimizer state, when the file has it (a plain Keras export does not).
    pub optimizers: Option<HostOptimizers>,
    /// The quality scores taken so far in the run (metadata `scores`, JSON).
    pub scores: Vec<EpochScore>,
    /// The data the run trains on (metadata `dataset`, its name, and `dataset_sha256`; files
    /// without them trained on MNIST).
    pub dataset: DataRef,
}
