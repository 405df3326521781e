//! The step's three binary cross-entropies in one pass over all its logits.
//!
//! A step takes three means of TensorFlow's cross-entropy on logits: D(x) against the real
//! label, D(G(z)) against 0 (both the discriminator's loss) and D(G(z)) through the frozen
//! discriminator against 1 (the generator's). Each is a handful of element-wise ops on a column
//! of a few hundred values, and on WebGPU every op is a kernel launch that costs the host tens
//! of microseconds whatever its size: computed apart, every op forward and backward ran three
//! times. Here they are one column of rows, each with its own target and weight, so every op
//! runs once.

use std::sync::Mutex;

use burn::tensor::{Device, Tensor, TensorData};

use super::LossWeights;
use crate::cpu::slope_constant;

/// TensorFlow's `sigmoid_cross_entropy_with_logits` of each logit against its target,
/// written as TensorFlow's composite op computes it: with `c = (x ≥ 0)`, `max(x, 0) − x·t +
/// log(1 + exp(−|x|))` where `max(x, 0) = x·c` and `−|x| = x·(1 − 2c)`. Both are linear pieces
/// whose slopes are constants of the graph ([`slope_constant`]), so the value and the gradient
/// `σ(x) − t` are TensorFlow's, at `x = 0` too, in fewer kernels than a `clamp_min` and an
/// `abs` and their masks backward.
pub fn cross_entropy_rows(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
    let at_or_above_zero = slope_constant(
        &logits,
        |v| if v >= 0.0 { 1.0 } else { 0.0 },
        |v| v.greater_equal_elem(0.0).float(),
    );
    let negative_abs_slope = at_or_above_zero.clone().mul_scalar(-2.0).add_scalar(1.0);
    let soft = (logits.clone() * negative_abs_slope).exp().log1p();
    logits * (at_or_above_zero - targets) + soft
}

/// Where each loss's rows sit in the step's column of logits, and what they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// What the target and weight columns are made from: the rows, the real label and the
/// weights (as bits, so that equal means the same columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ColumnsKey {
    rows: LossRows,
    real_label: u32,
    weights: [u32; 2],
}

/// The step's target and weight columns on the device, made once and kept while what they are
/// made from stays the same (every step of an epoch but a smaller last batch): on WebGPU each
/// is an upload, and they are the same every step.
#[derive(Debug, Default)]
pub(super) struct LossColumns(Mutex<Option<(ColumnsKey, Tensor<2>, Tensor<2>)>>);

impl LossColumns {
    /// The `[rows, 1]` targets and weights of [`LossRows::targets_and_weights`], on `device`.
    pub fn get(
        &self,
        rows: LossRows,
        real_label: f32,
        weights: LossWeights,
        device: &Device,
    ) -> (Tensor<2>, Tensor<2>) {
        let key = ColumnsKey {
            rows,
            real_label: real_label.to_bits(),
            weights: [weights.real.to_bits(), weights.fake.to_bits()],
        };
        // A poisoned lock only means a panic while it was held: the columns are rebuilt.
        let mut cached = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((held, targets, row_weights)) = cached.as_ref()
            && *held == key
        {
            return (targets.clone(), row_weights.clone());
        }
        let (targets, row_weights) = rows.targets_and_weights(real_label, weights);
        let columns = (
            Tensor::from_data(targets, device),
            Tensor::from_data(row_weights, device),
        );
        *cached = Some((key, columns.0.clone(), columns.1.clone()));
        columns
    }

    /// The columns cached now, if any (a captured step keeps the ones it read).
    pub(crate) fn held(&self) -> Option<(Tensor<2>, Tensor<2>)> {
        let cached = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cached.as_ref().map(|(_, t, w)| (t.clone(), w.clone()))
    }
}
