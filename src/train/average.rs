//! A moving average of the generator's weights, for models that show one
//! ([`crate::model::ModelSpec::average`]): after every generator update `avg ← d·avg + (1 − d)·w`
//! with `d = min(decay, (1 + t)/(10 + t))` at update `t` (TensorFlow's
//! `ExponentialMovingAverage` with `num_updates`), so the first epochs' average follows the
//! weights closely instead of the initial ones. Element-wise tensor ops on the weights'
//! device, the same on every replica: 1, 2 or 4 CPU workers keep the same average.

use burn::module::Param;
use burn::tensor::Tensor;

use crate::model::{Dense, Generator};

/// The average of a generator's weights.
#[derive(Debug)]
pub struct Average {
    /// The largest decay.
    pub decay: f32,
    /// The averaged weights, as a generator of the same description.
    pub generator: Generator,
}

/// The decay of update `t` (counted from 1).
pub fn decay_at(decay: f32, t: u64) -> f32 {
    let t = t as f32;
    decay.min((1.0 + t) / (10.0 + t))
}

fn mix<const D: usize>(avg: &Param<Tensor<D>>, w: &Param<Tensor<D>>, d: f32) -> Param<Tensor<D>> {
    let mixed = avg.val().inner().mul_scalar(d) + w.val().inner().mul_scalar(1.0 - d);
    Param::from_tensor(Tensor::from_inner(mixed)).set_require_grad(false)
}

impl Average {
    /// An average starting at `generator`'s weights.
    pub fn new(decay: f32, generator: &Generator) -> Self {
        Self {
            decay,
            generator: generator.clone(),
        }
    }

    /// Takes `generator`'s weights after its update number `t` into the average.
    pub fn update(&mut self, generator: &Generator, t: u64) {
        let d = decay_at(self.decay, t);
        let layers = self
            .generator
            .layers
            .iter()
            .zip(&generator.layers)
            .map(|(avg, w)| Dense {
                kernel: mix(&avg.kernel, &w.kernel, d),
                bias: mix(&avg.bias, &w.bias, d),
            })
            .collect();
        self.generator.layers = layers;
    }
}
