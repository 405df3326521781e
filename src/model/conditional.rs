//! `conditional`: the tutorial's networks with the digit asked for appended as a one-hot of
//! ten values to the generator's noise and to the discriminator's pixels (Mirza & Osindero
//! 2014). Real images keep their labels; each fake is asked for a uniformly drawn digit
//! (`data::uniform_labels`). Same widths, activations, optimizers and defaults as `tutorial`.

use super::spec::{DIGITS, ModelSpec, NetworkSpec};
use super::tutorial;

/// The tutorial's spec with [`DIGITS`] one-hot labels appended to both networks' inputs.
pub fn spec(noise_dim: usize) -> ModelSpec {
    let tutorial = tutorial::spec(noise_dim);
    let conditioned = |network: NetworkSpec| NetworkSpec {
        labels: DIGITS,
        ..network
    };
    ModelSpec {
        name: "conditional",
        summary: "the tutorial's networks, drawing the digit you ask for",
        reference: Some("reference-conditional.json"),
        labels: DIGITS,
        generator: conditioned(tutorial.generator),
        discriminator: conditioned(tutorial.discriminator),
        ..tutorial
    }
}
