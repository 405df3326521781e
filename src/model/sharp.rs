//! `sharp`: a small conditional convolutional GAN, chosen by measurement to reach the
//! tutorial's final quality in minutes (issue 28; BENCHMARKS.md).
//!
//! G: noise (64) ++ the digit's one-hot → Dense 7·7·64, ReLU → transposed convolution 4×4
//! stride 2 → 32 channels, ReLU → transposed convolution 4×4 stride 2 → 1, tanh.
//! D: the image with the digit as 10 constant one-hot maps (28×28×11) → convolution 4×4 stride
//! 2 → 32, LeakyReLU 0.2 → convolution 4×4 stride 2 → 64, LeakyReLU 0.2 → Dense 1 (a logit).
//! Both networks train with Adam (β1 0.5) at 2·10⁻³, batch 64; the page shows, scores and
//! exports a moving average of G's weights. Nothing depends on a batch's statistics (no
//! BatchNorm), so 1, 2 or 4 CPU workers give the same weights.
//!
//! The learning rate by measurement (BENCHMARKS.md): the starting point, 2·10⁻⁴, drew
//! FID 185.8 and 11 % of digits as asked after one epoch; 8·10⁻⁴ 66.2 and 55 %, 1.5·10⁻³ 37.4
//! and 75 %, 3·10⁻³ 30.8 and 84 % (after two: 30.8, 16.3, 13.0).

use super::Activation::{LeakyRelu, Linear, Relu, Tanh};
use super::geometry::LayerSpec;
use super::spec::{DIGITS, ModelDefaults, ModelSpec, NetworkSpec, OptimizerKind};
use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE};

/// Its LeakyReLUs' slope below zero.
const SLOPE: f64 = 0.2;

/// The description, for noise of `noise_dim` values (64 by default).
pub fn spec(noise_dim: usize) -> ModelSpec {
    ModelSpec {
        name: "sharp",
        summary: "a small convolutional GAN: clean digits you ask for, in minutes",
        reference: Some("reference-sharp.json"),
        labels: DIGITS,
        generator: NetworkSpec {
            features: noise_dim,
            side: 1,
            labels: DIGITS,
            layers: vec![
                LayerSpec::dense_image(7, 64, Relu),
                LayerSpec::conv_transpose(32, 4, 2, Relu),
                LayerSpec::conv_transpose(1, 4, 2, Tanh),
            ],
        },
        discriminator: NetworkSpec {
            features: IMAGE_PIXELS,
            side: IMAGE_SIDE,
            labels: DIGITS,
            layers: vec![
                LayerSpec::conv(32, 4, 2, LeakyRelu(SLOPE)),
                LayerSpec::conv(64, 4, 2, LeakyRelu(SLOPE)),
                LayerSpec::dense(1, Linear),
            ],
        },
        discriminator_optimizer: OptimizerKind::Adam,
        defaults: ModelDefaults {
            batch_size: Some(64),
            noise_dim: Some(64),
            generator_lr: Some(2e-3),
            discriminator_lr: Some(2e-3),
            adam_beta1: Some(0.5),
            epochs: Some(10),
            snapshot_every: Some(1),
        },
        average: Some(0.999),
    }
}
