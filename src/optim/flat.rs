//! A network's parameters, gradients and optimizer slots as flat tensors, and the update on a
//! GPU over them.
//!
//! On a GPU every kernel launch costs the host a roughly fixed time whatever its size (~17 µs
//! natively, ~80 µs in the browser's worker: BENCHMARKS.md), so an update over a whole
//! network's flat tensors takes a dozen launches, not a dozen per parameter. The parameters are
//! kept flat too: the layers' kernels and biases are views into one tensor, so the update
//! subtracts once per network, not once per parameter.
//!
//! A part of a flat tensor is a view only where CubeCL allows one: it must start and end at
//! multiples of the device's buffer offset alignment from the buffer's start and from its end;
//! any other slice is a copy kernel. So on a GPU every part starts at a multiple of 256 bytes
//! (the largest alignment WebGPU and Vulkan may ask for) and the whole is padded to one; only a
//! part whose length is not a multiple of it is copied (4 of the 18 on WebGPU). On the CPU
//! backend the parts are packed: there that is also the layout of a whole host gradient
//! (`Gan::host_gradients`).

use std::ops::Range;

use burn::module::{Param, ParamId, ParamMapper};
use burn::tensor::{Device, Gradients, Tensor};

use super::{OptimError, UpdateRule, parameter_lengths};
use crate::cpu::is_host_device;
use crate::model::Dense;

/// An optimizer slot's state for a whole network: one flat tensor in its [`FlatLayout`], the
/// layout of a whole gradient on that device.
pub type FlatSlot = Tensor<1>;

/// Floats from one aligned offset to the next on a GPU: 256 bytes.
const GPU_ALIGNMENT: usize = 256 / std::mem::size_of::<f32>();

/// Where each parameter of a network (each layer's kernel, then its bias, in order) lies in
/// the network's flat tensors on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatLayout {
    parts: Vec<Range<usize>>,
    len: usize,
}

impl FlatLayout {
    /// The layout of `layers`' parameters on `device`: packed on the CPU backend, each part
    /// starting at an aligned offset elsewhere.
    pub fn new(layers: &[Dense], device: &Device) -> Self {
        let alignment = if is_host_device(device) {
            1
        } else {
            GPU_ALIGNMENT
        };
        Self::aligned(parameter_lengths(layers), alignment)
    }

    /// Parts of the given lengths, each starting at a multiple of `alignment`, and padding to
    /// one after the last (a view's end is measured from the buffer's end).
    pub fn aligned(lengths: impl IntoIterator<Item = usize>, alignment: usize) -> Self {
        let alignment = alignment.max(1);
        let mut end = 0usize;
        let parts = lengths
            .into_iter()
            .map(|n| {
                let start = end.next_multiple_of(alignment);
                end = start + n;
                start..end
            })
            .collect();
        Self {
            parts,
            len: end.next_multiple_of(alignment),
        }
    }

    /// Values of a flat tensor in this layout, padding included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the layout holds no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Each parameter's range, in order.
    pub fn parts(&self) -> &[Range<usize>] {
        &self.parts
    }

    /// Host values of each part, in order, laid out flat; the padding is zero.
    pub fn join_host<'a>(
        &self,
        parts: impl IntoIterator<Item = &'a [f32]>,
    ) -> Result<Vec<f32>, OptimError> {
        let mut flat = vec![0.0; self.len];
        let mut given = 0;
        for (range, values) in self.parts.iter().zip(parts) {
            if values.len() != range.len() {
                return Err(OptimError::GradientLength {
                    expected: range.len(),
                    got: values.len(),
                });
            }
            flat[range.clone()].copy_from_slice(values);
            given += 1;
        }
        if given != self.parts.len() {
            return Err(OptimError::GradientLength {
                expected: self.parts.len(),
                got: given,
            });
        }
        Ok(flat)
    }

    /// Device tensors of each part, flattened, joined into one flat tensor: one copy each. The
    /// padding keeps whatever the allocation held: no part ever reads it.
    fn join(&self, parts: Vec<Tensor<1>>, device: &Device) -> Tensor<1> {
        let mut flat = Tensor::empty([self.len], device);
        for (range, part) in self.parts.iter().zip(parts) {
            flat = flat.slice_assign([range.clone()], part);
        }
        flat
    }

    /// Each layer's kernel `[rows, cols]` and bias cut from `flat` (views where aligned), for
    /// layers of the given kernel shapes.
    fn cut(&self, flat: &Tensor<1>, shapes: &[[usize; 2]]) -> Vec<(Tensor<2>, Tensor<1>)> {
        shapes
            .iter()
            .zip(self.parts.chunks_exact(2))
            .map(|(&shape, ranges)| {
                let kernel = flat.clone().slice([ranges[0].clone()]).reshape(shape);
                let bias = flat.clone().slice([ranges[1].clone()]);
                (kernel, bias)
            })
            .collect()
    }
}

