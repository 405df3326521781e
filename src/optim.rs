//! Adam and RMSprop exactly as Keras 3 writes them. Burn's own put ε elsewhere (and default to
//! other values), which moves weights by ~5e-4 within three steps; these match TensorFlow.
//!
//! State lives in plain (non-autodiff) tensors, one list of slots per Dense layer, so it can be
//! written to and read from the weights file by name.

use burn::module::Param;
use burn::tensor::{Gradients, Tensor, TensorData};
use thiserror::Error;

use crate::cpu::{is_host_device, read_now};
use crate::model::Dense;

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

/// The optimizer's per-parameter tensors for one Dense layer (Adam: m then v; RMSprop: v).
#[derive(Debug, Clone)]
pub struct LayerSlots {
    /// Slots of the kernel, each `[in, out]`.
    pub kernel: Vec<Tensor<2>>,
    /// Slots of the bias, each `[out]`.
    pub bias: Vec<Tensor<1>>,
}

impl LayerSlots {
    fn zeros(layer: &Dense, count: usize) -> Self {
        let kernel = layer.kernel.val().inner();
        let bias = layer.bias.val().inner();
        Self {
            kernel: (0..count).map(|_| kernel.zeros_like()).collect(),
            bias: (0..count).map(|_| bias.zeros_like()).collect(),
        }
    }
}

/// One update rule: the new parameter value from the old one, its gradient and its slots.
trait UpdateRule {
    /// As tensor ops, on any device.
    fn apply<const D: usize>(
        &self,
        param: Tensor<D>,
        grad: Tensor<D>,
        slots: &mut [Tensor<D>],
    ) -> Tensor<D>;

    /// Fused: one pass over host values, in the same f32 operations and order as [`apply`],
    /// so both give the same bits.
    ///
    /// [`apply`]: UpdateRule::apply
    fn apply_host(&self, param: &mut [f32], grad: &[f32], slots: &mut [Vec<f32>]);
}

/// Number of values of each parameter of `layers`, in order: each layer's kernel, then its bias.
pub fn parameter_lengths(layers: &[Dense]) -> impl Iterator<Item = usize> + '_ {
    layers
        .iter()
        .flat_map(|l| [l.inputs() * l.outputs(), l.outputs()])
}

/// Number of values of all parameters of `layers`.
pub fn parameter_count(layers: &[Dense]) -> usize {
    parameter_lengths(layers).sum()
}

/// A host-side parameter with its slots, updated in place and written back as tensors.
fn host_param<const D: usize>(
    param: Param<Tensor<D>>,
    grad: &[f32],
    slots: &mut Vec<Tensor<D>>,
    rule: &impl UpdateRule,
) -> Result<Param<Tensor<D>>, OptimError> {
    let value = param.val();
    let (device, shape) = (value.device(), value.shape());
    let mut values = read_now(value.inner()).ok_or(OptimError::NotOnHost)?;
    // Taken, not cloned: a tensor held once reads back without a copy.
    let mut host_slots = std::mem::take(slots)
        .into_iter()
        .map(read_now)
        .collect::<Option<Vec<_>>>()
        .ok_or(OptimError::NotOnHost)?;
    rule.apply_host(&mut values, grad, &mut host_slots);
    let slot_device = device.clone().inner();
    *slots = host_slots
        .into_iter()
        .map(|v| Tensor::from_data(TensorData::new(v, shape.clone()), &slot_device))
        .collect();
    let updated = Tensor::from_data(TensorData::new(values, shape), &device).require_grad();
    Ok(param.map(|_| updated))
}

/// Applies `rule` to every parameter of `layers` from `grads`, their whole gradient as one
/// slice in [`parameter_lengths`] order. The lengths are checked before anything moves; the
/// reads cannot fail once the device is known to be the host's.
fn step_layers_host<R: UpdateRule>(
    layers: &mut Vec<Dense>,
    grads: &[f32],
    slots: &mut [LayerSlots],
    rule: &R,
) -> Result<(), OptimError> {
    let expected = parameter_count(layers);
    if grads.len() != expected {
        return Err(OptimError::GradientLength {
            expected,
            got: grads.len(),
        });
    }
    if !layers
        .first()
        .is_none_or(|l| is_host_device(&l.kernel.val().device()))
    {
        return Err(OptimError::NotOnHost);
    }
    let mut rest = grads;
    let old = std::mem::take(layers);
    for (layer, slot) in old.into_iter().zip(slots.iter_mut()) {
        let (kernel_grad, tail) = rest.split_at(layer.inputs() * layer.outputs());
        let (bias_grad, tail) = tail.split_at(layer.outputs());
        rest = tail;
        let kernel = host_param(layer.kernel, kernel_grad, &mut slot.kernel, rule)?;
        let bias = host_param(layer.bias, bias_grad, &mut slot.bias, rule)?;
        layers.push(Dense { kernel, bias });
    }
    Ok(())
}

fn update_param<const D: usize, R: UpdateRule>(
    param: Param<Tensor<D>>,
    grads: &Gradients,
    slots: &mut [Tensor<D>],
    rule: &R,
    name: impl FnOnce() -> String,
) -> Result<Param<Tensor<D>>, OptimError> {
    let grad = param
        .grad(grads)
        .ok_or_else(|| OptimError::MissingGradient(name()))?;
    let updated = rule.apply(param.val().inner(), grad, slots);
    Ok(param.map(|_| Tensor::from_inner(updated).require_grad()))
}

