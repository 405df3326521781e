//! The wasm `simd128` micro-kernel of this patched `gemm-f32` (written for mnist-gan-web, issue
//! 31; everything else in the crate is gemm-f32 0.19.0 as published).
//!
//! gemm keeps a tile of the output in vector registers while it walks the depth: each step loads
//! the tile's column of the packed left operand (`MR` vectors of 4 rows), broadcasts each of the
//! `NR` values of the packed right operand's row, and adds their products to the `MR × NR`
//! accumulators. Published gemm-f32 uses 3 × 4 tiles with the depth unrolled by 2 on wasm: 12
//! accumulators, and two steps' operands (6 vectors, 8 broadcasts) loaded ahead of the
//! arithmetic, where V8 on x86-64 allocates at most 15 of the 16 vector registers to a function
//! (one is its scratch): node 20's V8 spills its accumulators to the stack in the innermost
//! loop (`--print-wasm-code`; Chrome's release build prints no code). Here the tile is 2 × 4
//! (8 accumulators, 2 column vectors, 4 broadcasts: 14 registers) and the depth is not
//! unrolled: measured in headless Chromium 156 on an AMD EPYC (Zen 4), the step's 30 products
//! at batch 256 ran at 19.6–20.5 G multiply-adds/s against 14.3–16.6 for the published kernel
//! (68–72 % of the `simd128` peak); 3 × 3, 3 × 4, 2 × 5, 2 × 6, 4 × 3, 1 × 8 and unrolled forms
//! ran at 40–52 % (docs/benchmarks/history.md, "A micro-kernel that fits V8's registers"):
//! LLVM's scheduler loads all of a step's broadcasts first, which leaves more values live than V8
//! has registers. 2 × 5 in source order (`-C llvm-args=-pre-RA-sched=source`) reached 75–77 %,
//! but that flag covers the whole module (+6.4 KB gzipped): history, "The noise per row".

/// The kernels for `f32`, in the layout gemm-common's `__inject_mod!` reads.
pub mod f32 {
    use core::arch::wasm32::*;
    use gemm_common::microkernel::{HMicroKernelFn, MicroKernelFn};

    /// The element type.
    pub type T = f32;

    /// Vectors of 4 rows in a tile's column.
    pub const MR_DIV_N: usize = 2;
    /// Columns in a tile.
    pub const NR: usize = 4;

    /// `UKR[i][j]` computes a tile of `4 (i + 1)` rows (at most) and `j + 1` columns: the
    /// full tile inside the output, the smaller ones at its edges.
    pub const UKR: [[MicroKernelFn<T>; NR]; MR_DIV_N] = [
        [tile::<1, 1>, tile::<1, 2>, tile::<1, 3>, tile::<1, 4>],
        [tile::<2, 1>, tile::<2, 2>, tile::<2, 3>, tile::<2, 4>],
    ];

    /// No horizontal kernels (as in published gemm-f32 on wasm).
    pub const H_M: usize = 0;
    /// No horizontal kernels.
    pub const H_N: usize = 0;
    /// No horizontal kernels.
    pub const H_UKR: [[HMicroKernelFn<T>; H_N]; H_M] = [];

    /// One step of the depth: `acc[j][i] += lhs[i] · rhs[j]` for the column of `MR` vectors at
    /// `lhs` and the `NR` values of the right operand's row at `rhs` (`rhs_cs` apart).
    #[inline(always)]
    unsafe fn step<const MR: usize, const NR: usize>(
        acc: &mut [[v128; MR]; NR],
        lhs: *const T,
        rhs: *const T,
        rhs_cs: isize,
    ) {
        let mut column = [f32x4_splat(0.0); MR];
        for (i, vector) in column.iter_mut().enumerate() {
            *vector = v128_load(lhs.add(4 * i) as *const v128);
        }
        for (j, acc) in acc.iter_mut().enumerate() {
            let value = v128_load32_splat(rhs.offset(j as isize * rhs_cs) as *const u32);
            for (acc, vector) in acc.iter_mut().zip(column) {
                *acc = f32x4_add(*acc, f32x4_mul(vector, value));
            }
        }
    }

    /// gemm's micro-kernel contract (`MicroKernelFn`): `dst[m × n] = alpha · dst + beta ·
    /// lhs · rhs` over depth `k`, `dst` read only when `alpha_status` is 1 (`alpha` = 1) or 2
    /// (any `alpha`); `lhs` is packed, or its rows are contiguous with `m` a multiple of 4
    /// (`lhs_cs` between the depth's columns either way), `rhs` packed or not (`rhs_rs` between
    /// rows, `rhs_cs` between columns). Real numbers: the conjugation
    /// flags and the prefetch pointer are unused.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "simd128")]
    unsafe fn tile<const MR: usize, const NR: usize>(
        m: usize,
        n: usize,
        k: usize,
        dst: *mut T,
        mut lhs: *const T,
        mut rhs: *const T,
        dst_cs: isize,
        dst_rs: isize,
        lhs_cs: isize,
        rhs_rs: isize,
        rhs_cs: isize,
        alpha: T,
        beta: T,
        alpha_status: u8,
        _conj_dst: bool,
        _conj_lhs: bool,
        _conj_rhs: bool,
        _next_lhs: *const T,
    ) {
        let mut acc = [[f32x4_splat(0.0); MR]; NR];
        for _ in 0..k {
            step::<MR, NR>(&mut acc, lhs, rhs, rhs_cs);
            lhs = lhs.offset(lhs_cs);
            rhs = rhs.offset(rhs_rs);
        }
        if m == 4 * MR && n == NR && dst_rs == 1 {
            // The whole tile, each column contiguous: stored a vector at a time.
            let (alpha, beta) = (f32x4_splat(alpha), f32x4_splat(beta));
            for (j, acc) in acc.iter().enumerate() {
                for (i, acc) in acc.iter().enumerate() {
                    let dst = dst.offset(4 * i as isize + j as isize * dst_cs) as *mut v128;
                    let value = f32x4_mul(beta, *acc);
                    let value = match alpha_status {
                        0 => value,
                        1 => f32x4_add(value, v128_load(dst)),
                        _ => f32x4_add(value, f32x4_mul(alpha, v128_load(dst))),
                    };
                    v128_store(dst, value);
                }
            }
        } else {
            // An edge tile, or a strided output: element by element.
            let acc: [[[T; 4]; MR]; NR] = core::mem::transmute_copy(&acc);
            for (j, acc) in acc.iter().enumerate().take(n) {
                for i in 0..m {
                    let dst = dst.offset(j as isize * dst_cs + i as isize * dst_rs);
                    let value = beta * acc[i / 4][i % 4];
                    *dst = match alpha_status {
                        0 => value,
                        1 => value + *dst,
                        _ => value + alpha * *dst,
                    };
                }
            }
        }
    }
}
