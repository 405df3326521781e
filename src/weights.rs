//! Weights in and out as safetensors, in Keras' layout: `gen.dense{0..4}.{kernel,bias}` and
//! `disc.dense{0..3}.{kernel,bias}`, kernel `[in, out]`, float32, so a file loads into the
//! reference Keras model unchanged. Optimizer state rides along under `optim.` and the header's
//! metadata holds the format version, the position in training and the full config (seeds
//! included), so training resumes exactly.
//!
//! A [`Checkpoint`] is the host-side copy of everything: captured with asynchronous reads,
//! written to bytes, parsed from bytes with every name, shape, dtype and value checked, and only
//! then turned into a new [`Trainer`] — a bad file never touches the model in use.

use std::collections::{BTreeSet, HashMap};

use burn::tensor::{Device, Tensor, TensorData, Transaction};
use safetensors::{Dtype, SafeTensors};
use thiserror::Error;

use crate::config::{ConfigError, TrainingConfig};
use crate::idx::IMAGE_PIXELS;
use crate::model::{DISCRIMINATOR_UNITS, Dense, Discriminator, GENERATOR_UNITS, Generator};
use crate::optim::{KerasAdam, KerasRmsProp, LayerSlots};
use crate::quality::score::EpochScore;
use crate::train::{Gan, Progress, Trainer};

/// Version of the file layout this build writes; files from a newer one are refused.
pub const FORMAT_VERSION: u32 = 1;
/// The `format` metadata value of files this app writes.
pub const FORMAT_NAME: &str = "mnist-gan-web";
/// The number of MNIST training images, which bounds a saved position within an epoch.
pub const MNIST_TRAIN_IMAGES: usize = 60_000;

/// Why a weights file was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum WeightsError {
    /// The bytes are not a safetensors file (or are truncated, or their header is inconsistent).
    #[error("not a valid safetensors file: {0}")]
    NotSafetensors(String),
    /// The file was written by a newer version of the app.
    #[error("the file uses format version {found}, newer than this app's {FORMAT_VERSION}")]
    NewerFormat {
        /// The version in the file.
        found: u32,
    },
    /// A metadata entry cannot be read.
    #[error("metadata entry `{key}` is invalid: {message}")]
    BadMetadata {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The stored training configuration is invalid.
    #[error("the stored configuration is invalid: {0}")]
    BadConfig(#[from] ConfigError),
    /// A required tensor is absent.
    #[error("tensor `{0}` is missing")]
    MissingTensor(String),
    /// A tensor the app does not know.
    #[error("unexpected tensor `{0}`")]
    UnexpectedTensor(String),
    /// A tensor is not float32.
    #[error("tensor `{name}` is {found}, expected F32")]
    WrongDtype {
        /// The tensor.
        name: String,
        /// Its dtype.
        found: String,
    },
    /// A tensor has the wrong shape.
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    WrongShape {
        /// The tensor.
        name: String,
        /// The shape the model needs.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor holds NaN or an infinity.
    #[error("tensor `{name}` holds a non-finite value ({value}) at index {index}")]
    NonFinite {
        /// The tensor.
        name: String,
        /// The flat index of the first bad value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// Reading the model back from the device failed.
    #[error("reading the model from the device failed: {0}")]
    Read(String),
}

/// One Dense layer's values on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostDense {
    /// `[in, out]`, row-major.
    pub kernel: Vec<f32>,
    /// `[out]`.
    pub bias: Vec<f32>,
}

/// One optimizer's state on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostOptimizer {
    /// Steps taken.
    pub iterations: u64,
    /// `slots[s][layer]`: slot `s` (Adam: m, v; RMSprop: v) of each layer.
    pub slots: Vec<Vec<HostDense>>,
}

/// Both optimizers' state.
#[derive(Debug, Clone, PartialEq)]
pub struct HostOptimizers {
    /// The generator's Adam.
    pub generator: HostOptimizer,
    /// The discriminator's RMSprop.
    pub discriminator: HostOptimizer,
}

/// Everything a weights file holds, on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The training configuration.
    pub config: TrainingConfig,
    /// Where training stood.
    pub progress: Progress,
    /// Generator layers `dense0` … `dense4`.
    pub generator: Vec<HostDense>,
    /// Discriminator layers `dense0` … `dense3`.
    pub discriminator: Vec<HostDense>,
    /// Optimizer state, when the file has it (a plain Keras export does not).
    pub optimizers: Option<HostOptimizers>,
    /// The quality scores taken so far in the run (metadata `scores`, JSON).
    pub scores: Vec<EpochScore>,
}