/// Applies `rule` to every parameter of `layers`; on error nothing is returned changed.
fn step_layers<R: UpdateRule>(
    layers: &mut Vec<Dense>,
    grads: &Gradients,
    slots: &mut [LayerSlots],
    rule: &R,
) -> Result<(), OptimError> {
    // Every gradient must exist before anything moves, so a failure leaves the model as it was.
    for (i, layer) in layers.iter().enumerate() {
        if layer.kernel.grad(grads).is_none() || layer.bias.grad(grads).is_none() {
            return Err(OptimError::MissingGradient(format!("dense{i}")));
        }
    }
    let old = std::mem::take(layers);
    for (i, (layer, slot)) in old.into_iter().zip(slots.iter_mut()).enumerate() {
        let kernel = update_param(layer.kernel, grads, &mut slot.kernel, rule, || {
            format!("dense{i}.kernel")
        })?;
        let bias = update_param(layer.bias, grads, &mut slot.bias, rule, || {
            format!("dense{i}.bias")
        })?;
        layers.push(Dense { kernel, bias });
    }
    Ok(())
}

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
    /// `m` and `v` of each layer.
    pub slots: Vec<LayerSlots>,
}

struct AdamStep {
    alpha: f32,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    epsilon: f32,
}

impl UpdateRule for AdamStep {
    fn apply<const D: usize>(
        &self,
        param: Tensor<D>,
        grad: Tensor<D>,
        slots: &mut [Tensor<D>],
    ) -> Tensor<D> {
        let m = slots[0].clone();
        let v = slots[1].clone();
        let m = m.clone() + (grad.clone() - m).mul_scalar(self.one_minus_beta1);
        let v = v.clone() + (grad.square() - v).mul_scalar(self.one_minus_beta2);
        let update = m.clone().mul_scalar(self.alpha) / v.clone().sqrt().add_scalar(self.epsilon);
        slots[0] = m;
        slots[1] = v;
        param - update
    }

    fn apply_host(&self, param: &mut [f32], grad: &[f32], slots: &mut [Vec<f32>]) {
        let [m, v] = slots else { return };
        for (((p, &g), m), v) in param.iter_mut().zip(grad).zip(m).zip(v) {
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
            slots: layers.iter().map(|l| LayerSlots::zeros(l, 2)).collect(),
        }
    }

    fn rule(&self) -> AdamStep {
        // Keras computes these scalars in the variable's dtype, float32.
        let t = (self.iterations + 1) as f32;
        let beta1_power = (self.beta1 as f32).powf(t);
        let beta2_power = (self.beta2 as f32).powf(t);
        AdamStep {
            alpha: self.lr as f32 * (1.0 - beta2_power).sqrt() / (1.0 - beta1_power),
            one_minus_beta1: (1.0 - self.beta1) as f32,
            one_minus_beta2: (1.0 - self.beta2) as f32,
            epsilon: self.epsilon as f32,
        }
    }

    /// One step on `layers` with their gradients in `grads`.
    pub fn step(&mut self, layers: &mut Vec<Dense>, grads: &Gradients) -> Result<(), OptimError> {
        let rule = self.rule();
        step_layers(layers, grads, &mut self.slots, &rule)?;
        self.iterations += 1;
        Ok(())
    }

    /// The same step fused, on the CPU backend, from the layers' whole gradient in
    /// [`parameter_lengths`] order.
    pub fn step_host(&mut self, layers: &mut Vec<Dense>, grads: &[f32]) -> Result<(), OptimError> {
        let rule = self.rule();
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
    /// `v` of each layer.
    pub slots: Vec<LayerSlots>,
}

struct RmsPropStep {
    lr: f32,
    rho: f32,
    one_minus_rho: f32,
    epsilon: f32,
}

impl UpdateRule for RmsPropStep {
    fn apply<const D: usize>(
        &self,
        param: Tensor<D>,
        grad: Tensor<D>,
        slots: &mut [Tensor<D>],
    ) -> Tensor<D> {
        let v = slots[0].clone().mul_scalar(self.rho)
            + grad.clone().square().mul_scalar(self.one_minus_rho);
        let update = grad.mul_scalar(self.lr) / v.clone().add_scalar(self.epsilon).sqrt();
        slots[0] = v;
        param - update
    }

    fn apply_host(&self, param: &mut [f32], grad: &[f32], slots: &mut [Vec<f32>]) {
        let [v] = slots else { return };
        for ((p, &g), v) in param.iter_mut().zip(grad).zip(v) {
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
            slots: layers.iter().map(|l| LayerSlots::zeros(l, 1)).collect(),
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
        step_layers(layers, grads, &mut self.slots, &rule)?;
        self.iterations += 1;
        Ok(())
    }

    /// The same step fused, on the CPU backend, from the layers' whole gradient in
    /// [`parameter_lengths`] order.
    pub fn step_host(&mut self, layers: &mut Vec<Dense>, grads: &[f32]) -> Result<(), OptimError> {
        let rule = self.rule();
        step_layers_host(layers, grads, &mut self.slots, &rule)?;
        self.iterations += 1;
        Ok(())
    }
}
