//! Every hyperparameter of the reference (`SPEC.md`), with its default, and their validation.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::ModelKind;

/// The largest batch the app accepts: a batch of 8192 images is already 25 MB of activations.
pub const MAX_BATCH_SIZE: usize = 8192;
/// The largest noise vector the app accepts.
pub const MAX_NOISE_DIM: usize = 4096;
/// The most epochs one run may be configured for.
pub const MAX_EPOCHS: usize = 100_000;
/// The most discriminator/generator repetitions per batch.
pub const MAX_K: usize = 100;

/// A setting that cannot be used, naming the field and why.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// The name of the offending field, as in [`TrainingConfig`] (and in the page's form).
    pub field: &'static str,
    /// What is wrong with its value.
    pub message: String,
}

/// The full training configuration. Defaults are the reference tutorial's numbers; Keras'
/// optimizer defaults are written out because Burn's own differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingConfig {
    /// The model trained ([`ModelKind`]); `tutorial` unless chosen otherwise.
    pub model: ModelKind,
    /// Passes over the 60,000 training images.
    pub epochs: usize,
    /// Real images per step; the noise batch always has this size too.
    pub batch_size: usize,
    /// Size of the generator's input noise vector.
    pub noise_dim: usize,
    /// Generator Adam learning rate.
    pub generator_lr: f64,
    /// Adam β1 (Keras default 0.9).
    pub adam_beta1: f64,
    /// Adam β2 (Keras default 0.999).
    pub adam_beta2: f64,
    /// Adam ε (Keras default 1e-7), added to sqrt(v) as Keras does.
    pub adam_epsilon: f64,
    /// Discriminator RMSprop learning rate.
    pub discriminator_lr: f64,
    /// RMSprop ρ (Keras default 0.9).
    pub rmsprop_rho: f64,
    /// RMSprop ε (Keras default 1e-7), added inside the square root as Keras does.
    pub rmsprop_epsilon: f64,
    /// How many times each batch of real images is used for a D-then-G update (the reference's k).
    pub k: usize,
    /// Target for real images in the discriminator loss (one-sided label smoothing).
    pub real_label: f64,
    /// Save a snapshot of G(seed) after epoch 1 and then every this many epochs.
    pub snapshot_every: usize,
    /// Seed of the Glorot-uniform initialisation.
    pub init_seed: u64,
    /// Seed of the per-epoch shuffle.
    pub shuffle_seed: u64,
    /// Seed of the per-step noise.
    pub noise_seed: u64,
    /// Seed of the fixed noise behind the snapshots and the sample grid.
    pub sample_seed: u64,
    /// Seed of the digits a conditional model's fakes are asked for, per step (unused by a
    /// model without labels).
    pub label_seed: u64,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            model: ModelKind::Tutorial,
            epochs: 300,
            batch_size: 256,
            noise_dim: 100,
            generator_lr: 2e-4,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_epsilon: 1e-7,
            discriminator_lr: 2e-4,
            rmsprop_rho: 0.9,
            rmsprop_epsilon: 1e-7,
            k: 1,
            real_label: 0.9,
            snapshot_every: 50,
            init_seed: 1,
            shuffle_seed: 2,
            noise_seed: 3,
            sample_seed: 4,
            label_seed: 5,
        }
    }
}

fn field_error(field: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field,
        message: message.into(),
    }
}

fn check_count(field: &'static str, value: usize, max: usize) -> Result<(), ConfigError> {
    if value == 0 || value > max {
        return Err(field_error(
            field,
            format!("must be between 1 and {max} (got {value})"),
        ));
    }
    Ok(())
}

/// A finite value in `low < value <= high` (or `low <= value` when `low_inclusive`).
fn check_range(
    field: &'static str,
    value: f64,
    low: f64,
    high: f64,
    low_inclusive: bool,
    high_inclusive: bool,
) -> Result<(), ConfigError> {
    let above = if low_inclusive {
        value >= low
    } else {
        value > low
    };
    let below = if high_inclusive {
        value <= high
    } else {
        value < high
    };
    if !value.is_finite() || !above || !below {
        let open = if low_inclusive { '[' } else { '(' };
        let close = if high_inclusive { ']' } else { ')' };
        return Err(field_error(
            field,
            format!("must be a number in {open}{low}, {high}{close} (got {value})"),
        ));
    }
    Ok(())
}

