//! The file's layout: every tensor's name and shape, in the order the file lists them, and the
//! values read in that order grouped back into layers and optimizer slots. It derives from the
//! model's description ([`ModelSpec`]).

use super::{DISCRIMINATOR_STEM, GENERATOR_STEM, HostDense, layer_name};
use crate::config::TrainingConfig;
use crate::model::ModelSpec;
use crate::optim::{KerasAdam, KerasRmsProp};

/// A tensor of the file: its name (without prefix) and shape.
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) shape: Vec<usize>,
}

/// Names and shapes of the layers of one network under `stem` (e.g. `gen` or `optim.gen.m`).
pub(super) fn layer_entries(stem: &str, shapes: &[[usize; 2]]) -> Vec<Entry> {
    shapes
        .iter()
        .enumerate()
        .flat_map(|(i, &[fan_in, fan_out])| {
            [
                Entry {
                    name: format!("{}.kernel", layer_name(stem, i)),
                    shape: vec![fan_in, fan_out],
                },
                Entry {
                    name: format!("{}.bias", layer_name(stem, i)),
                    shape: vec![fan_out],
                },
            ]
        })
        .collect()
}

pub(super) struct Layout {
    pub(super) generator: Vec<[usize; 2]>,
    pub(super) discriminator: Vec<[usize; 2]>,
}

impl Layout {
    /// The layout of the model `spec` describes.
    pub(super) fn of(spec: &ModelSpec) -> Self {
        Self {
            generator: spec.generator.shapes(),
            discriminator: spec.discriminator.shapes(),
        }
    }

    /// The layout of the model `config` trains.
    pub(super) fn new(config: &TrainingConfig) -> Self {
        Self::of(&config.model.spec(config.noise_dim))
    }

    pub(super) fn model(&self) -> Vec<Entry> {
        let mut entries = layer_entries(GENERATOR_STEM, &self.generator);
        entries.extend(layer_entries(DISCRIMINATOR_STEM, &self.discriminator));
        entries
    }

    pub(super) fn optimizer(&self) -> Vec<Entry> {
        let mut entries = Vec::new();
        for slot in KerasAdam::SLOT_NAMES {
            entries.extend(layer_entries(&format!("optim.gen.{slot}"), &self.generator));
        }
        for slot in KerasRmsProp::SLOT_NAMES {
            entries.extend(layer_entries(
                &format!("optim.disc.{slot}"),
                &self.discriminator,
            ));
        }
        entries
    }

    /// Generator then discriminator layers, from values in the file's order.
    pub(super) fn networks(
        &self,
        values: &mut impl Iterator<Item = Vec<f32>>,
    ) -> (Vec<HostDense>, Vec<HostDense>) {
        let generator = into_layers(values, self.generator.len());
        let discriminator = into_layers(values, self.discriminator.len());
        (generator, discriminator)
    }

    /// Adam's slots of the generator then RMSprop's of the discriminator, from values in the
    /// file's order, as `slots[s][layer]`.
    pub(super) fn optimizer_slots(
        &self,
        values: &mut impl Iterator<Item = Vec<f32>>,
    ) -> (Vec<Vec<HostDense>>, Vec<Vec<HostDense>>) {
        let adam = (0..KerasAdam::SLOT_NAMES.len())
            .map(|_| into_layers(values, self.generator.len()))
            .collect();
        let rmsprop = (0..KerasRmsProp::SLOT_NAMES.len())
            .map(|_| into_layers(values, self.discriminator.len()))
            .collect();
        (adam, rmsprop)
    }
}

/// Pairs up `[kernel, bias, kernel, bias, …]` into layers.
fn into_layers(values: &mut impl Iterator<Item = Vec<f32>>, count: usize) -> Vec<HostDense> {
    (0..count)
        .map(|_| HostDense {
            kernel: values.next().expect("a kernel per layer"),
            bias: values.next().expect("a bias per layer"),
        })
        .collect()
}