/// `[in, out]` of each layer of a network whose input has `inputs` features.
fn layer_shapes(inputs: usize, units: &[usize]) -> Vec<(usize, usize)> {
    let mut fan_in = inputs;
    units
        .iter()
        .map(|&fan_out| {
            let shape = (fan_in, fan_out);
            fan_in = fan_out;
            shape
        })
        .collect()
}

/// A tensor of the file: its name (without prefix) and shape.
struct Entry {
    name: String,
    shape: Vec<usize>,
}

/// Names and shapes of the layers of one network under `stem` (e.g. `gen` or `optim.gen.m`).
fn layer_entries(stem: &str, shapes: &[(usize, usize)]) -> Vec<Entry> {
    shapes
        .iter()
        .enumerate()
        .flat_map(|(i, &(fan_in, fan_out))| {
            [
                Entry {
                    name: format!("{stem}.dense{i}.kernel"),
                    shape: vec![fan_in, fan_out],
                },
                Entry {
                    name: format!("{stem}.dense{i}.bias"),
                    shape: vec![fan_out],
                },
            ]
        })
        .collect()
}

struct Layout {
    generator: Vec<(usize, usize)>,
    discriminator: Vec<(usize, usize)>,
}

impl Layout {
    fn new(noise_dim: usize) -> Self {
        Self {
            generator: layer_shapes(noise_dim, &GENERATOR_UNITS),
            discriminator: layer_shapes(IMAGE_PIXELS, &DISCRIMINATOR_UNITS),
        }
    }

    fn model(&self) -> Vec<Entry> {
        let mut entries = layer_entries("gen", &self.generator);
        entries.extend(layer_entries("disc", &self.discriminator));
        entries
    }

    fn optimizer(&self) -> Vec<Entry> {
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
}

fn bad_metadata(key: &str, message: impl Into<String>) -> WeightsError {
    WeightsError::BadMetadata {
        key: key.to_string(),
        message: message.into(),
    }
}

fn parse_number<T: std::str::FromStr>(
    metadata: &HashMap<String, String>,
    key: &str,
) -> Result<Option<T>, WeightsError> {
    metadata
        .get(key)
        .map(|text| {
            text.parse()
                .map_err(|_| bad_metadata(key, format!("`{text}` is not a whole number")))
        })
        .transpose()
}

fn dtype_name(dtype: Dtype) -> String {
    format!("{dtype:?}")
}

fn little_endian_floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Reads and checks one tensor named `prefix + entry.name`.
fn read_tensor(
    tensors: &SafeTensors,
    prefix: &str,
    entry: &Entry,
) -> Result<Vec<f32>, WeightsError> {
    let name = format!("{prefix}{}", entry.name);
    let view = tensors
        .tensor(&name)
        .map_err(|_| WeightsError::MissingTensor(name.clone()))?;
    if view.dtype() != Dtype::F32 {
        return Err(WeightsError::WrongDtype {
            name,
            found: dtype_name(view.dtype()),
        });
    }
    if view.shape() != entry.shape.as_slice() {
        return Err(WeightsError::WrongShape {
            name,
            expected: entry.shape.clone(),
            found: view.shape().to_vec(),
        });
    }
    let values = little_endian_floats(view.data());
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(WeightsError::NonFinite { name, index, value });
    }
    Ok(values)
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

/// Generator then discriminator layers, from values in the file's order.
fn networks(values: &mut impl Iterator<Item = Vec<f32>>) -> (Vec<HostDense>, Vec<HostDense>) {
    let generator = into_layers(values, Generator::DEPTH);
    let discriminator = into_layers(values, Discriminator::DEPTH);
    (generator, discriminator)
}

/// Adam's slots of the generator then RMSprop's of the discriminator, from values in the file's
/// order, as `slots[s][layer]`.
fn optimizer_slots(
    values: &mut impl Iterator<Item = Vec<f32>>,
) -> (Vec<Vec<HostDense>>, Vec<Vec<HostDense>>) {
    let adam = (0..KerasAdam::SLOT_NAMES.len())
        .map(|_| into_layers(values, Generator::DEPTH))
        .collect();
    let rmsprop = (0..KerasRmsProp::SLOT_NAMES.len())
        .map(|_| into_layers(values, Discriminator::DEPTH))
        .collect();
    (adam, rmsprop)
}

impl Checkpoint {
    /// Parses a weights file. Tensors are looked up under `prefix` (empty for the app's own
    /// files; `init.` for the golden fixture), and any other tensor under it is refused.
    /// Files without metadata (a plain Keras export) take `fallback` as their configuration.
    pub fn from_bytes(
        bytes: &[u8],
        prefix: &str,
        fallback: &TrainingConfig,
    ) -> Result<Self, WeightsError> {
        let tensors = SafeTensors::deserialize(bytes)
            .map_err(|e| WeightsError::NotSafetensors(e.to_string()))?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| WeightsError::NotSafetensors(e.to_string()))?;
        let metadata = header.metadata().clone().unwrap_or_default();

