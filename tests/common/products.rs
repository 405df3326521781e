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

/// A product `[m, k] · [k, n]` with each operand stored as it is or transposed (a weight
/// gradient reads `xᵀ`, an input gradient `wᵀ`): `(m, k, n, lhs transposed, rhs transposed)`.
pub type Product = (usize, usize, usize, bool, bool);

/// The tutorial's step at batch 256: its 30 products (as `bench/matmul.mjs` lists them; the
/// discriminator's main pass takes the real and the fake rows together), then sizes off the
/// CPU micro-kernel's 8 × 4 tiles and the transpositions the step does not use.
pub fn step_and_odd_products() -> Vec<Product> {
    const G: [usize; 5] = [100, 128, 128, 256, 784];
    const D: [usize; 5] = [784, 128, 128, 128, 1];
    let mut products = Vec::new();
    let layers = |units: &[usize; 5]| (0..4).map(|i| (units[i], units[i + 1])).collect::<Vec<_>>();
    let forward = |units, rows, out: &mut Vec<Product>| {
        for (i, o) in layers(units) {
            out.push((rows, i, o, false, false));
        }
    };
    let weight_gradients = |units, rows, out: &mut Vec<Product>| {
        for (i, o) in layers(units) {
            out.push((i, rows, o, true, false));
        }
    };
    let input_gradients = |units, rows, first, out: &mut Vec<Product>| {
        for (i, o) in layers(units).into_iter().skip(first) {
            out.push((rows, o, i, false, true));
        }
    };
    forward(&G, 256, &mut products);
    forward(&D, 512, &mut products);
    forward(&D, 256, &mut products);
    weight_gradients(&D, 512, &mut products);
    input_gradients(&D, 512, 1, &mut products);
    input_gradients(&D, 256, 0, &mut products);
    weight_gradients(&G, 256, &mut products);
    input_gradients(&G, 256, 1, &mut products);
    for (m, k, n) in [(1, 1, 1), (9, 17, 5), (7, 3, 13), (33, 1, 4), (13, 300, 6)] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            products.push((m, k, n, ta, tb));
        }
    }
    products
}

/// `Σ_t a[i][t] · b[t][j]` in double precision, for row-major `a` `[m, k]` and `b` `[k, n]`.
fn reference(a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize)) -> Vec<f32> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let sum: f64 = (0..k)
                .map(|t| a[i * k + t] as f64 * b[t * n + j] as f64)
                .sum();
            out[i * n + j] = sum as f32;
        }
    }
    out
}

fn transposed(values: &[f32], rows: usize, columns: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..columns {
            out[c * rows + r] = values[r * columns + c];
        }
    }
    out
}

/// `device`'s product and both operands' gradients (for a loss weighting each output
/// differently) against the same in double precision: for each of `products`, the largest
/// norm-wise relative difference of the three ([`normwise_difference`]).
pub async fn against_double_precision(
    device: &Device,
    products: &[Product],
) -> Vec<(Product, f32)> {
    let device = device.clone().autodiff();
    let mut out = Vec::new();
    for &(m, k, n, lhs_t, rhs_t) in products {
        // The leaves as stored; the product reads them through transposed views where asked.
        let lhs_stored = values(m * k, 1);
        let rhs_stored = values(k * n, 2);
        let weights = values(m * n, 3);
        let leaf = |values: &[f32], shape: [usize; 2]| {
            Tensor::<2>::from_data(TensorData::new(values.to_vec(), shape), &device).require_grad()
        };
        let lhs_leaf = leaf(&lhs_stored, if lhs_t { [k, m] } else { [m, k] });
        let rhs_leaf = leaf(&rhs_stored, if rhs_t { [n, k] } else { [k, n] });
        let view = |leaf: &Tensor<2>, t: bool| {
            if t {
                leaf.clone().transpose()
            } else {
                leaf.clone()
            }
        };
        let output = view(&lhs_leaf, lhs_t).matmul(view(&rhs_leaf, rhs_t));
        let weighting = Tensor::<2>::from_data(TensorData::new(weights.clone(), [m, n]), &device);
        let grads = (output.clone() * weighting).sum().backward();
        let lhs_grad = read(lhs_leaf.grad(&grads).expect("a left gradient")).await;
        let rhs_grad = read(rhs_leaf.grad(&grads).expect("a right gradient")).await;
        let output = read(output).await;

        let lhs = if lhs_t {
            transposed(&lhs_stored, k, m)
        } else {
            lhs_stored
        };
        let rhs = if rhs_t {
            transposed(&rhs_stored, n, k)
        } else {
            rhs_stored
        };
        // d(lhs) = weights · rhsᵀ, d(rhs) = lhsᵀ · weights, each in its leaf's layout.
        let lhs_expected = reference(&weights, &transposed(&rhs, k, n), (m, n, k));
        let rhs_expected = reference(&transposed(&lhs, m, k), &weights, (k, m, n));
        let lhs_expected = if lhs_t {
            transposed(&lhs_expected, m, k)
        } else {
            lhs_expected
        };
        let rhs_expected = if rhs_t {
            transposed(&rhs_expected, k, n)
        } else {
            rhs_expected
        };
        let difference = normwise_difference(&output, &reference(&lhs, &rhs, (m, k, n)))
            .max(normwise_difference(&lhs_grad, &lhs_expected))
            .max(normwise_difference(&rhs_grad, &rhs_expected));
        out.push(((m, k, n, lhs_t, rhs_t), difference));
    }
    out
}

/// `‖actual − expected‖ / ‖expected‖` (Euclidean norms, in double precision), or infinity when
/// their lengths differ: a product's error as a whole, where one entry's error relative to the
/// largest entry grows with the depth of its sum (1.1e-6 at a depth of 784 natively).
pub fn normwise_difference(actual: &[f32], expected: &[f32]) -> f32 {
    if actual.len() != expected.len() {
        return f32::INFINITY;
    }
    let norm = |values: &mut dyn Iterator<Item = f64>| values.map(|v| v * v).sum::<f64>().sqrt();
    let difference = norm(&mut actual.iter().zip(expected).map(|(a, e)| (a - e) as f64));
    (difference / norm(&mut expected.iter().map(|e| *e as f64)).max(1e-30)) as f32
}
