//! Matrix products for Chromium's software WebGPU adapter (SwiftShader), through a
//! register-tiled kernel.
//!
//! On SwiftShader the training step is its matrix products: CubeCL's fallback for a device
//! without tensor cores (`SimpleUnit`, workgroup-memory tiles between barriers) took 6.5 of a
//! 6.5 s step, where a kernel whose invocations each keep an 8 × 4 block of the output in
//! registers and read their operands straight from the buffers ran the step's 30 products in
//! 0.69 s (`scripts/bench --matmul`, BENCHMARKS.md). That kernel is here, as a Burn backend
//! extension with its own backward pass, and [`matmul`] uses it on the devices registered with
//! [`use_register_tiles`] (the worker registers its WebGPU device when the adapter is
//! SwiftShader); everywhere else it is Burn's `matmul`, which picks its own kernels. In the
//! whole step it is 8.7× faster than CubeCL's on SwiftShader, but 1.5× slower on llvmpipe
//! (natively, `train --device wgpu-register-tiles`); on a hardware GPU it is unmeasured.

use std::sync::Mutex;

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, binary};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::tensor::{Device, Tensor};

/// The devices whose products go through the register-tiled kernel (their non-autodiff form).
static REGISTER_TILED: Mutex<Vec<Device>> = Mutex::new(Vec::new());

/// Sends `device`'s matrix products (autodiff or not) through the register-tiled kernel.
pub fn use_register_tiles(device: &Device) {
    let device = device.clone().inner();
    let mut devices = REGISTER_TILED.lock().unwrap_or_else(|e| e.into_inner());
    if !devices.contains(&device) {
        devices.push(device);
    }
}

/// Whether [`use_register_tiles`] was called for `device`.
pub fn uses_register_tiles(device: &Device) -> bool {
    let device = device.clone().inner();
    REGISTER_TILED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&device)
}

/// `lhs · rhs` for `[m, k] · [k, n]`: the register-tiled kernel on a registered device,
/// Burn's `matmul` elsewhere.
pub fn matmul(lhs: Tensor<2>, rhs: Tensor<2>) -> Tensor<2> {
    if uses_register_tiles(&lhs.device()) {
        register_tiled(lhs, rhs)
    } else {
        lhs.matmul(rhs)
    }
}

/// `lhs · rhs` through [`RegisterTiledMatmul`] whatever the device (on the CPU it is Burn's
/// product, with this module's backward pass).
pub fn register_tiled(lhs: Tensor<2>, rhs: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as RegisterTiledMatmul>::register_tiled_matmul(
        lhs.into_dispatch(),
        rhs.into_dispatch(),
    ))
}

/// A 2-D matrix product computed by the register-tiled kernel on a CubeCL device.
#[backend_extension(Cube: cfg(any(feature = "wgpu", target_arch = "wasm32")), Flex, Autodiff)]
pub trait RegisterTiledMatmul: Backend {
    /// `lhs · rhs` for `[m, k] · [k, n]`, any strides.
    fn register_tiled_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The CPU has no such kernel: its product is Burn's (the CPU path never registers its device;
/// this keeps the extension defined on every backend of the build, and the backward pass
/// testable natively).
impl RegisterTiledMatmul for Flex {
    fn register_tiled_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_matmul(lhs, rhs)
    }
}

#[cfg(any(feature = "wgpu", target_arch = "wasm32"))]
impl RegisterTiledMatmul for burn::backend::Cube {
    fn register_tiled_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        kernel::launch(lhs, rhs)
    }
}

/// Burn's own `float_matmul` backward (burn-autodiff 0.22.1), with its products through this
/// extension: `∂lhs = grad · rhsᵀ`, `∂rhs = lhsᵀ · grad` (the transposes are strides, which the
/// kernel reads as they are). Two-dimensional operands only, so there is no broadcast to undo.
impl<B: Backend + RegisterTiledMatmul, C: CheckpointStrategy> RegisterTiledMatmul
    for Autodiff<B, C>
{
    fn register_tiled_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Product;

        impl<B: Backend + RegisterTiledMatmul> Backward<B, 2> for Product {
            type State = (Option<NodeId>, Option<NodeId>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
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
                        Some(rhs) => B::register_tiled_matmul(grad, B::float_transpose(rhs)),
                        None => unreachable!("the right operand is kept when the left is tracked"),
                    },
                    |grad| match lhs {
                        Some(lhs) => B::register_tiled_matmul(B::float_transpose(lhs), grad),
                        None => unreachable!("the left operand is kept when the right is tracked"),
                    },
                );
            }
        }

        let lhs_tracked = lhs.is_tracked();
        let rhs_tracked = rhs.is_tracked();
        match Product
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
                    B::register_tiled_matmul(lhs.into_primitive(), rhs.into_primitive()),
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(B::register_tiled_matmul(
                lhs.into_primitive(),
                rhs.into_primitive(),
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
    /// registers over `k` from operands read through their strides. Rows and columns past the
    /// edge read the last one (clamped, so no branch in the loop) and are not written.
    #[cube(launch_unchecked)]
    fn register_tiled(lhs: &Tensor<f32>, rhs: &Tensor<f32>, out: &mut Tensor<f32>) {
        let m = out.shape(0);
        let n = out.shape(1);
        let depth = lhs.shape(1);
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
        for k in 0..depth {
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

        #[unroll]
        for i in 0..ROWS {
            #[unroll]
            for j in 0..COLS {
                let (row, col) = (row0 + i, col0 + j);
                if row < m && col < n {
                    out[row * n + col] = acc[i * COLS + j];
                }
            }
        }
    }

    /// `lhs · rhs` on the kernel for two f32 matrices; Burn's product for anything else.
    pub(super) fn launch(lhs: CubeTensor, rhs: CubeTensor) -> CubeTensor {
        let shapes = (lhs.shape(), rhs.shape());
        let (&[m, depth], &[rhs_depth, n]) = (shapes.0.as_slice(), shapes.1.as_slice()) else {
            return burn::backend::Cube::float_matmul(lhs, rhs);
        };
        if lhs.dtype != DType::F32 || rhs.dtype != DType::F32 || depth != rhs_depth || m * n == 0 {
            return burn::backend::Cube::float_matmul(lhs, rhs);
        }
        let out = empty_device_dtype(
            lhs.client.clone(),
            lhs.device.clone(),
            Shape::new([m, n]),
            DType::F32,
        );
        let groups = |len: usize, per_invocation: usize| {
            len.div_ceil(per_invocation * GROUP as usize) as u32
        };
        let count = CubeCount::Static(groups(n, COLS), groups(m, ROWS), 1);
        let client = out.client.clone();
        // SAFETY: every read is clamped inside its matrix (rows and columns at most `m - 1`,
        // `n - 1`, the depth below `k`) and every write is guarded by `row < m && col < n`.
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
        out
    }
}
