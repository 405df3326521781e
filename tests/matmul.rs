//! The register-tiled product's backward pass (`mnist_gan_web::matmul`), natively: on the CPU
//! its products are Burn's, so its values and gradients must be Burn's exactly. Its WebGPU
//! kernel is checked in the browser (`tests/browser.rs`).
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

mod common;

use common::device;
use common::products::{SHAPES, TRACKED, burns, product_and_gradients};
use mnist_gan_web::matmul::{self, Products};

#[test]
fn the_extensions_gradients_are_burns_for_each_tracked_operand() {
    for product in [matmul::register_tiled, matmul::split_depth] {
        for shape in SHAPES {
            for transposed in [false, true] {
                for tracked in TRACKED {
                    let run = |product| {
                        pollster::block_on(product_and_gradients(
                            &device(),
                            product,
                            shape,
                            transposed,
                            tracked,
                        ))
                    };
                    let [values, lhs, rhs] = run(product);
                    let expected = run(burns);
                    let case = format!("{shape:?}, transposed {transposed}, tracked {tracked:?}");
                    assert_eq!(values, expected[0], "values, {case}");
                    assert_eq!(lhs, expected[1], "left gradient, {case}");
                    assert_eq!(rhs, expected[2], "right gradient, {case}");
                    assert_eq!(lhs.is_empty(), !tracked.0, "{case}");
                    assert_eq!(rhs.is_empty(), !tracked.1, "{case}");
                }
            }
        }
    }
}

#[test]
fn a_devices_products_are_chosen_with_and_without_autodiff() {
    // The only native device is the CPU, which the app never names: this test's binary has no
    // other test that a choice could change.
    let cpu = device();
    assert_eq!(matmul::products_on(&cpu), Products::Burns);
    for products in Products::ALL {
        matmul::use_products(&cpu.clone().autodiff(), products);
        assert_eq!(matmul::products_on(&cpu), products);
        assert_eq!(matmul::products_on(&cpu.clone().autodiff()), products);
        let [values, lhs, rhs] = pollster::block_on(product_and_gradients(
            &cpu,
            matmul::matmul,
            SHAPES[2],
            false,
            TRACKED[0],
        ));
        let expected = pollster::block_on(product_and_gradients(
            &cpu, burns, SHAPES[2], false, TRACKED[0],
        ));
        assert_eq!([values, lhs, rhs], expected, "{products:?}");
    }
    matmul::use_products(&cpu, Products::Burns);
    assert_eq!(
        matmul::products_on(&cpu.clone().autodiff()),
        Products::Burns
    );
}

/// The CPU backend's products (gemm) against double precision: the step's (each shape once),
/// and sizes off the micro-kernel's tiles in each transposition with both gradients. In the
/// browser the same check runs on the patched wasm kernel (`tests/browser.rs`); here, on
/// gemm's published x86 kernels.
#[test]
fn cpu_products_and_gradients_are_within_a_millionth_of_double_precision() {
    use common::products::{against_double_precision, odd_products, step_products};
    let step = step_products();
    assert!((18..30).contains(&step.len()), "{}", step.len());
    let results = pollster::block_on(async {
        let mut results = against_double_precision(&device(), &step, false).await;
        results.extend(against_double_precision(&device(), &odd_products(), true).await);
        results
    });
    assert_eq!(results.len(), step.len() + 21);
    for (product, difference) in &results {
        assert!(*difference <= 1e-6, "{product:?}: {difference:e}");
    }
    let worst = results.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    println!("the largest difference: {worst:?}");
}
