//! Adam and RMSprop exactly as Keras 3 writes them. Burn's own put ε elsewhere (and default to
//! other values), which moves weights by ~5e-4 within three steps; these match TensorFlow.
//!
//! State lives in plain (non-autodiff) tensors, one flat tensor per slot and network in the
//! layout of a whole gradient ([`FlatSlot`]); [`layer_parts`] cuts it into the layers' parts
//! that the weights file names.

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

/// An optimizer slot's state for a whole network: one flat tensor, its values laid out as the
/// layers' parameters in [`parameter_lengths`] order — the layout of a whole gradient.
///
/// Flat, so that on a GPU one update is a dozen kernels for the whole network instead of a
/// dozen per parameter (on WebGPU every kernel launch costs the host tens of microseconds).
pub type FlatSlot = Tensor<1>;

/// `count` zero slots for `layers`, on the layers' (non-autodiff) device.
fn zero_slots(layers: &[Dense], count: usize) -> Vec<FlatSlot> {
    let Some(device) = layers.first().map(|l| l.kernel.val().inner().device()) else {
        return Vec::new();
    };
    (0..count)
        .map(|_| Tensor::zeros([parameter_count(layers)], &device))
        .collect()
}

/// The parts of a flat slot (or gradient) that belong to each of `layers`: its kernel as
/// `[in, out]` and its bias as `[out]`. The parts are views where the device allows, copies
/// where a part's offset is not aligned for it.
pub fn layer_parts(flat: &Tensor<1>, layers: &[Dense]) -> Vec<(Tensor<2>, Tensor<1>)> {
    let mut offset = 0;
    layers
        .iter()
        .map(|layer| {
            let (inputs, outputs) = (layer.inputs(), layer.outputs());
            let kernel = flat
                .clone()
                .narrow(0, offset, inputs * outputs)
                .reshape([inputs, outputs]);
            offset += inputs * outputs;
            let bias = flat.clone().narrow(0, offset, outputs);
            offset += outputs;
            (kernel, bias)
        })
        .collect()
}

/// One update rule: how far each parameter moves against its gradient, and its slots' new
/// values.
trait UpdateRule {
    /// As tensor ops, on any device, over a whole network's flat gradient and slots: returns
    /// the step each parameter takes (`θ −= step`).
    fn step(&self, grad: Tensor<1>, slots: &mut [FlatSlot]) -> Tensor<1>;

