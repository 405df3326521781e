//! Matrix products on WebGPU through a register-tiled kernel, where it is the faster: always on
//! Chromium's software adapter (SwiftShader), on a hardware one where the page's calibration
//! measured it so.
//!
//! On SwiftShader the training step is its matrix products: CubeCL's fallback for a device
//! without tensor cores (`SimpleUnit`, workgroup-memory tiles between barriers) took 6.5 of a
//! 6.5 s step, where a kernel whose invocations each keep an 8 × 4 block of the output in
//! registers and read their operands straight from the buffers ran the step's 30 products in
//! 0.69 s (`scripts/bench --matmul`, BENCHMARKS.md). That kernel is here, as a Burn backend
//! extension with its own backward pass, and [`matmul`] uses it, or its form with a deep
//! product's depth split between workgroups, on the devices [`use_products`] named (the worker
//! names its WebGPU device when the adapter is SwiftShader, or with the kernel its calibration
//! chose); everywhere else it is Burn's `matmul`, which picks its own kernels. In the whole step
//! it is 8.7× faster than CubeCL's on SwiftShader, but 1.5× slower on llvmpipe (natively, `train
//! --device wgpu-register-tiles`); on a hardware GPU it is unmeasured here, which is why the
//! page measures it there.

use std::sync::Mutex;

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, binary};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Which kernel computes a device's matrix products: the page's calibration times each on a
/// hardware adapter and keeps the fastest (`crate::calibration`); SwiftShader takes
/// [`Products::RegisterTiled`] without measuring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Products {
    /// Burn's `matmul`: CubeCL's choice of kernel on a GPU (`SimpleUnit` without cooperative
    /// matrices, 128 × 128 outputs per workgroup), gemm on the CPU.
    #[default]
    Burns,
    /// The register-tiled kernel: 8 × 4 outputs per invocation, 64 × 32 per workgroup.
    RegisterTiled,
    /// The register-tiled kernel with the depth of deep products (512 and more: the
    /// discriminator's 784 inputs, a weight gradient over 512 rows) split between workgroups in
    /// parts of at most [`DEPTH_PART`], their partial products then summed: a product of few
    /// output tiles keeps more of a large GPU's cores busy.
    SplitDepth,
}

/// The depth from which [`Products::SplitDepth`] splits a product.
pub const SPLIT_FROM: usize = 512;
/// The largest part of a split depth.
pub const DEPTH_PART: usize = 256;

impl Products {
    /// Every kernel, in the order a calibration times them.
    pub const ALL: [Products; 3] = [
        Products::Burns,
        Products::RegisterTiled,
        Products::SplitDepth,
    ];

    /// Its name on the page.
    pub fn name(self) -> &'static str {
        match self {
            Products::Burns => "CubeCL's product",
            Products::RegisterTiled => "register tiles",
            Products::SplitDepth => "register tiles, split depth",
        }
    }
}

/// The devices whose products do not go through Burn's `matmul` (their non-autodiff form).
static CHOSEN: Mutex<Vec<(Device, Products)>> = Mutex::new(Vec::new());

/// Sends `device`'s matrix products (autodiff or not) through `products` from now on.
pub fn use_products(device: &Device, products: Products) {
    let device = device.clone().inner();
    let mut chosen = CHOSEN.lock().unwrap_or_else(|e| e.into_inner());
    chosen.retain(|(d, _)| *d != device);
    if products != Products::Burns {
        chosen.push((device, products));
    }
}

/// The kernel `device`'s products go through ([`Products::Burns`] unless [`use_products`]
/// said otherwise).
pub fn products_on(device: &Device) -> Products {
    let device = device.clone().inner();
    CHOSEN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(d, _)| *d == device)
        .map_or(Products::Burns, |(_, products)| *products)
}

/// `lhs · rhs` for `[m, k] · [k, n]` through the kernel chosen for the device
/// ([`products_on`]).
pub fn matmul(lhs: Tensor<2>, rhs: Tensor<2>) -> Tensor<2> {
    match products_on(&lhs.device()) {
        Products::Burns => lhs.matmul(rhs),
        Products::RegisterTiled => register_tiled(lhs, rhs),
        Products::SplitDepth => split_depth(lhs, rhs),
    }
}

/// `lhs · rhs` through [`RegisterTiledMatmul`] whatever the device (on the CPU it is Burn's
/// product, with this module's backward pass).
pub fn register_tiled(lhs: Tensor<2>, rhs: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as RegisterTiledMatmul>::register_tiled_matmul(
        lhs.into_dispatch(),
        rhs.into_dispatch(),
        false,
    ))
}

