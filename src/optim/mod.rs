//! Adam and RMSprop exactly as Keras 3 writes them. Burn's own put ε elsewhere (and default to
//! other values), which moves weights by ~5e-4 within three steps; these match TensorFlow.
//!
//! State lives in plain (non-autodiff) tensors, one flat tensor per slot and network in the
//! layout of a whole gradient on its device ([`FlatSlot`], [`FlatLayout`]); [`layer_parts`]
//! cuts it into the layers' parts that the weights file names. On a GPU the update runs as
//! tensor ops over the flat tensors (module `flat`), on the CPU backend as one fused host pass
//! per parameter (module `host`).

use burn::tensor::{Gradients, Tensor};
use thiserror::Error;

use crate::model::Dense;

mod either;
mod flat;
mod host;

pub use either::Optimizer;
pub(crate) use flat::{FlatBackup, copy_of};
pub use flat::{FlatLayout, FlatSlot, layer_parts};
use flat::{FlatParams, recut, step_layers, zero_slots};
use host::step_layers_host;

/// An optimizer step that could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OptimError {
    /// A parameter received no gradient (it was not part of the loss).
    #[error("no gradient for {0}: it did not take part in the loss")]
    MissingGradient(String),
    /// A whole gradient of the wrong length reached a fused update.
    #[error("a gradient of {got} values for {expected} parameters")]
    GradientLength {
        /// Parameters of the layers.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// A fused update needs the parameters in this thread's memory (Burn's CPU backend).
    #[error("the fused optimizer update needs the CPU backend")]
    NotOnHost,
}

/// One update rule: how far each parameter moves against its gradient, and its slots' new
/// values.
trait UpdateRule {
    /// As tensor ops, on any device, over a whole network's flat gradient and slots: returns
    /// the step each parameter takes (`θ −= step`). The slots are moved out and back, never
    /// cloned, so each is updated in its own buffer (see `flat::step_layers`).
    fn step(&self, grad: Tensor<1>, slots: &mut Vec<FlatSlot>) -> Tensor<1>;

    /// Fused: one pass over one parameter's host values and the matching parts of its slots,
    /// in the same f32 operations and order as [`step`], so both give the same bits.
    ///
    /// [`step`]: UpdateRule::step
    fn apply_host(&self, param: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]);
}

/// Number of values of each parameter of `layers`, in order: each layer's kernel, then its bias.
pub fn parameter_lengths(layers: &[Dense]) -> impl Iterator<Item = usize> + '_ {
    layers.iter().flat_map(Dense::lengths)
}

/// Number of values of all parameters of `layers`.
pub fn parameter_count(layers: &[Dense]) -> usize {
    parameter_lengths(layers).sum()
}

/// The methods over the device state that both optimizers keep alike (`params`, `slots`,
/// `iterations`), for a captured step (`train::graph`).
macro_rules! flat_state_methods {
    ($optimizer:ty) => {
        impl $optimizer {
            /// Makes `layers` fresh views of the flat parameters of the last step
            /// (`flat::recut`).
            pub(crate) fn recut(&self, layers: &mut Vec<Dense>) {
                recut(layers, &self.params);
            }

            /// A copy of the device state, to put back with `restore`.
            pub(crate) fn backup(&self) -> FlatBackup {
                FlatBackup::take(&self.params, &self.slots, self.iterations)
            }

            /// Puts back the state of `backup`, and makes `layers` views of it.
            pub(crate) fn restore(&mut self, backup: FlatBackup, layers: &mut Vec<Dense>) {
                let (params, slots) = (&mut self.params, &mut self.slots);
                backup.restore(layers, params, slots, &mut self.iterations);
            }
        }
    };
}

flat_state_methods!(KerasAdam);
flat_state_methods!(KerasRmsProp);