    /// Fused: one pass over one parameter's host values and the matching parts of its slots,
    /// in the same f32 operations and order as [`step`], so both give the same bits.
    ///
    /// [`step`]: UpdateRule::step
    fn apply_host(&self, param: &mut [f32], grad: &[f32], slots: &mut [&mut [f32]]);
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

/// A host-side parameter updated in place from its gradient and the parts of the host slots
/// from `offset`, and written back as a tensor.
fn host_param<const D: usize>(
    param: Param<Tensor<D>>,
    grad: &[f32],
    slots: &mut [Vec<f32>],
    offset: usize,
    rule: &impl UpdateRule,
) -> Result<Param<Tensor<D>>, OptimError> {
    let value = param.val();
    let (device, shape) = (value.device(), value.shape());
    let mut values = read_now(value.inner()).ok_or(OptimError::NotOnHost)?;
    let range = offset..offset + values.len();
    let mut parts: Vec<&mut [f32]> = slots.iter_mut().map(|s| &mut s[range.clone()]).collect();
    rule.apply_host(&mut values, grad, &mut parts);
    let updated = Tensor::from_data(TensorData::new(values, shape), &device).require_grad();
    Ok(param.map(|_| updated))
}

/// Applies `rule` to every parameter of `layers` from `grads`, their whole gradient as one
/// slice in [`parameter_lengths`] order. The lengths are checked before anything moves; the
/// reads cannot fail once the device is known to be the host's.
fn step_layers_host<R: UpdateRule>(
    layers: &mut Vec<Dense>,
    grads: &[f32],
    slots: &mut Vec<FlatSlot>,
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
    let Some(slot_device) = slots.first().map(|s| s.device()) else {
        return Ok(());
    };
    // Taken, not cloned: a tensor held once reads back without a copy.
    let mut host_slots = std::mem::take(slots)
        .into_iter()
        .map(read_now)
        .collect::<Option<Vec<_>>>()
        .ok_or(OptimError::NotOnHost)?;
    let mut offset = 0;
    let old = std::mem::take(layers);
    for layer in old {
        let kernel_len = layer.inputs() * layer.outputs();
        let bias_len = layer.outputs();
        let kernel_grad = &grads[offset..offset + kernel_len];
        let kernel = host_param(layer.kernel, kernel_grad, &mut host_slots, offset, rule)?;
        offset += kernel_len;
        let bias_grad = &grads[offset..offset + bias_len];
        let bias = host_param(layer.bias, bias_grad, &mut host_slots, offset, rule)?;
        offset += bias_len;
        layers.push(Dense { kernel, bias });
    }
    *slots = host_slots
        .into_iter()
        .map(|values| Tensor::from_data(TensorData::new(values, [expected]), &slot_device))
        .collect();
    Ok(())
}

/// `param − step[offset..]`, the part of the flat step that is this parameter's.
fn minus_part<const D: usize>(
    param: Param<Tensor<D>>,
    step: &Tensor<1>,
    offset: &mut usize,
) -> Param<Tensor<D>> {
    let value = param.val().inner();
    let shape = value.shape();
    let len = shape.num_elements();
    let part = step.clone().narrow(0, *offset, len).reshape(shape);
    *offset += len;
    param.map(|_| Tensor::from_inner(value - part).require_grad())
}

/// Applies `rule` to every parameter of `layers` as tensor ops on their device: the gradients
/// are joined into one flat tensor (one copy each), the rule runs once over it, and each
/// parameter takes its part of the step. On error nothing is changed.
fn step_layers<R: UpdateRule>(
    layers: &mut Vec<Dense>,
    grads: &Gradients,
    slots: &mut [FlatSlot],
    rule: &R,
) -> Result<(), OptimError> {
    // Every gradient must exist before anything moves, so a failure leaves the model as it was.
    let mut parts: Vec<Tensor<1>> = Vec::with_capacity(2 * layers.len());
    for (i, layer) in layers.iter().enumerate() {
        let missing = || OptimError::MissingGradient(format!("dense{i}"));
        parts.push(layer.kernel.grad(grads).ok_or_else(missing)?.flatten(0, 1));
        parts.push(layer.bias.grad(grads).ok_or_else(missing)?);
    }
    let step = rule.step(Tensor::cat(parts, 0), slots);
    let mut offset = 0;
    let old = std::mem::take(layers);
    for layer in old {
        let kernel = minus_part(layer.kernel, &step, &mut offset);
        let bias = minus_part(layer.bias, &step, &mut offset);
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
    /// `m` then `v`, each flat over all the layers' parameters ([`FlatSlot`]).
    pub slots: Vec<FlatSlot>,
}

struct AdamStep {
    alpha: f32,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    epsilon: f32,
}

impl UpdateRule for AdamStep {
    fn step(&self, grad: Tensor<1>, slots: &mut [FlatSlot]) -> Tensor<1> {
        let m = slots[0].clone();
        let v = slots[1].clone();
        let m = m.clone() + (grad.clone() - m).mul_scalar(self.one_minus_beta1);
        let v = v.clone() + (grad.square() - v).mul_scalar(self.one_minus_beta2);
        let step = m.clone().mul_scalar(self.alpha) / v.clone().sqrt().add_scalar(self.epsilon);
        slots[0] = m;
        slots[1] = v;
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
    /// `v`, flat over all the layers' parameters ([`FlatSlot`]).
    pub slots: Vec<FlatSlot>,
}

struct RmsPropStep {
    lr: f32,
    rho: f32,
    one_minus_rho: f32,
    epsilon: f32,
}

impl UpdateRule for RmsPropStep {
    fn step(&self, grad: Tensor<1>, slots: &mut [FlatSlot]) -> Tensor<1> {
        let v = slots[0].clone().mul_scalar(self.rho)
            + grad.clone().square().mul_scalar(self.one_minus_rho);
        let step = grad.mul_scalar(self.lr) / v.clone().add_scalar(self.epsilon).sqrt();
        slots[0] = v;
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