/// [`register_tiled`] with a deep product's depth split ([`Products::SplitDepth`]).
pub fn split_depth(lhs: Tensor<2>, rhs: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as RegisterTiledMatmul>::register_tiled_matmul(
        lhs.into_dispatch(),
        rhs.into_dispatch(),
        true,
    ))
}

/// A 2-D matrix product computed by the register-tiled kernel on a CubeCL device.
#[backend_extension(Cube: cfg(any(feature = "wgpu", target_arch = "wasm32")), Flex, Autodiff)]
pub trait RegisterTiledMatmul: Backend {
    /// `lhs · rhs` for `[m, k] · [k, n]`, any strides; a depth of [`SPLIT_FROM`] or more split
    /// in parts when `split_depth`.
    fn register_tiled_matmul(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        split_depth: bool,
    ) -> FloatTensor<Self>;
}

/// The CPU has no such kernel: its product is Burn's (the CPU path never registers its device;
/// this keeps the extension defined on every backend of the build, and the backward pass
/// testable natively).
impl RegisterTiledMatmul for Flex {
    fn register_tiled_matmul(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        _split_depth: bool,
    ) -> FloatTensor<Self> {
        Self::float_matmul(lhs, rhs)
    }
}

#[cfg(any(feature = "wgpu", target_arch = "wasm32"))]
impl RegisterTiledMatmul for burn::backend::Cube {
    fn register_tiled_matmul(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        split_depth: bool,
    ) -> FloatTensor<Self> {
        kernel::launch(lhs, rhs, split_depth)
    }
}

