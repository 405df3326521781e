//! Element-wise work done in one pass over host memory when the networks live on the CPU.
//!
//! On Burn's CPU backend every tensor op is a pass over memory and its transcendental
//! functions are scalar `libm` calls: the generator's `tanh` (recomputed again by its backward)
//! cost ~19 % of a native step, and an optimizer update is a dozen passes per parameter. These
//! loops are branch-free, so the compiler vectorises them (SSE natively, `simd128` in the
//! browser). Other devices keep Burn's ops. The optimizers' fused updates are in `optim`.

use burn::tensor::{Device, Tensor, TensorData, try_read_sync};

/// Whether tensors on `device` (autodiff or not) live in this thread's memory and read back at
/// once: Burn's CPU backend.
pub fn is_host_device(device: &Device) -> bool {
    device.clone().inner() == Device::flex()
}

/// A tensor's values, when its device answers at once (see [`is_host_device`]).
pub fn read_now<const D: usize>(tensor: Tensor<D>) -> Option<Vec<f32>> {
    try_read_sync(tensor.into_data_async())?
        .ok()?
        .try_into_vec::<f32>()
        .ok()
}

// Eigen's rational approximation of tanh for f32 (`generic_fast_tanh_float`), which
// TensorFlow's CPU kernels use: a degree-13 odd numerator over a degree-6 even denominator on
// [−7.99, 7.99] (tanh is ±1 in f32 beyond), and x itself below 4e-4.
// The constants are Eigen's, digit for digit.
#[allow(clippy::excessive_precision)]
const TANH_CLAMP: f32 = 7.99881172180175781;
const TANH_TINY: f32 = 0.0004;
#[allow(clippy::excessive_precision)]
const TANH_ALPHA: [f32; 7] = [
    4.89352455891786e-03,
    6.37261928875436e-04,
    1.48572235717979e-05,
    5.12229709037114e-08,
    -8.60467152213735e-11,
    2.00018790482477e-13,
    -2.76076847742355e-16,
];
#[allow(clippy::excessive_precision)]
const TANH_BETA: [f32; 4] = [
    4.89352518554385e-03,
    2.26843463243900e-03,
    1.18534705686654e-04,
    1.19825839466702e-06,
];

/// tanh of one value, as TensorFlow's CPU computes it (within 1 ulp of the exact value for
/// most inputs, ≤ 2e-7 absolute everywhere).
#[inline]
pub fn tanh_f32(a: f32) -> f32 {
    let x = a.clamp(-TANH_CLAMP, TANH_CLAMP);
    let x2 = x * x;
    let mut p = TANH_ALPHA[6];
    for alpha in TANH_ALPHA[..6].iter().rev() {
        p = p * x2 + alpha;
    }
    let p = p * x;
    let q = ((TANH_BETA[3] * x2 + TANH_BETA[2]) * x2 + TANH_BETA[1]) * x2 + TANH_BETA[0];
    if a.abs() < TANH_TINY { a } else { p / q }
}

/// tanh with TensorFlow's gradient (`grad · (1 − y²)`), computed in one host pass on the CPU
/// backend and with Burn's `tanh` elsewhere. On the CPU the result is `t + (x − x̄)·d` with
/// `t = tanh(x)` and `d = 1 − t²` as constants and `x̄` the detached input: forward it is
/// exactly `t`, backward the gradient reaching `x` is exactly `grad · d`, and Burn's backward
/// never recomputes the function.
pub fn tanh(x: Tensor<2>) -> Tensor<2> {
    let device = x.device();
    if !is_host_device(&device) {
        return burn::tensor::activation::tanh(x);
    }
    let Some(values) = read_now(x.clone().inner()) else {
        return burn::tensor::activation::tanh(x);
    };
    let shape = x.dims();
    let mut outputs = values;
    let mut slopes = vec![0.0f32; outputs.len()];
    for (y, d) in outputs.iter_mut().zip(slopes.iter_mut()) {
        *y = tanh_f32(*y);
        *d = 1.0 - *y * *y;
    }
    let constant =
        |values: Vec<f32>| Tensor::<2>::from_data(TensorData::new(values, shape), &device);
    constant(outputs) + (x.clone() - x.detach()) * constant(slopes)
}

/// A constant of the autodiff graph made element by element from `x`'s value: the slope of a
/// piecewise-linear function, whose gradient is then `grad ·` this constant. On the CPU
/// backend `host` maps each value in one branch-free pass (Burn's CPU backend runs `sign`,
/// `clamp` and comparisons as scalar loops); elsewhere `ops` computes it on the inner tensor,
/// outside the autodiff graph, where the autodiff backend would split `clamp` into four
/// kernels even for a detached tensor.
pub fn slope_constant(
    x: &Tensor<2>,
    host: impl Fn(f32) -> f32,
    ops: impl FnOnce(Tensor<2>) -> Tensor<2>,
) -> Tensor<2> {
    let value = x.clone().inner();
    let device = value.device();
    if is_host_device(&device) {
        let shape = value.dims();
        if let Some(mut values) = read_now(value.clone()) {
            for v in values.iter_mut() {
                *v = host(*v);
            }
            return Tensor::from_inner(Tensor::from_data(TensorData::new(values, shape), &device));
        }
    }
    Tensor::from_inner(ops(value))
}