/// Keras' Adam: `m += (g − m)(1 − β1); v += (g² − v)(1 − β2);
/// θ −= m · lr·sqrt(1 − β2^t)/(1 − β1^t) / (sqrt(v) + ε)`.
#[derive(Debug, Clone)]
pub struct KerasAdam {
    /// Learning rate.
    pub lr: f64,
    /// β1.
    pub beta1: f64,
    /// β2.
    pub beta2: f64,
    /// ε, added to sqrt(v).
    pub epsilon: f64,
    /// Steps taken (Keras' `iterations`).
    pub iterations: u64,
    /// `m` then `v`, each flat over all the layers' parameters ([`FlatSlot`]).
    pub slots: Vec<FlatSlot>,
    /// On a GPU, the layers' parameters as of the last step, flat.
    params: Option<FlatParams>,
}

struct AdamStep {
    alpha: f32,
    /// `alpha` as a `[1]` tensor on the slots' device, for the tensor ops: a captured step
    /// reads it from a buffer refreshed before each replay, where a scalar would be fixed.
    alpha_tensor: Option<Tensor<1>>,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    epsilon: f32,
}

impl UpdateRule for AdamStep {
    fn step(&self, grad: Tensor<1>, slots: &mut Vec<FlatSlot>) -> Tensor<1> {
        let [m, v]: [FlatSlot; 2] = std::mem::take(slots)
            .try_into()
            .expect("Adam keeps two slots");
        let m_change = (grad.clone() - m.clone()).mul_scalar(self.one_minus_beta1);
        let m = m + m_change;
        let v_change = (grad.square() - v.clone()).mul_scalar(self.one_minus_beta2);
        let v = v + v_change;
        let scaled = match &self.alpha_tensor {
            Some(alpha) => m.clone() * alpha.clone(),
            None => m.clone().mul_scalar(self.alpha),
        };
        let step = scaled / v.clone().sqrt().add_scalar(self.epsilon);
        *slots = vec![m, v];
        step
    }

    fn apply_host(&self, param: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let [m, v] = slots else { return };
        for (((p, &g), m), v) in param
            .iter_mut()
            .zip(grad)
            .zip(m.iter_mut())
            .zip(v.iter_mut())
        {
            *m += (g - *m) * self.one_minus_beta1;
            *v += (g * g - *v) * self.one_minus_beta2;
            *p -= (*m * self.alpha) / (v.sqrt() + self.epsilon);
        }
    }
}

