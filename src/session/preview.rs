//! A GPU session's generator as it starts, kept on the host's CPU backend: until the first step
//! changes the weights, the grid and the latent walks come from it, so the page shows a new or
//! loaded model's samples at once instead of after the GPU has compiled the generator's
//! kernels (seconds on SwiftShader, a compile per pipeline on a hardware GPU:
//! docs/benchmarks/history.md, "The first grid on WebGPU"). The images are the GPU's within
//! float rounding: the same weights through the same layers, with TensorFlow's tanh on the CPU.

use burn::tensor::{Device, Tensor};

use crate::config::TrainingConfig;
use crate::model::Generator;
use crate::train::Gan;
use crate::weights::Checkpoint;

/// The starting generator on the CPU backend.
#[derive(Debug)]
pub struct Preview {
    generator: Generator,
}

impl Preview {
    /// The generator a new trainer for `config` starts with (drawn as [`Gan::new`] draws it).
    pub fn of_new(config: &TrainingConfig) -> Self {
        Self {
            generator: Gan::new(config, &Device::flex()).generator,
        }
    }

    /// The generator `checkpoint` holds.
    pub fn of_checkpoint(checkpoint: &Checkpoint) -> Self {
        Self {
            generator: checkpoint.shown_generator(&Device::flex()),
        }
    }

    /// The generator's images for `rows` noise vectors (`values`, row-major) and, for a
    /// conditional model, their labels' one-hot rows, on the CPU.
    pub fn images(&self, values: Vec<f32>, rows: usize, labels: Option<Vec<f32>>) -> Tensor<2> {
        self.generator
            .generate_values(values, rows, labels, &Device::flex().autodiff())
    }
}