fn layer_shapes(layers: &[Dense]) -> Vec<[usize; 2]> {
    layers.iter().map(|l| l.kernel.dims()).collect()
}

/// The parts of a flat slot (or gradient) that belong to each of `layers`, in the layout of the
/// slot's device: each kernel as its matrix `[rows, cols]`, each bias flat.
pub fn layer_parts(flat: &Tensor<1>, layers: &[Dense]) -> Vec<(Tensor<2>, Tensor<1>)> {
    FlatLayout::new(layers, &flat.device()).cut(flat, &layer_shapes(layers))
}

/// `count` zero slots for `layers`, on the layers' (non-autodiff) device.
pub(super) fn zero_slots(layers: &[Dense], count: usize) -> Vec<FlatSlot> {
    let Some(device) = layers.first().map(|l| l.kernel.val().inner().device()) else {
        return Vec::new();
    };
    let len = FlatLayout::new(layers, &device).len();
    (0..count).map(|_| Tensor::zeros([len], &device)).collect()
}

/// A network's parameters as one flat tensor, of which its layers' parameters are the parts.
/// Held by the optimizer that made them; the ids say which parameters they are, so that layers
/// replaced since (a loaded file, say) are joined afresh rather than overwritten.
#[derive(Debug, Clone)]
pub(super) struct FlatParams {
    values: Tensor<1>,
    ids: Vec<ParamId>,
}

fn param_ids(layers: &[Dense]) -> Vec<ParamId> {
    layers
        .iter()
        .flat_map(|l| [l.kernel.id, l.bias.id])
        .collect()
}

/// `value` as a new autodiff leaf.
fn leaf<const D: usize>(value: Tensor<D>) -> Tensor<D> {
    Tensor::from_inner(value).require_grad()
}

/// What a layer is without its values: its parameters' ids and mappers, and its shape.
struct Shell {
    kernel: (ParamId, ParamMapper<Tensor<2>>),
    bias: (ParamId, ParamMapper<Tensor<1>>),
    shape: [usize; 2],
}

impl Shell {
    /// `layer`'s shell; its values are dropped, so they no longer hold a flat tensor's buffer.
    fn of(layer: Dense) -> Self {
        let shape = layer.kernel.dims();
        let (kernel_id, _, kernel_mapper) = layer.kernel.consume();
        let (bias_id, _, bias_mapper) = layer.bias.consume();
        Self {
            kernel: (kernel_id, kernel_mapper),
            bias: (bias_id, bias_mapper),
            shape,
        }
    }

    /// The layer again, holding `kernel` and `bias` as new autodiff leaves.
    fn fill(self, kernel: Tensor<2>, bias: Tensor<1>) -> Dense {
        Dense {
            kernel: Param::from_mapped_value(self.kernel.0, leaf(kernel), self.kernel.1),
            bias: Param::from_mapped_value(self.bias.0, leaf(bias), self.bias.1),
        }
    }

    /// The shells of all `layers`, which are left empty.
    fn take_all(layers: &mut Vec<Dense>) -> Vec<Self> {
        std::mem::take(layers).into_iter().map(Self::of).collect()
    }

    /// `shells` filled with their parts of `flat` (in `layout`), into `layers`.
    fn fill_all(shells: Vec<Self>, layers: &mut Vec<Dense>, layout: &FlatLayout, flat: &Tensor<1>) {
        let shapes: Vec<[usize; 2]> = shells.iter().map(|s| s.shape).collect();
        let cut = layout.cut(flat, &shapes);
        layers.extend(
            shells
                .into_iter()
                .zip(cut)
                .map(|(shell, (kernel, bias))| shell.fill(kernel, bias)),
        );
    }
}