impl KerasAdam {
    /// Names of the slots, in order.
    pub const SLOT_NAMES: [&'static str; 2] = ["m", "v"];

    /// A fresh optimizer (zero moments) for `layers`.
    pub fn new(lr: f64, beta1: f64, beta2: f64, epsilon: f64, layers: &[Dense]) -> Self {
        Self {
            lr,
            beta1,
            beta2,
            epsilon,
            iterations: 0,
            slots: zero_slots(layers, 2),
            params: None,
        }
    }

    /// The next step's `lr·sqrt(1 − β2^t)/(1 − β1^t)`, as Keras computes it: in the variable's
    /// dtype, float32.
    pub fn next_alpha(&self) -> f32 {
        let t = (self.iterations + 1) as f32;
        let beta1_power = (self.beta1 as f32).powf(t);
        let beta2_power = (self.beta2 as f32).powf(t);
        self.lr as f32 * (1.0 - beta2_power).sqrt() / (1.0 - beta1_power)
    }

    fn rule(&self, alpha_tensor: Option<Tensor<1>>) -> AdamStep {
        AdamStep {
            alpha: self.next_alpha(),
            alpha_tensor,
            one_minus_beta1: (1.0 - self.beta1) as f32,
            one_minus_beta2: (1.0 - self.beta2) as f32,
            epsilon: self.epsilon as f32,
        }
    }

    /// One step on `layers` with their gradients in `grads`.
    pub fn step(&mut self, layers: &mut Vec<Dense>, grads: &Gradients) -> Result<(), OptimError> {
        let rule = self.rule(None);
        step_layers(layers, grads, &mut self.slots, &mut self.params, &rule)?;
        self.iterations += 1;
        Ok(())
    }

    /// [`KerasAdam::step`] with [`KerasAdam::next_alpha`] given as a `[1]` tensor on the slots'
    /// device: the same products, bit for bit, from a buffer rather than a launch's scalar.
    pub fn step_with_alpha(
        &mut self,
        layers: &mut Vec<Dense>,
        grads: &Gradients,
        alpha: Tensor<1>,
    ) -> Result<(), OptimError> {
        let rule = self.rule(Some(alpha));
        step_layers(layers, grads, &mut self.slots, &mut self.params, &rule)?;
        self.iterations += 1;
        Ok(())
    }

    /// The same step fused, on the CPU backend, from the layers' whole gradient in
    /// [`parameter_lengths`] order.
    pub fn step_host(&mut self, layers: &mut Vec<Dense>, grads: &[f32]) -> Result<(), OptimError> {
        let rule = self.rule(None);
        // The host update keeps the parameters' ids: flat GPU parameters would be stale.
        self.params = None;
        step_layers_host(layers, grads, &mut self.slots, &rule)?;
        self.iterations += 1;
        Ok(())
    }
}

/// Keras' RMSprop (not centred, no momentum): `v = ρv + (1 − ρ)g²; θ −= lr·g / sqrt(v + ε)`.
#[derive(Debug, Clone)]
pub struct KerasRmsProp {
    /// Learning rate.
    pub lr: f64,
    /// ρ.
    pub rho: f64,
    /// ε, added inside the square root.
    pub epsilon: f64,
    /// Steps taken (Keras' `iterations`).
    pub iterations: u64,
    /// `v`, flat over all the layers' parameters ([`FlatSlot`]).
    pub slots: Vec<FlatSlot>,
    /// On a GPU, the layers' parameters as of the last step, flat.
    params: Option<FlatParams>,
}

struct RmsPropStep {
    lr: f32,
    rho: f32,
    one_minus_rho: f32,
    epsilon: f32,
}

impl UpdateRule for RmsPropStep {
    fn step(&self, grad: Tensor<1>, slots: &mut Vec<FlatSlot>) -> Tensor<1> {
        let [v]: [FlatSlot; 1] = std::mem::take(slots)
            .try_into()
            .expect("RMSprop keeps one slot");
        let v = v.mul_scalar(self.rho) + grad.clone().square().mul_scalar(self.one_minus_rho);
        let step = grad.mul_scalar(self.lr) / v.clone().add_scalar(self.epsilon).sqrt();
        *slots = vec![v];
        step
    }

    fn apply_host(&self, param: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]) {
        let [v] = slots else { return };
        for ((p, &g), v) in param.iter_mut().zip(grad).zip(v.iter_mut()) {
            *v = *v * self.rho + (g * g) * self.one_minus_rho;
            *p -= (g * self.lr) / (*v + self.epsilon).sqrt();
        }
    }
}

impl KerasRmsProp {
    /// Names of the slots, in order.
    pub const SLOT_NAMES: [&'static str; 1] = ["v"];

    /// A fresh optimizer (zero velocity) for `layers`.
    pub fn new(lr: f64, rho: f64, epsilon: f64, layers: &[Dense]) -> Self {
        Self {
            lr,
            rho,
            epsilon,
            iterations: 0,
            slots: zero_slots(layers, 1),
            params: None,
        }
    }

    fn rule(&self) -> RmsPropStep {
        RmsPropStep {
            lr: self.lr as f32,
            rho: self.rho as f32,
            one_minus_rho: (1.0 - self.rho) as f32,
            epsilon: self.epsilon as f32,
        }
    }

    /// One step on `layers` with their gradients in `grads`.
    pub fn step(&mut self, layers: &mut Vec<Dense>, grads: &Gradients) -> Result<(), OptimError> {
        let rule = self.rule();
        step_layers(layers, grads, &mut self.slots, &mut self.params, &rule)?;
        self.iterations += 1;
        Ok(())
    }

    /// The same step fused, on the CPU backend, from the layers' whole gradient in
    /// [`parameter_lengths`] order.
    pub fn step_host(&mut self, layers: &mut Vec<Dense>, grads: &[f32]) -> Result<(), OptimError> {
        let rule = self.rule();
        // The host update keeps the parameters' ids: flat GPU parameters would be stale.
        self.params = None;
        step_layers_host(layers, grads, &mut self.slots, &rule)?;
        self.iterations += 1;
        Ok(())
    }
}