        if let Some(found) = parse_number::<u32>(&metadata, "format_version")?
            && found > FORMAT_VERSION
        {
            return Err(WeightsError::NewerFormat { found });
        }
        let config = match metadata.get("config") {
            Some(json) => TrainingConfig::from_json(json)?,
            None => fallback.clone(),
        };
        let progress = Progress {
            epoch: parse_number(&metadata, "epoch")?.unwrap_or(0),
            batch: parse_number(&metadata, "batch")?.unwrap_or(0),
            step: parse_number(&metadata, "step")?.unwrap_or(0),
        };
        if progress.batch * config.batch_size >= MNIST_TRAIN_IMAGES {
            return Err(bad_metadata(
                "batch",
                format!("batch {} is beyond the end of an epoch", progress.batch),
            ));
        }

        let layout = Layout::new(config.noise_dim);
        let model_entries = layout.model();
        let optim_entries = layout.optimizer();
        let known: BTreeSet<String> = model_entries
            .iter()
            .chain(&optim_entries)
            .map(|e| format!("{prefix}{}", e.name))
            .collect();
        if let Some(extra) = tensors
            .names()
            .into_iter()
            .filter(|n| n.starts_with(prefix))
            .find(|n| !known.contains(*n))
        {
            return Err(WeightsError::UnexpectedTensor(extra.to_string()));
        }

        let read_all = |entries: &[Entry]| {
            entries
                .iter()
                .map(|e| read_tensor(&tensors, prefix, e))
                .collect::<Result<Vec<_>, _>>()
        };
        let (generator, discriminator) = networks(&mut read_all(&model_entries)?.into_iter());

        let optim_prefix = format!("{prefix}optim.");
        let has_optimizer = tensors.names().iter().any(|n| n.starts_with(&optim_prefix));
        let optimizers = if has_optimizer {
            let (generator_slots, discriminator_slots) =
                optimizer_slots(&mut read_all(&optim_entries)?.into_iter());
            Some(HostOptimizers {
                generator: HostOptimizer {
                    iterations: parse_number(&metadata, "optim.gen.iterations")?.unwrap_or(0),
                    slots: generator_slots,
                },
                discriminator: HostOptimizer {
                    iterations: parse_number(&metadata, "optim.disc.iterations")?.unwrap_or(0),
                    slots: discriminator_slots,
                },
            })
        } else {
            None
        };

        let scores = match metadata.get("scores") {
            Some(json) => {
                serde_json::from_str(json).map_err(|e| bad_metadata("scores", e.to_string()))?
            }
            None => Vec::new(),
        };
        Ok(Self {
            config,
            progress,
            generator,
            discriminator,
            optimizers,
            scores,
        })
    }

    /// The safetensors file: model, optimizer state and metadata.
    pub fn to_bytes(&self) -> Vec<u8> {
        let layout = Layout::new(self.config.noise_dim);
        let mut entries = layout.model();
        let mut values: Vec<&[f32]> = Vec::new();
        for layer in self.generator.iter().chain(&self.discriminator) {
            values.push(&layer.kernel);
            values.push(&layer.bias);
        }
        let mut metadata = HashMap::from([
            ("format".to_string(), FORMAT_NAME.to_string()),
            ("format_version".to_string(), FORMAT_VERSION.to_string()),
            ("epoch".to_string(), self.progress.epoch.to_string()),
            ("batch".to_string(), self.progress.batch.to_string()),
            ("step".to_string(), self.progress.step.to_string()),
            ("config".to_string(), self.config.to_json()),
        ]);
        if !self.scores.is_empty() {
            let json = serde_json::to_string(&self.scores).expect("scores are plain numbers");
            metadata.insert("scores".into(), json);
        }
        if let Some(optimizers) = &self.optimizers {
            entries.extend(layout.optimizer());
            for optimizer in [&optimizers.generator, &optimizers.discriminator] {
                for layer in optimizer.slots.iter().flatten() {
                    values.push(&layer.kernel);
                    values.push(&layer.bias);
                }
            }
            metadata.insert(
                "optim.gen.iterations".into(),
                optimizers.generator.iterations.to_string(),
            );
            metadata.insert(
                "optim.disc.iterations".into(),
                optimizers.discriminator.iterations.to_string(),
            );
        }
        let bytes: Vec<Vec<u8>> = values
            .iter()
            .map(|v| bytemuck::cast_slice::<f32, u8>(v).to_vec())
            .collect();
        let views = entries.iter().zip(&bytes).map(|(entry, data)| {
            let view = safetensors::tensor::TensorView::new(Dtype::F32, entry.shape.clone(), data)
                .expect("a checkpoint's values match its layout");
            (entry.name.clone(), view)
        });
        safetensors::serialize(views, Some(metadata)).expect("in-memory serialisation cannot fail")
    }

