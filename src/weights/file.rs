//! A checkpoint to and from safetensors bytes, with every name, shape, dtype, value and
//! metadata field checked on the way in.

use std::collections::{BTreeSet, HashMap};

use safetensors::{Dtype, SafeTensors};

use super::layout::{Entry, Layout};
use super::{
    Checkpoint, FORMAT_NAME, FORMAT_VERSION, HostOptimizer, HostOptimizers, MNIST_TRAIN_IMAGES,
    WeightsError,
};
use crate::config::TrainingConfig;
use crate::data::DataRef;
use crate::model::ModelKind;
use crate::train::Progress;

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

/// The file's configuration (`fallback` when it stores none), its model as the metadata's
/// `model` names it where it does.
fn stored_config(
    metadata: &HashMap<String, String>,
    fallback: &TrainingConfig,
) -> Result<TrainingConfig, WeightsError> {
    let mut config = match metadata.get("config") {
        Some(json) => TrainingConfig::from_json(json)?,
        None => fallback.clone(),
    };
    if let Some(name) = metadata.get("model") {
        let model = ModelKind::from_name(name).ok_or_else(|| {
            bad_metadata(
                "model",
                format!(
                    "`{name}` is not a model this app knows ({})",
                    ModelKind::names()
                ),
            )
        })?;
        if metadata.contains_key("config") && model != config.model {
            return Err(bad_metadata(
                "model",
                format!(
                    "`{model}` differs from the stored configuration's `{}`",
                    config.model
                ),
            ));
        }
        config.model = model;
    }
    Ok(config)
}

/// Whether the file holds every tensor of `layout`'s model with its shape.
fn holds(tensors: &SafeTensors, prefix: &str, layout: &Layout) -> bool {
    layout.model().iter().all(|entry| {
        tensors
            .tensor(&format!("{prefix}{}", entry.name))
            .is_ok_and(|view| view.shape() == entry.shape.as_slice())
    })
}

/// Refuses a file that holds another model's networks than `config`'s, naming both; any other
/// mismatch is left to the tensor-by-tensor checks, which name the tensor.
fn check_model(
    tensors: &SafeTensors,
    prefix: &str,
    config: &TrainingConfig,
) -> Result<(), WeightsError> {
    if holds(tensors, prefix, &Layout::new(config)) {
        return Ok(());
    }
    // Another model's noise may have another size: read it from its first kernel.
    let noise_of = |model: ModelKind| {
        let layout = Layout::of(&model.spec(1));
        let first = layout.model().into_iter().next()?;
        let view = tensors.tensor(&format!("{prefix}{}", first.name)).ok()?;
        view.shape().first()?.checked_sub(model.labels())
    };
    let other = ModelKind::ALL.into_iter().find(|&model| {
        model != config.model
            && noise_of(model)
                .is_some_and(|noise| holds(tensors, prefix, &Layout::of(&model.spec(noise))))
    });
    match other {
        Some(found) => Err(WeightsError::WrongModel {
            found,
            expected: config.model,
        }),
        None => Ok(()),
    }
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
        let config = stored_config(&metadata, fallback)?;
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

        let layout = Layout::new(&config);
        check_model(&tensors, prefix, &config)?;
        let model_entries = layout.model();
        let average_entries = layout.average();
        let optim_entries = layout.optimizer();
        let known: BTreeSet<String> = model_entries
            .iter()
            .chain(&average_entries)
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
        let (generator, discriminator) =
            layout.networks(&mut read_all(&model_entries)?.into_iter());
        let has_average = average_entries
            .first()
            .is_some_and(|e| tensors.tensor(&format!("{prefix}{}", e.name)).is_ok());
        let average = if has_average {
            Some(layout.average_layers(&mut read_all(&average_entries)?.into_iter()))
        } else {
            None
        };

        let optim_prefix = format!("{prefix}optim.");
        let has_optimizer = tensors.names().iter().any(|n| n.starts_with(&optim_prefix));
        let optimizers = if has_optimizer {
            let (generator_slots, discriminator_slots) =
                layout.optimizer_slots(&mut read_all(&optim_entries)?.into_iter());
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
            average,
            optimizers,
            scores,
            dataset: DataRef {
                name: metadata
                    .get("dataset")
                    .cloned()
                    .unwrap_or_else(|| DataRef::mnist().name),
                sha256: metadata.get("dataset_sha256").cloned(),
            },
        })
    }

    /// Every tensor the file holds, with its entry, in the file's order: the networks', the
    /// generator's moving average when there is one, then the optimizers' when there are any.
    fn tensors(&self) -> Vec<(Entry, &[f32])> {
        let layout = Layout::new(&self.config);
        let mut entries = layout.model();
        let mut values: Vec<&[f32]> = Vec::new();
        for layer in self.generator.iter().chain(&self.discriminator) {
            values.push(&layer.kernel);
            values.push(&layer.bias);
        }
        if let Some(average) = &self.average {
            entries.extend(layout.average());
            for layer in average {
                values.push(&layer.kernel);
                values.push(&layer.bias);
            }
        }
        if let Some(optimizers) = &self.optimizers {
            entries.extend(layout.optimizer());
            for optimizer in [&optimizers.generator, &optimizers.discriminator] {
                for layer in optimizer.slots.iter().flatten() {
                    values.push(&layer.kernel);
                    values.push(&layer.bias);
                }
            }
        }
        entries.into_iter().zip(values).collect()
    }

    /// The first value of the run that is not a finite number, as [`Checkpoint::from_bytes`]
    /// would refuse it: the same tensors, in the same order.
    pub fn non_finite(&self) -> Option<WeightsError> {
        self.tensors().into_iter().find_map(|(entry, values)| {
            let (index, &value) = values.iter().enumerate().find(|(_, v)| !v.is_finite())?;
            Some(WeightsError::NonFinite {
                name: entry.name,
                index,
                value,
            })
        })
    }

    /// The safetensors file: model, optimizer state and metadata.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut metadata = HashMap::from([
            ("format".to_string(), FORMAT_NAME.to_string()),
            ("format_version".to_string(), FORMAT_VERSION.to_string()),
            ("epoch".to_string(), self.progress.epoch.to_string()),
            ("batch".to_string(), self.progress.batch.to_string()),
            ("step".to_string(), self.progress.step.to_string()),
            ("config".to_string(), self.config.to_json()),
            ("model".to_string(), self.config.model.name().to_string()),
            ("dataset".to_string(), self.dataset.name.clone()),
        ]);
        if let Some(sha256) = &self.dataset.sha256 {
            metadata.insert("dataset_sha256".into(), sha256.clone());
        }
        if !self.scores.is_empty() {
            let json = serde_json::to_string(&self.scores).expect("scores are plain numbers");
            metadata.insert("scores".into(), json);
        }
        if let Some(optimizers) = &self.optimizers {
            metadata.insert(
                "optim.gen.iterations".into(),
                optimizers.generator.iterations.to_string(),
            );
            metadata.insert(
                "optim.disc.iterations".into(),
                optimizers.discriminator.iterations.to_string(),
            );
        }
        let tensors = self.tensors();
        let bytes: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(_, v)| bytemuck::cast_slice::<f32, u8>(v).to_vec())
            .collect();
        let views = tensors.iter().zip(&bytes).map(|((entry, _), data)| {
            let view = safetensors::tensor::TensorView::new(Dtype::F32, entry.shape.clone(), data)
                .expect("a checkpoint's values match its layout");
            (entry.name.clone(), view)
        });
        safetensors::serialize(views, Some(metadata)).expect("in-memory serialisation cannot fail")
    }
}