/// Applies `rule` to every parameter of `layers` as tensor ops on their device: the gradients
/// are joined into one flat tensor (one copy each), the rule runs once over it, the flat
/// parameters take the step, and the layers become views of the result. `params` are the flat
/// parameters of the last such update, reused while they are still the layers'. On error
/// nothing is changed.
///
/// The flat parameters and the slots are updated in their own buffers: the layers' views are
/// dropped before the subtraction, and CubeCL writes an element-wise result into an input that
/// nothing else holds. A captured step (`train::graph`) relies on that: every replay reads and
/// writes the same buffers, so the state must stay where the capture found it.
pub(super) fn step_layers<R: UpdateRule>(
    layers: &mut Vec<Dense>,
    grads: &Gradients,
    slots: &mut Vec<FlatSlot>,
    params: &mut Option<FlatParams>,
    rule: &R,
) -> Result<(), OptimError> {
    let Some(device) = layers.first().map(|l| l.kernel.val().inner().device()) else {
        return Ok(());
    };
    // Every gradient must exist before anything moves, so a failure leaves the model as it was.
    let mut parts: Vec<Tensor<1>> = Vec::with_capacity(2 * layers.len());
    for (i, layer) in layers.iter().enumerate() {
        let missing = || OptimError::MissingGradient(format!("layer {i}"));
        parts.push(layer.kernel.grad(grads).ok_or_else(missing)?.flatten(0, 1));
        parts.push(layer.bias.grad(grads).ok_or_else(missing)?);
    }
    let layout = FlatLayout::new(layers, &device);
    let step = rule.step(layout.join(parts, &device), slots);
    let ids = param_ids(layers);
    let values = match params.take() {
        Some(flat) if flat.ids == ids => flat.values,
        _ => {
            let values = layers
                .iter()
                .flat_map(|l| [l.kernel.val().inner().flatten(0, 1), l.bias.val().inner()])
                .collect();
            layout.join(values, &device)
        }
    };
    let shells = Shell::take_all(layers);
    let values = values - step;
    Shell::fill_all(shells, layers, &layout, &values);
    *params = Some(FlatParams { values, ids });
    Ok(())
}

/// Makes `layers` fresh views of `params` (copies where a part is not aligned), if these are
/// still the layers' flat parameters: then a step reads the flat tensor itself, not copies an
/// earlier step made, which a captured step needs (its replays must read the state they
/// update). Otherwise the layers are left as they are.
pub(super) fn recut(layers: &mut Vec<Dense>, params: &Option<FlatParams>) {
    let Some(flat) = params else { return };
    if flat.ids != param_ids(layers) {
        return;
    }
    let layout = FlatLayout::new(layers, &flat.values.device());
    let shells = Shell::take_all(layers);
    Shell::fill_all(shells, layers, &layout, &flat.values);
}

/// A copy of `tensor` in a buffer of its own (a kernel, not a new handle to the same buffer).
pub(crate) fn copy_of<const D: usize>(tensor: &Tensor<D>) -> Tensor<D> {
    let ranges = tensor.dims().map(|n| 0..n);
    Tensor::empty(tensor.dims(), &tensor.device()).slice_assign(ranges, tensor.clone())
}

/// A copy of an optimizer's device state (flat parameters and slots), to put back if a step
/// that was to update them never ran (a capture that failed).
#[derive(Debug, Clone)]
pub(crate) struct FlatBackup {
    params: Option<FlatParams>,
    slots: Vec<FlatSlot>,
    iterations: u64,
}

impl FlatBackup {
    pub(super) fn take(params: &Option<FlatParams>, slots: &[FlatSlot], iterations: u64) -> Self {
        Self {
            params: params.as_ref().map(|p| FlatParams {
                values: copy_of(&p.values),
                ids: p.ids.clone(),
            }),
            slots: slots.iter().map(copy_of).collect(),
            iterations,
        }
    }

    pub(super) fn restore(
        self,
        layers: &mut Vec<Dense>,
        params: &mut Option<FlatParams>,
        slots: &mut Vec<FlatSlot>,
        iterations: &mut u64,
    ) {
        *params = self.params;
        *slots = self.slots;
        *iterations = self.iterations;
        recut(layers, params);
    }
}
