//! A matrix product's value and gradients, for comparing `mnist_gan_web::matmul`'s kernel and
//! backward pass with Burn's `matmul` (natively on the CPU, in the browser on WebGPU).

use burn::tensor::{Device, Tensor, TensorData};
use nalgebra::DMatrix;

/// Which operands a product's gradient reaches (a frozen layer's kernel is a constant).
pub const TRACKED: [(bool, bool); 3] = [(true, true), (true, false), (false, true)];

/// Shapes `[m, k]`, `[k, n]` off the kernel's 8 × 4 tiles and 8 × 8 workgroups, one of the
/// step's (a batch of 256 through the discriminator's first layer: a depth of 784, split in 4
/// parts), and one whose right operand's gradient has a depth of 520 (split in 3 uneven parts).
pub const SHAPES: [(usize, usize, usize); 4] =
    [(37, 53, 29), (1, 5, 3), (256, 784, 128), (520, 40, 24)];

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
/// discriminator's main pass takes the real and the fake rows together), each shape once.
pub fn step_products() -> Vec<Product> {
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
    assert_eq!(products.len(), 30);
    let mut once = Vec::new();
    for product in products {
        if !once.contains(&product) {
            once.push(product);
        }
    }
    once
}

/// Sizes off the CPU micro-kernel's 8 × 4 tiles, in each transposition, and one of the step's
/// shapes: products whose gradients are checked too.
pub fn odd_products() -> Vec<Product> {
    let mut products = vec![(256, 784, 128, false, false)];
    for (m, k, n) in [(1, 1, 1), (9, 17, 5), (7, 3, 13), (33, 1, 4), (13, 300, 6)] {
        for (lhs_t, rhs_t) in [(false, false), (true, false), (false, true), (true, true)] {
            products.push((m, k, n, lhs_t, rhs_t));
        }
    }
    products
}

/// A row-major `rows × columns` matrix in double precision (nalgebra's, optimised in test
/// builds too, where a loop of ours would take tens of seconds for the step's products).
fn matrix(values: &[f32], rows: usize, columns: usize) -> DMatrix<f64> {
    DMatrix::from_row_iterator(rows, columns, values.iter().map(|v| *v as f64))
}

/// `matrix`'s entries, row-major, as `f32`.
fn entries(matrix: &DMatrix<f64>) -> Vec<f32> {
    matrix.transpose().iter().map(|v| *v as f32).collect()
}

/// `device`'s product and, with `gradients`, both operands' gradients (for a loss weighting each
/// output differently) against the same in double precision: for each of `products`, the
/// largest norm-wise relative difference ([`normwise_difference`]). (The step's own gradients
/// are among its products; the reference is slow in a test build, so the gradients of the
/// step's largest products need not be checked twice.)
pub async fn against_double_precision(
    device: &Device,
    products: &[Product],
    gradients: bool,
) -> Vec<(Product, f32)> {
    let device = device.clone().autodiff();
    let mut out = Vec::new();
    for &(m, k, n, lhs_t, rhs_t) in products {
        // The leaves as stored; the product reads them through transposed views where asked.
        let lhs_shape = if lhs_t { [k, m] } else { [m, k] };
        let rhs_shape = if rhs_t { [n, k] } else { [k, n] };
        let (lhs_stored, rhs_stored) = (values(m * k, 1), values(k * n, 2));
        let weights = values(m * n, 3);
        let leaf = |values: &[f32], shape: [usize; 2]| {
            Tensor::<2>::from_data(TensorData::new(values.to_vec(), shape), &device).require_grad()
        };
        let (lhs_leaf, rhs_leaf) = (leaf(&lhs_stored, lhs_shape), leaf(&rhs_stored, rhs_shape));
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

        // The same in double precision: the leaves as stored, then read as the product reads
        // them; d(lhs) = weights · rhsᵀ and d(rhs) = lhsᵀ · weights, each in its leaf's layout.
        let lhs_leaf = matrix(&lhs_stored, lhs_shape[0], lhs_shape[1]);
        let rhs_leaf = matrix(&rhs_stored, rhs_shape[0], rhs_shape[1]);
        let lhs = if lhs_t {
            lhs_leaf.transpose()
        } else {
            lhs_leaf
        };
        let rhs = if rhs_t {
            rhs_leaf.transpose()
        } else {
            rhs_leaf
        };
        let mut difference = normwise_difference(&output, &entries(&(&lhs * &rhs)));
        if gradients {
            let weights = matrix(&weights, m, n);
            let in_layout =
                |grad: DMatrix<f64>, t: bool| entries(&if t { grad.transpose() } else { grad });
            let lhs_expected = in_layout(&weights * rhs.transpose(), lhs_t);
            let rhs_expected = in_layout(lhs.transpose() * &weights, rhs_t);
            difference = difference
                .max(normwise_difference(&lhs_grad, &lhs_expected))
                .max(normwise_difference(&rhs_grad, &rhs_expected));
        }
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
