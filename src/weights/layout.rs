//! The file's layout: every tensor's name and shape, in the order the file lists them, and the
//! values read in that order grouped back into layers and optimizer slots. It derives from the
//! model's description ([`ModelSpec`]).

use super::{AVERAGE_STEM, DISCRIMINATOR_STEM, GENERATOR_STEM, HostDense, layer_name};
use crate::config::TrainingConfig;
use crate::model::{Layer, ModelSpec, OptimizerKind};
use crate::optim::Optimizer;

/// A tensor of the file: its name (without prefix) and shape.
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) shape: Vec<usize>,
}

/// Names and shapes of the layers of one network under `stem` (e.g. `gen` or `optim.gen.m`):
/// kernels in Keras' shapes ([`Layer::kernel_shape`]).
pub(super) fn layer_entries(stem: &str, layers: &[Layer]) -> Vec<Entry> {
    layers
        .iter()
        .enumerate()
        .flat_map(|(i, layer)| {
            [
                Entry {
                    name: format!("{}.kernel", layer_name(stem, layer, i)),
                    shape: layer.kernel_shape(),
                },
                Entry {
                    name: format!("{}.bias", layer_name(stem, layer, i)),
                    shape: vec![layer.bias()],
                },
            ]
        })
        .collect()
}

pub(super) struct Layout {
    pub(super) generator: Vec<Layer>,
    pub(super) discriminator: Vec<Layer>,
    /// The discriminator's optimizer (the generator's is Adam).
    discriminator_optimizer: OptimizerKind,
    /// Whether the file holds the generator's moving average.
    pub(super) average: bool,
}

impl Layout {
    /// The layout of the model `spec` describes.
    pub(super) fn of(spec: &ModelSpec) -> Self {
        Self {
            generator: spec.generator.layers(),
            discriminator: spec.discriminator.layers(),
            discriminator_optimizer: spec.discriminator_optimizer,
            average: spec.average.is_some(),
        }
    }

    /// The layout of the model `config` trains.
    pub(super) fn new(config: &TrainingConfig) -> Self {
        Self::of(&config.model.spec(config.noise_dim))
    }

    /// The networks' tensors: the generator's, then the discriminator's.
    pub(super) fn model(&self) -> Vec<Entry> {
        let mut entries = layer_entries(GENERATOR_STEM, &self.generator);
        entries.extend(layer_entries(DISCRIMINATOR_STEM, &self.discriminator));
        entries
    }

    /// The tensors of the generator's moving average, for a model that keeps one (a file
    /// without them, a Keras export say, starts the average from the generator).
    pub(super) fn average(&self) -> Vec<Entry> {
        if self.average {
            layer_entries(AVERAGE_STEM, &self.generator)
        } else {
            Vec::new()
        }
    }

    fn slots(&self) -> [(&'static str, &[Layer], &'static [&'static str]); 2] {
        [
            (
                "gen",
                &self.generator,
                Optimizer::slot_names(OptimizerKind::Adam),
            ),
            (
                "disc",
                &self.discriminator,
                Optimizer::slot_names(self.discriminator_optimizer),
            ),
        ]
    }

    pub(super) fn optimizer(&self) -> Vec<Entry> {
        let mut entries = Vec::new();
        for (network, layers, names) in self.slots() {
            for slot in names {
                entries.extend(layer_entries(&format!("optim.{network}.{slot}"), layers));
            }
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

    /// The average's layers, from values in the file's order.
    pub(super) fn average_layers(
        &self,
        values: &mut impl Iterator<Item = Vec<f32>>,
    ) -> Vec<HostDense> {
        into_layers(values, self.generator.len())
    }

    /// The generator's optimizer's slots then the discriminator's, from values in the file's
    /// order, as `slots[s][layer]`.
    pub(super) fn optimizer_slots(
        &self,
        values: &mut impl Iterator<Item = Vec<f32>>,
    ) -> (Vec<Vec<HostDense>>, Vec<Vec<HostDense>>) {
        let [generator, discriminator] = self.slots().map(|(_, layers, names)| {
            (0..names.len())
                .map(|_| into_layers(values, layers.len()))
                .collect()
        });
        (generator, discriminator)
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
