//! The step's three binary cross-entropies in one pass over all its logits.
//!
//! A step takes three means of TensorFlow's cross-entropy on logits: D(x) against the real
//! label, D(G(z)) against 0 (both the discriminator's loss) and D(G(z)) through the frozen
//! discriminator against 1 (the generator's). Each is a handful of element-wise ops on a column
//! of a few hundred values, and on WebGPU every op is a kernel launch that costs the host tens
//! of microseconds whatever its size: computed apart, every op forward and backward ran three
//! times. Here they are one column of rows, each with its own target and weight, so every op
//! runs once.

use burn::tensor::{Tensor, TensorData};

use super::LossWeights;
use crate::cpu::step_constant;

/// TensorFlow's `sigmoid_cross_entropy_with_logits` of each logit against its target:
/// `max(x, 0) − x·t + log(1 + exp(−|x|))`, with `max(x, 0) − x·t` computed as
/// `x·(step(x̄) − t)`, `step(x̄)` (1 above zero, 0 at and below) taken from the logits' value
/// ([`step_constant`]). That is the same function and, with `relu`'s gradient (0 at zero), the
/// same gradient `σ(x) − t`, in fewer kernels than a `clamp_min` and a product apart.
pub fn cross_entropy_rows(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
    let linear_slope = step_constant(&logits, 0.0, 1.0) - targets;
    let soft = logits.clone().abs().neg().exp().log1p();
    logits * linear_slope + soft
}

/// Where each loss's rows sit in the step's column of logits, and what they count.
#[derive(Debug, Clone, Copy)]
pub(super) struct LossRows {
    /// Real images' rows (the first ones).
    pub real: usize,
    /// Fake images' rows, twice: for the discriminator's loss, then for the generator's.
    pub fake: usize,
}

impl LossRows {
    /// Rows of the discriminator's loss: the real ones, then the fake ones.
    pub fn discriminator(&self) -> usize {
        self.real + self.fake
    }

    /// All rows.
    pub fn total(&self) -> usize {
        self.real + 2 * self.fake
    }

    /// Each row's target (the real label, 0, 1) and weight (its loss's weight over its rows,
    /// so that a weighted sum of a loss's rows is its weighted mean), as `[rows, 1]` columns.
    pub fn targets_and_weights(
        &self,
        real_label: f32,
        weights: LossWeights,
    ) -> (TensorData, TensorData) {
        let real_weight = weights.real / self.real as f32;
        let fake_weight = weights.fake / self.fake as f32;
        let rows = [
            (self.real, real_label, real_weight),
            (self.fake, 0.0, fake_weight),
            (self.fake, 1.0, fake_weight),
        ];
        let (targets, row_weights): (Vec<f32>, Vec<f32>) = rows
            .iter()
            .flat_map(|&(n, target, weight)| std::iter::repeat_n((target, weight), n))
            .unzip();
        let shape = [self.total(), 1];
        (
            TensorData::new(targets, shape),
            TensorData::new(row_weights, shape),
        )
    }
}