impl TrainingConfig {
    /// Checks every field; the error names the first field that is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_count("epochs", self.epochs, MAX_EPOCHS)?;
        check_count("batch_size", self.batch_size, MAX_BATCH_SIZE)?;
        check_count("noise_dim", self.noise_dim, MAX_NOISE_DIM)?;
        check_count("k", self.k, MAX_K)?;
        check_count("snapshot_every", self.snapshot_every, MAX_EPOCHS)?;
        check_range("generator_lr", self.generator_lr, 0.0, 1.0, false, true)?;
        check_range(
            "discriminator_lr",
            self.discriminator_lr,
            0.0,
            1.0,
            false,
            true,
        )?;
        check_range("adam_beta1", self.adam_beta1, 0.0, 1.0, true, false)?;
        check_range("adam_beta2", self.adam_beta2, 0.0, 1.0, true, false)?;
        check_range("adam_epsilon", self.adam_epsilon, 0.0, 1.0, false, true)?;
        check_range("rmsprop_rho", self.rmsprop_rho, 0.0, 1.0, true, false)?;
        check_range(
            "rmsprop_epsilon",
            self.rmsprop_epsilon,
            0.0,
            1.0,
            false,
            true,
        )?;
        check_range("real_label", self.real_label, 0.0, 1.0, false, true)?;
        Ok(())
    }

    /// Builds a configuration from form text, field by field (`(name, text)` pairs; fields not
    /// given keep their defaults), then validates it. The error names the first bad field.
    pub fn from_fields<'a>(
        fields: impl IntoIterator<Item = (&'static str, &'a str)>,
    ) -> Result<Self, ConfigError> {
        let serde_json::Value::Object(mut values) =
            serde_json::to_value(Self::default()).expect("a config serialises")
        else {
            unreachable!("a config serialises to an object")
        };
        for (field, text) in fields {
            let Some(default) = values.get(field) else {
                return Err(field_error(field, "is not a setting"));
            };
            let text = text.trim();
            let value = if default.is_string() {
                if ModelKind::from_name(text).is_none() {
                    return Err(field_error(
                        field,
                        format!("must be one of {} (got `{text}`)", ModelKind::names()),
                    ));
                }
                serde_json::Value::from(text)
            } else if default.is_u64() {
                let number: u64 = text.parse().map_err(|_| {
                    field_error(field, format!("must be a whole number (got `{text}`)"))
                })?;
                serde_json::Value::from(number)
            } else {
                let number: f64 = text
                    .parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite())
                    .ok_or_else(|| {
                        field_error(field, format!("must be a number (got `{text}`)"))
                    })?;
                serde_json::Value::from(number)
            };
            values.insert(field.to_string(), value);
        }
        let config: Self = serde_json::from_value(serde_json::Value::Object(values))
            .map_err(|e| field_error("config", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a configuration from JSON (missing fields take their defaults) and validates it.
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let config: Self =
            serde_json::from_str(json).map_err(|e| field_error("config", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration as JSON (the form the weights file's metadata stores). The settings
    /// that came with the models (`model`, `label_seed`) are left out at their defaults, so a
    /// tutorial run's file opens in builds from before them, which refuse unknown fields.
    pub fn to_json(&self) -> String {
        let mut value = serde_json::to_value(self).expect("a config of numbers always serialises");
        let defaults = Self::default();
        if let serde_json::Value::Object(fields) = &mut value {
            if self.model == defaults.model {
                fields.remove("model");
            }
            if self.label_seed == defaults.label_seed {
                fields.remove("label_seed");
            }
        }
        value.to_string()
    }

    /// The settings a run of `model` starts from: the tutorial's, with the model's own
    /// defaults where it has them ([`crate::model::ModelDefaults`]).
    pub fn for_model(model: ModelKind) -> Self {
        let defaults = model.spec(1).defaults;
        let base = Self::default();
        Self {
            model,
            batch_size: defaults.batch_size.unwrap_or(base.batch_size),
            noise_dim: defaults.noise_dim.unwrap_or(base.noise_dim),
            generator_lr: defaults.generator_lr.unwrap_or(base.generator_lr),
            discriminator_lr: defaults.discriminator_lr.unwrap_or(base.discriminator_lr),
            adam_beta1: defaults.adam_beta1.unwrap_or(base.adam_beta1),
            epochs: defaults.epochs.unwrap_or(base.epochs),
            snapshot_every: defaults.snapshot_every.unwrap_or(base.snapshot_every),
            ..base
        }
    }

    /// Whether the snapshot of G(seed) is due after `epoch` (1-based): epochs 1, 1 + n, 1 + 2n, …
    pub fn is_snapshot_epoch(&self, epoch: usize) -> bool {
        epoch >= 1 && (epoch - 1).is_multiple_of(self.snapshot_every)
    }
}
