//! A matrix product's value and gradients, for comparing `mnist_gan_web::matmul`'s kernel and
//! backward pass with Burn's `matmul` (natively on the CPU, in the browser on WebGPU).

use burn::tensor::{Device, Tensor, TensorData};

/// Which operands a product's gradient reaches (a frozen layer's kernel is a constant).
pub const TRACKED: [(bool, bool); 3] = [(true, true), (true, false), (false, true)];

/// Shapes `[m, k]`, `[k, n]` off the kernel's 8 × 4 tiles and 8 × 8 workgroups, and one of the
/// step's (a batch of 256 through the discriminator's first layer).
pub const SHAPES: [(usize, usize, usize); 3] = [(37, 53, 29), (1, 5, 3), (256, 784, 128)];

/// Burn's own product, which the register-tiled one is compared with.
pub fn burns(lhs: Tensor<2>, rhs: Tensor<2>) -> Tensor<2> {
    lhs.matmul(rhs)
}

fn values(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.0 - 1.0)
        .collect()
}

async fn read(tensor: Tensor<2>) -> Vec<f32> {
    tensor
        .into_data_async()
        .await
        .expect("read back")
        .try_into_vec::<f32>()
        .expect("f32")
}

/// `product(lhs, rhs)` on an autodiff `device` for `[m, k] · [k, n]`, the left operand read
/// through a transposed view when `transposed`, and a loss weighting each output differently:
/// the product's values, then the gradients of the tracked operands (empty where untracked).
pub async fn product_and_gradients(
    device: &Device,
    product: fn(Tensor<2>, Tensor<2>) -> Tensor<2>,
    (m, k, n): (usize, usize, usize),
    transposed: bool,
    (track_lhs, track_rhs): (bool, bool),
) -> [Vec<f32>; 3] {
    let device = device.clone().autodiff();
    let matrix = |rows: usize, columns: usize, seed: usize, tracked: bool| {
        let tensor = Tensor::<2>::from_data(
            TensorData::new(values(rows * columns, seed), [rows, columns]),
            &device,
        );
        if tracked {
            tensor.require_grad()
        } else {
            tensor
        }
    };
    let lhs_leaf = if transposed {
        matrix(k, m, 1, track_lhs)
    } else {
        matrix(m, k, 1, track_lhs)
    };
    let lhs = if transposed {
        lhs_leaf.clone().transpose()
    } else {
        lhs_leaf.clone()
    };
    let rhs = matrix(k, n, 2, track_rhs);
    let output = product(lhs, rhs.clone());
    let weights = Tensor::<2>::from_data(TensorData::new(values(m * n, 3), [m, n]), &device);
    let grads = (output.clone() * weights).sum().backward();
    let gradient = |leaf: &Tensor<2>| leaf.grad(&grads);
    let (lhs_grad, rhs_grad) = (gradient(&lhs_leaf), gradient(&rhs));
    let optional = async |grad: Option<Tensor<2>>| match grad {
        Some(grad) => read(grad).await,
        None => Vec::new(),
    };
    [
        read(output).await,
        optional(lhs_grad).await,
        optional(rhs_grad).await,
    ]
}

/// The largest difference between two lists relative to the largest magnitude in `expected`,
/// or infinity when their lengths differ.
pub fn relative_difference(actual: &[f32], expected: &[f32]) -> f32 {
    if actual.len() != expected.len() {
        return f32::INFINITY;
    }
    let scale = expected.iter().fold(1e-12f32, |s, v| s.max(v.abs()));
    actual
        .iter()
        .zip(expected)
        .fold(0.0f32, |d, (a, e)| d.max((a - e).abs()))
        / scale
}
