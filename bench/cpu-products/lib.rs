//! gemm's `f32` product and the `simd128` arithmetic peak, exported to `bench/cpu-products.mjs`
//! (raw exports, no wasm-bindgen: the page instantiates the module itself).
#![allow(clippy::missing_safety_doc)]

use core::arch::wasm32::*;
use std::alloc::{Layout, alloc};

unsafe extern "C" {
    /// `performance.now()`.
    fn now() -> f64;
}

/// `len` floats, 64-byte aligned, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn floats(len: usize) -> *mut f32 {
    unsafe { alloc(Layout::from_size_align(len * 4, 64).expect("a layout")) as *mut f32 }
}

/// `dst[m × n] = lhs[m × k] · rhs[k × n]`, row-major; `lhs` stored `[k, m]` when `lhs_t`, `rhs`
/// stored `[n, k]` when `rhs_t` (as the backward pass reads them), on one thread as the
/// CPU worker runs it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn product(
    dst: *mut f32,
    lhs: *const f32,
    rhs: *const f32,
    m: usize,
    k: usize,
    n: usize,
    lhs_t: bool,
    rhs_t: bool,
) {
    let (lhs_cs, lhs_rs) = if lhs_t { (m as isize, 1) } else { (1, k as isize) };
    let (rhs_cs, rhs_rs) = if rhs_t { (k as isize, 1) } else { (1, n as isize) };
    unsafe {
        gemm::gemm(
            m, n, k, dst, 1, n as isize, false, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs, 0.0,
            1.0, false, false, false, gemm::Parallelism::None,
        );
    }
}

/// The `simd128` multiply-add peak, in G multiply-adds per second: 6 chains of multiplies and 6
/// of adds side by side (latency 3, two pipes each on the machines measured), a multiply and an
/// add counting as one multiply-add of 4 lanes.
#[unsafe(no_mangle)]
pub extern "C" fn peak(iterations: u32) -> f64 {
    let start = unsafe { now() };
    let x = f32x4_splat(core::hint::black_box(1e-7));
    let y = f32x4_splat(core::hint::black_box(1.0));
    let mut sums = [f32x4_splat(0.5); 6];
    let mut products = [f32x4_splat(0.5); 6];
    for _ in 0..iterations {
        for i in 0..6 {
            sums[i] = f32x4_add(sums[i], x);
            products[i] = f32x4_mul(products[i], y);
        }
    }
    let ms = unsafe { now() } - start;
    core::hint::black_box((sums, products));
    iterations as f64 * 6.0 * 4.0 / ms / 1e6
}
