//! Model shapes, parameter counts, initialisation and output range.
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

mod common;

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use common::device;
use mnist_gan_web::{Trainer, TrainingConfig};

#[test]
fn parameter_counts_match_the_reference() {
    let trainer = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    assert_eq!(trainer.gan.generator.num_params(), 274_052);
    assert_eq!(trainer.gan.discriminator.num_params(), 133_633);
}

#[test]
fn kernels_are_glorot_uniform_and_biases_zero() {
    let trainer = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    for layer in &trainer.gan.generator.layers {
        let [fan_in, fan_out] = layer.kernel.dims();
        let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
        let kernel = layer.kernel.val().into_data();
        let values = kernel.as_slice::<f32>().unwrap();
        assert!(values.iter().all(|v| v.abs() <= limit));
        // Uniform on [−l, l] has variance l²/3.
        let var = values.iter().map(|v| v * v).sum::<f32>() / values.len() as f32;
        assert!(
            (var / (limit * limit / 3.0) - 1.0).abs() < 0.1,
            "variance {var}"
        );
        let bias = layer.bias.val().into_data();
        assert!(bias.as_slice::<f32>().unwrap().iter().all(|&b| b == 0.0));
    }
}

#[test]
fn generator_output_is_an_image_in_minus_one_plus_one() {
    let trainer = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    let noise = trainer.sample_noise(16).mul_scalar(50.0); // saturate tanh on purpose
    let images = trainer.gan.generate(noise);
    assert_eq!(images.dims(), [16, 784]);
    let data = images.into_data();
    let values = data.as_slice::<f32>().unwrap();
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert!(
        values.iter().any(|v| v.abs() > 0.99),
        "large noise reaches tanh's ends"
    );
}

#[test]
fn discriminator_gives_one_logit_per_image() {
    let trainer = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    let images = Tensor::<2>::from_data(
        TensorData::new(vec![0.5f32; 3 * 784], [3, 784]),
        trainer.gan.device(),
    );
    assert_eq!(trainer.gan.discriminator.forward(images).dims(), [3, 1]);
}

#[test]
fn the_same_init_seed_gives_the_same_networks() {
    let a = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    let b = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    let other = TrainingConfig {
        init_seed: 99,
        ..TrainingConfig::default()
    };
    let c = Trainer::new(other, &device()).unwrap();
    let first = |t: &Trainer| t.gan.generator.layers[0].kernel.val().into_data();
    assert_eq!(first(&a), first(&b));
    assert_ne!(first(&a), first(&c));
}
