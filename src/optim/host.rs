//! The optimizers' fused update on the CPU backend: one pass over each parameter's host values
//! and the matching parts of the slots, bit for bit the tensor ops' result.

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};

use super::{FlatSlot, OptimError, UpdateRule, parameter_count};
use crate::cpu::{is_host_device, read_now};
use crate::model::Dense;

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
pub(super) fn step_layers_host<R: UpdateRule>(
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
        let [kernel_len, bias_len] = layer.lengths();
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