    /// Reads the trainer's model and optimizer state from the device with asynchronous reads.
    /// The tensors are taken when this is called (after every step queued so far); the future
    /// borrows nothing, so the trainer may go on training while it completes.
    pub fn capture(
        trainer: &Trainer,
    ) -> impl std::future::Future<Output = Result<Self, WeightsError>> + 'static {
        let gan = &trainer.gan;
        let mut transaction = Transaction::default();
        let mut register_layers = |kernels: Vec<Tensor<2>>, biases: Vec<Tensor<1>>| {
            for (kernel, bias) in kernels.into_iter().zip(biases) {
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
        let slot_layers = |slots: &[LayerSlots], s: usize| {
            (
                slots.iter().map(|l| l.kernel[s].clone()).collect(),
                slots.iter().map(|l| l.bias[s].clone()).collect(),
            )
        };
        let (k, b) = model_layers(&gan.generator.layers);
        register_layers(k, b);
        let (k, b) = model_layers(&gan.discriminator.layers);
        register_layers(k, b);
        let adam = &gan.generator_optim;
        let rmsprop = &gan.discriminator_optim;
        for s in 0..KerasAdam::SLOT_NAMES.len() {
            let (k, b) = slot_layers(&adam.slots, s);
            register_layers(k, b);
        }
        for s in 0..KerasRmsProp::SLOT_NAMES.len() {
            let (k, b) = slot_layers(&rmsprop.slots, s);
            register_layers(k, b);
        }
        let config = trainer.config.clone();
        let progress = trainer.progress;
        let (adam_iterations, rmsprop_iterations) = (adam.iterations, rmsprop.iterations);
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
            let (generator, discriminator) = networks(&mut values);
            let (adam_slots, rmsprop_slots) = optimizer_slots(&mut values);
            Ok(Self {
                config,
                progress,
                generator,
                discriminator,
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
            })
        }
    }

    /// A trainer holding this checkpoint's model, optimizer state and position, on `device`.
    /// Without optimizer state in the file, the optimizers start fresh.
    pub fn into_trainer(self, device: &Device) -> Trainer {
        let device = device.clone().autodiff();
        let layout = Layout::new(self.config.noise_dim);
        let to_layers = |layers: &[HostDense], shapes: &[(usize, usize)]| -> Vec<Dense> {
            layers
                .iter()
                .zip(shapes)
                .map(|(layer, &(fan_in, fan_out))| {
                    Dense::from_values(
                        TensorData::new(layer.kernel.clone(), [fan_in, fan_out]),
                        TensorData::new(layer.bias.clone(), [fan_out]),
                        &device,
                    )
                })
                .collect()
        };
        let generator = Generator {
            layers: to_layers(&self.generator, &layout.generator),
        };
        let discriminator = Discriminator {
            layers: to_layers(&self.discriminator, &layout.discriminator),
        };
        let mut gan = Gan::from_networks(&self.config, generator, discriminator, &device);
        if let Some(optimizers) = &self.optimizers {
            let to_slots = |host: &HostOptimizer, shapes: &[(usize, usize)]| -> Vec<LayerSlots> {
                (0..shapes.len())
                    .map(|layer| {
                        let per_slot = host.slots.iter().map(|slot| {
                            to_layers(&slot[layer..=layer], &shapes[layer..=layer])
                                .pop()
                                .expect("one layer")
                        });
                        let (kernel, bias) = per_slot
                            .map(|d| (d.kernel.val().inner(), d.bias.val().inner()))
                            .unzip();
                        LayerSlots { kernel, bias }
                    })
                    .collect()
            };
            gan.generator_optim.iterations = optimizers.generator.iterations;
            gan.generator_optim.slots = to_slots(&optimizers.generator, &layout.generator);
            gan.discriminator_optim.iterations = optimizers.discriminator.iterations;
            gan.discriminator_optim.slots =
                to_slots(&optimizers.discriminator, &layout.discriminator);
        }
        Trainer::from_parts(self.config, gan, self.progress)
    }
}