/// Burn's own `float_matmul` backward (burn-autodiff 0.22.1), with its products through this
/// extension: `∂lhs = grad · rhsᵀ`, `∂rhs = lhsᵀ · grad` (the transposes are strides, which the
/// kernel reads as they are). Two-dimensional operands only, so there is no broadcast to undo.
impl<B: Backend + RegisterTiledMatmul, C: CheckpointStrategy> RegisterTiledMatmul
    for Autodiff<B, C>
{
    fn register_tiled_matmul(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        split_depth: bool,
    ) -> FloatTensor<Self> {
        /// Whether the gradients' products split their depth too.
        #[derive(Debug)]
        struct Product(bool);

        impl<B: Backend + RegisterTiledMatmul> Backward<B, 2> for Product {
            type State = (Option<NodeId>, Option<NodeId>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let split = self.0;
                let (lhs, rhs) = ops.state;
                let lhs = lhs
                    .map(|lhs| checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(lhs));
                let rhs = rhs
                    .map(|rhs| checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(rhs));
                binary::<B, _, _>(
                    ops.parents,
                    ops.node,
                    grads,
                    |grad| match rhs {
                        Some(rhs) => B::register_tiled_matmul(grad, B::float_transpose(rhs), split),
                        None => unreachable!("the right operand is kept when the left is tracked"),
                    },
                    |grad| match lhs {
                        Some(lhs) => B::register_tiled_matmul(B::float_transpose(lhs), grad, split),
                        None => unreachable!("the left operand is kept when the right is tracked"),
                    },
                );
            }
        }

        let lhs_tracked = lhs.is_tracked();
        let rhs_tracked = rhs.is_tracked();
        match Product(split_depth)
            .prepare::<C>([lhs.node(), rhs.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                // Each operand is needed only for the other's gradient.
                let lhs_state = rhs_tracked.then(|| prep.checkpoint(&lhs));
                let rhs_state = lhs_tracked.then(|| prep.checkpoint(&rhs));
                prep.finish(
                    (lhs_state, rhs_state),
                    B::register_tiled_matmul(
                        lhs.into_primitive(),
                        rhs.into_primitive(),
                        split_depth,
                    ),
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(B::register_tiled_matmul(
                lhs.into_primitive(),
                rhs.into_primitive(),
                split_depth,
            )),
        }
    }
}

#[cfg(any(feature = "wgpu", target_arch = "wasm32"))]
mod kernel {
    use burn::backend::ops::FloatTensorOps;
    use burn::backend::{DType, Shape, TensorMetadata};
    use burn_cubecl::cubecl;
    use burn_cubecl::cubecl::prelude::*;
    use burn_cubecl::ops::numeric::empty_device_dtype;
    use burn_cubecl::tensor::CubeTensor;

    /// Output rows each invocation computes.
    const ROWS: usize = 8;
    /// Output columns each invocation computes.
    const COLS: usize = 4;
    /// Workgroup size, 8 × 8: the fastest of the shapes measured (BENCHMARKS.md).
    const GROUP: u32 = 8;

    /// One invocation: the `ROWS × COLS` block of `out` at its position, accumulated in
    /// registers over its part of the depth (the workgroup's z of `CUBE_COUNT_Z` parts) from
    /// operands read through their strides, into its part's `[m, n]` slice of `out`
    /// (`[parts, m, n]`). Rows and columns past the edge read the last one (clamped, so no
    /// branch in the loop) and are not written.
    #[cube(launch_unchecked)]
    fn register_tiled(lhs: &Tensor<f32>, rhs: &Tensor<f32>, out: &mut Tensor<f32>) {
        let m = out.shape(1);
        let n = out.shape(2);
        let depth = lhs.shape(1);
        let parts = CUBE_COUNT_Z as usize;
        let part = CUBE_POS_Z as usize;
        #[allow(clippy::manual_div_ceil)] // a kernel's integers have no `div_ceil` in CubeCL
        let part_len = (depth + parts - 1) / parts;
        let first = part * part_len;
        let end = clamp_max(first + part_len, depth);
        let row0 = ABSOLUTE_POS_Y as usize * ROWS;
        let col0 = ABSOLUTE_POS_X as usize * COLS;
        let (lhs_row, lhs_col) = (lhs.stride(0), lhs.stride(1));
        let (rhs_row, rhs_col) = (rhs.stride(0), rhs.stride(1));

        let mut lhs_offsets = Array::<usize>::new(ROWS);
        #[unroll]
        for i in 0..ROWS {
            lhs_offsets[i] = clamp_max(row0 + i, m - 1) * lhs_row;
        }
        let mut rhs_offsets = Array::<usize>::new(COLS);
        #[unroll]
        for j in 0..COLS {
            rhs_offsets[j] = clamp_max(col0 + j, n - 1) * rhs_col;
        }
        let mut acc = Array::<f32>::new(ROWS * COLS);
        #[unroll]
        for i in 0..ROWS * COLS {
            acc[i] = 0.0;
        }

        let mut a = Array::<f32>::new(ROWS);
        let mut b = Array::<f32>::new(COLS);
        for k in first..end {
            #[unroll]
            for i in 0..ROWS {
                a[i] = lhs[lhs_offsets[i] + k * lhs_col];
            }
            #[unroll]
            for j in 0..COLS {
                b[j] = rhs[k * rhs_row + rhs_offsets[j]];
            }
            #[unroll]
            for i in 0..ROWS {
                #[unroll]
                for j in 0..COLS {
                    acc[i * COLS + j] = fma(a[i], b[j], acc[i * COLS + j]);
                }
            }
        }

        let slice = part * m * n;
        #[unroll]
        for i in 0..ROWS {
            #[unroll]
            for j in 0..COLS {
                let (row, col) = (row0 + i, col0 + j);
                if row < m && col < n {
                    out[slice + row * n + col] = acc[i * COLS + j];
                }
            }
        }
    }

    /// `lhs · rhs` on the kernel for two f32 matrices, a depth of [`super::SPLIT_FROM`] or
    /// more in parts of at most [`super::DEPTH_PART`] when `split_depth` (the parts' products
    /// summed by Burn); Burn's product for anything else.
    pub(super) fn launch(lhs: CubeTensor, rhs: CubeTensor, split_depth: bool) -> CubeTensor {
        let shapes = (lhs.shape(), rhs.shape());
        let (&[m, depth], &[rhs_depth, n]) = (shapes.0.as_slice(), shapes.1.as_slice()) else {
            return burn::backend::Cube::float_matmul(lhs, rhs);
        };
        if lhs.dtype != DType::F32 || rhs.dtype != DType::F32 || depth != rhs_depth || m * n == 0 {
            return burn::backend::Cube::float_matmul(lhs, rhs);
        }
        let parts = if split_depth && depth >= super::SPLIT_FROM {
            depth.div_ceil(super::DEPTH_PART)
        } else {
            1
        };
        let out = empty_device_dtype(
            lhs.client.clone(),
            lhs.device.clone(),
            Shape::new([parts, m, n]),
            DType::F32,
        );
        let groups = |len: usize, per_invocation: usize| {
            len.div_ceil(per_invocation * GROUP as usize) as u32
        };
        let count = CubeCount::Static(groups(n, COLS), groups(m, ROWS), parts as u32);
        let client = out.client.clone();
        // SAFETY: every read is clamped inside its matrix (rows and columns at most `m - 1`,
        // `n - 1`, the depth below `depth`), every write is guarded by `row < m && col < n`
        // and lands in its part's slice (`part < parts`).
        unsafe {
            register_tiled::launch_unchecked(
                &client,
                count,
                CubeDim::new_2d(GROUP, GROUP),
                lhs.into_tensor_arg(),
                rhs.into_tensor_arg(),
                out.clone().into_tensor_arg(),
            );
        }
        let out = if parts > 1 {
            burn::backend::Cube::float_sum_dim(out, 0)
        } else {
            out
        };
        burn::backend::Cube::float_reshape(out, Shape::new([m, n]))
    }
}
