//! The settings form as data: the text of each field, the config it parses to, and which
//! field is wrong and why.

use crate::config::{ConfigError, TrainingConfig};
use crate::model::ModelKind;

/// Every field of the settings form, by its config name (the page's inputs are
/// `#setting-{name}`, their messages `#error-{name}`). The model is a menu, the rest are
/// number fields.
pub const SETTINGS: [&str; 19] = [
    "model",
    "epochs",
    "batch_size",
    "noise_dim",
    "generator_lr",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "discriminator_lr",
    "rmsprop_rho",
    "rmsprop_epsilon",
    "k",
    "real_label",
    "snapshot_every",
    "init_seed",
    "shuffle_seed",
    "noise_seed",
    "sample_seed",
    "label_seed",
];

/// Settings that may change while a run is under way.
pub const LIVE_SETTINGS: [&str; 2] = ["epochs", "snapshot_every"];

/// The form: one text per field of [`SETTINGS`], in that order, and what it parses to.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsForm {
    texts: Vec<String>,
    parsed: Result<TrainingConfig, ConfigError>,
}

impl SettingsForm {
    /// The form showing `config`.
    pub fn new(config: &TrainingConfig) -> Self {
        let values = serde_json::to_value(config).unwrap_or_default();
        let texts = SETTINGS
            .iter()
            .map(|field| match values.get(field) {
                Some(serde_json::Value::String(text)) => text.clone(),
                Some(value) => value.to_string(),
                None => String::new(),
            })
            .collect();
        Self {
            texts,
            parsed: Ok(config.clone()),
        }
    }

    /// Sets one field's text and parses the whole form again; false for an unknown field.
    /// Choosing another model also moves every field still at the old model's default to the
    /// new one's ([`TrainingConfig::for_model`]): a choice made in the form is kept.
    pub fn edit(&mut self, field: &str, text: &str) -> bool {
        let Some(index) = SETTINGS.iter().position(|f| *f == field) else {
            return false;
        };
        // The model the form stands at: its text's, or (after a text that named none) the
        // last one it parsed to.
        let current = ModelKind::from_name(&self.texts[index])
            .or_else(|| self.parsed.as_ref().ok().map(|config| config.model));
        let models = (current, ModelKind::from_name(text.trim()));
        if let ("model", (Some(old), Some(new))) = (field, models) {
            let old = Self::new(&TrainingConfig::for_model(old)).texts;
            let new = Self::new(&TrainingConfig::for_model(new)).texts;
            for ((text, old), new) in self.texts.iter_mut().zip(old).zip(new) {
                if *text == old {
                    *text = new;
                }
            }
        }
        self.texts[index] = text.to_string();
        self.parsed = TrainingConfig::from_fields(
            SETTINGS
                .iter()
                .zip(&self.texts)
                .map(|(field, text)| (*field, text.as_str())),
        );
        true
    }

    /// The text of `field`.
    pub fn text(&self, field: &str) -> &str {
        SETTINGS
            .iter()
            .position(|f| *f == field)
            .map_or("", |i| self.texts[i].as_str())
    }

    /// The config the form holds, or the first bad field.
    pub fn parsed(&self) -> &Result<TrainingConfig, ConfigError> {
        &self.parsed
    }

    /// The message to show next to `field` (empty when it is fine).
    pub fn error(&self, field: &str) -> &str {
        match &self.parsed {
            Err(e) if e.field == field => &e.message,
            _ => "",
        }
    }
}

/// Whether `field` can be edited: all can before a run starts, only the live ones after.
pub fn is_editable(field: &str, run_started: bool) -> bool {
    !run_started || LIVE_SETTINGS.contains(&field)
}

/// The autosave interval in epochs, from its field (0 turns it off).
pub fn parse_autosave(text: &str) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .map_err(|_| "Autosave: enter a whole number of epochs (0 turns it off).".to_string())
}

/// What the page says about the autosave interval.
pub fn describe_autosave(every: usize) -> String {
    match every {
        0 => "Autosave is off.".to_string(),
        1 => "Autosave after every epoch.".to_string(),
        n => format!("Autosave every {n} epochs."),
    }
}
