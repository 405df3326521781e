//! `tutorial`: the reference's two multilayer perceptrons (`SPEC.md`).

use super::geometry::LayerSpec;
use super::spec::{ModelDefaults, ModelSpec, NetworkSpec, OptimizerKind};
use super::{
    DISCRIMINATOR_ACTIVATIONS, DISCRIMINATOR_UNITS, GENERATOR_ACTIVATIONS, GENERATOR_UNITS,
};
use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE};

/// Layers of the given widths, each followed by its activation.
pub(super) fn layers(units: &[usize], activations: &[super::Activation]) -> Vec<LayerSpec> {
    units
        .iter()
        .zip(activations)
        .map(|(&units, &activation)| LayerSpec::dense(units, activation))
        .collect()
}

/// G: noise → Dense(100) linear, three LeakyReLU layers (128, 128, 256), Dense(784) tanh.
/// D: 784 pixels → three LeakyReLU layers of 128, Dense(1) logit.
pub fn spec(noise_dim: usize) -> ModelSpec {
    ModelSpec {
        name: "tutorial",
        summary: "the reference tutorial's GAN, exactly",
        reference: Some("reference.json"),
        labels: 0,
        generator: NetworkSpec {
            features: noise_dim,
            side: 1,
            labels: 0,
            layers: layers(&GENERATOR_UNITS, &GENERATOR_ACTIVATIONS),
        },
        discriminator: NetworkSpec {
            features: IMAGE_PIXELS,
            side: IMAGE_SIDE,
            labels: 0,
            layers: layers(&DISCRIMINATOR_UNITS, &DISCRIMINATOR_ACTIVATIONS),
        },
        discriminator_optimizer: OptimizerKind::RmsProp,
        defaults: ModelDefaults::default(),
        average: None,
    }
}
