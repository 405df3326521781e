//! A checkpoint from a trainer (asynchronous reads) and into a new one.

use burn::tensor::{Device, Tensor, TensorData, Transaction};

use super::layout::Layout;
use super::{Checkpoint, HostDense, HostOptimizer, HostOptimizers, WeightsError};
use crate::data::DataRef;
use crate::model::{Dense, Discriminator, Generator, NetworkSpec};
use crate::optim::{FlatLayout, FlatSlot, copy_of, layer_parts};
use crate::train::{Average, Gan, Trainer};

/// Layers of `spec` holding `layers`' values, on `device`.
fn dense_layers(layers: &[HostDense], spec: &NetworkSpec, device: &Device) -> Vec<Dense> {
    layers
        .iter()
        .zip(spec.layers())
        .map(|(layer, shape)| {
            Dense::from_values(
                TensorData::new(layer.kernel.clone(), shape.matrix()),
                TensorData::new(layer.bias.clone(), [shape.bias()]),
                device,
            )
        })
        .collect()
}

impl Checkpoint {
    /// This checkpoint's generator alone, on `device` (autodiff is enabled on it here).
    pub fn generator(&self, device: &Device) -> Generator {
        self.generator_of(&self.generator, device)
    }

    /// The generator the page shows, scores and exports ([`Gan::shown_generator`]): the moving
    /// average of its weights when the file holds one, else the generator.
    pub fn shown_generator(&self, device: &Device) -> Generator {
        self.generator_of(self.shown_layers(), device)
    }

    /// The layers of [`Checkpoint::shown_generator`].
    pub fn shown_layers(&self) -> &[HostDense] {
        self.average.as_deref().unwrap_or(&self.generator)
    }

    fn generator_of(&self, layers: &[HostDense], device: &Device) -> Generator {
        let spec = self.config.model.spec(self.config.noise_dim).generator;
        Generator {
            layers: dense_layers(layers, &spec, &device.clone().autodiff()),
            spec,
        }
    }

    /// Reads the trainer's model and optimizer state from the device with asynchronous reads.
    /// The tensors are taken when this is called (after every step queued so far); the future
    /// borrows nothing, so the trainer may go on training while it completes. On a GPU they
    /// are copies: a replayed step (`train::graph`) updates the state in its buffers whoever
    /// else holds them, and this read may be issued after the next step is queued.
    pub fn capture(
        trainer: &Trainer,
    ) -> impl std::future::Future<Output = Result<Self, WeightsError>> + 'static {
        let gan = &trainer.gan;
        let on_host = gan.on_host();
        let mut transaction = Transaction::default();
        let mut register_layers = |kernels: Vec<Tensor<2>>, biases: Vec<Tensor<1>>| {
            for (kernel, bias) in kernels.into_iter().zip(biases) {
                let (kernel, bias) = if on_host {
                    (kernel, bias)
                } else {
                    (copy_of(&kernel), copy_of(&bias))
                };
                transaction = std::mem::take(&mut transaction)
                    .register(kernel)
                    .register(bias);
            }
        };
        let model_layers = |layers: &[Dense]| {
            (
                layers.iter().map(|l| l.kernel.val().inner()).collect(),
                layers.iter().map(|l| l.bias.val().inner()).collect(),
            )
        };
        let slot_layers =
            |slot: &FlatSlot, layers: &[Dense]| layer_parts(slot, layers).into_iter().unzip();
        let (k, b) = model_layers(&gan.generator.layers);
        register_layers(k, b);
        let (k, b) = model_layers(&gan.discriminator.layers);
        register_layers(k, b);
        if let Some(average) = &gan.average {
            let (k, b) = model_layers(&average.generator.layers);
            register_layers(k, b);
        }
        let networks = [
            (&gan.generator_optim, &gan.generator.layers),
            (&gan.discriminator_optim, &gan.discriminator.layers),
        ];
        for (optimizer, layers) in networks {
            for slot in optimizer.slots() {
                let (k, b) = slot_layers(slot, layers);
                register_layers(k, b);
            }
        }
        let config = trainer.config.clone();
        let layout = Layout::new(&config);
        let progress = trainer.progress;
        let has_average = gan.average.is_some();
        let (adam_iterations, rmsprop_iterations) = (
            gan.generator_optim.iterations(),
            gan.discriminator_optim.iterations(),
        );
        async move {
            let data = transaction
                .execute_async()
                .await
                .map_err(|e| WeightsError::Read(format!("{e:?}")))?;
            let floats = data
                .into_iter()
                .map(|d| {
                    d.try_into_vec::<f32>()
                        .map_err(|e| WeightsError::Read(format!("{e:?}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut values = floats.into_iter();
            let (generator, discriminator) = layout.networks(&mut values);
            let average = has_average.then(|| layout.average_layers(&mut values));
            let (adam_slots, rmsprop_slots) = layout.optimizer_slots(&mut values);
            Ok(Self {
                config,
                progress,
                generator,
                discriminator,
                average,
                optimizers: Some(HostOptimizers {
                    generator: HostOptimizer {
                        iterations: adam_iterations,
                        slots: adam_slots,
                    },
                    discriminator: HostOptimizer {
                        iterations: rmsprop_iterations,
                        slots: rmsprop_slots,
                    },
                }),
                scores: Vec::new(),
                dataset: DataRef::mnist(),
            })
        }
    }

    /// A trainer holding this checkpoint's model, optimizer state and position, on `device`.
    /// Without optimizer state in the file, the optimizers start fresh.
    pub fn into_trainer(self, device: &Device) -> Trainer {
        let device = device.clone().autodiff();
        let spec = self.config.model.spec(self.config.noise_dim).discriminator;
        let generator = self.generator(&device);
        let discriminator = Discriminator {
            layers: dense_layers(&self.discriminator, &spec, &device),
            spec,
        };
        let mut gan = Gan::from_networks(&self.config, generator, discriminator, &device);
        if let (Some(average), Some(layers)) = (&mut gan.average, &self.average) {
            *average = Average::new(average.decay, &self.generator_of(layers, &device));
        }
        if let Some(optimizers) = &self.optimizers {
            // Each slot's layers joined into one flat tensor, in the layout of a gradient on
            // this device. A file's slots have the layers' shapes (`from_bytes` reads them by
            // `Layout`); a slot of other shapes, built by hand, would start from zero.
            let slot_device = device.clone().inner();
            let to_slots = |host: &HostOptimizer, layers: &[Dense]| -> Vec<FlatSlot> {
                let layout = FlatLayout::new(layers, &slot_device);
                host.slots
                    .iter()
                    .map(|slot| {
                        let parts = slot.iter().flat_map(|l| [&l.kernel[..], &l.bias[..]]);
                        let values = layout
                            .join_host(parts)
                            .unwrap_or_else(|_| vec![0.0; layout.len()]);
                        Tensor::from_data(TensorData::new(values, [layout.len()]), &slot_device)
                    })
                    .collect()
            };
            *gan.generator_optim.iterations_mut() = optimizers.generator.iterations;
            *gan.generator_optim.slots_mut() =
                to_slots(&optimizers.generator, &gan.generator.layers);
            *gan.discriminator_optim.iterations_mut() = optimizers.discriminator.iterations;
            *gan.discriminator_optim.slots_mut() =
                to_slots(&optimizers.discriminator, &gan.discriminator.layers);
        }
        Trainer::from_parts(self.config, gan, self.progress)
    }
}
