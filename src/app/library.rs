//! The library of saved runs as plain Rust: each run's summary (what the "Saved runs" list
//! shows without reading its checkpoint), their order, names for new runs, the migration of the
//! single-slot autosave, and which runs to delete when storage is full. `web::store` keeps the
//! summaries and checkpoints in IndexedDB; `web::locks` decides which tab owns a run.

use serde_bytes::ByteBuf;

use crate::app::saved::SavedRun;
use crate::config::TrainingConfig;
use crate::data::DataRef;
use crate::model::ModelKind;
use crate::weights::Checkpoint;

/// A run's key in the library. Unique across tabs: the page's random tab id and a counter.
pub type RunKey = String;

/// The key the single-slot autosave of earlier versions becomes.
pub const MIGRATED_KEY: &str = "migrated-autosave";
/// The name a migrated autosave gets.
pub const MIGRATED_NAME: &str = "Saved run";
/// Names are cut to this many characters.
pub const MAX_NAME_CHARS: usize = 60;

/// One saved run as the list shows it, stored beside its checkpoint (so listing the runs reads
/// a few kilobytes, not every checkpoint). The field names are the stored record's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunSummary {
    /// Its key.
    pub key: RunKey,
    /// Its name (the user may rename it).
    pub name: String,
    /// Its model (runs saved before there were models are the tutorial's).
    #[serde(default)]
    pub model: ModelKind,
    /// Completed epochs at the last save.
    pub epoch: usize,
    /// Epochs it is configured for.
    pub epochs: usize,
    /// Optimizer steps at the last save.
    pub step: u64,
    /// When it was last saved (ms since the Unix epoch).
    pub saved_at: f64,
    /// Bytes of its checkpoint (weights file, chart, snapshots).
    pub bytes: u64,
    /// The settings that differ from the reference's: (name, value).
    pub changed: Vec<(String, String)>,
    /// Its latest snapshot as 784 grey levels, if it has one.
    pub thumbnail: Option<ByteBuf>,
    /// The data it trains on (runs saved before there were datasets: MNIST).
    #[serde(default)]
    pub dataset: DataRef,
}

impl RunSummary {
    /// The summary of `record`, a save of run `key` named `name` with settings `config`.
    pub fn of(key: &str, name: &str, config: &TrainingConfig, record: &SavedRun) -> Self {
        let snapshot_bytes: usize = record.snapshots.iter().map(|(_, p)| p.len()).sum();
        let thumbnail = record.snapshot_values().pop().map(|(_, pixels)| {
            ByteBuf::from(
                pixels
                    .iter()
                    .map(|&v| crate::data::unscale_pixel(v))
                    .collect::<Vec<u8>>(),
            )
        });
        Self {
            key: key.to_string(),
            name: name.to_string(),
            model: config.model,
            epoch: record.epoch,
            epochs: config.epochs,
            step: record.step,
            saved_at: record.saved_at,
            bytes: (record.weights.len() + record.history.len() + snapshot_bytes) as u64,
            changed: changed_settings(config),
            thumbnail,
            dataset: DataRef::mnist(),
        }
    }

    /// The summary of a run that trains on `dataset`.
    pub fn trained_on(self, dataset: DataRef) -> Self {
        Self { dataset, ..self }
    }

    /// "batch_size 64, epochs 20", or "reference settings".
    pub fn settings_text(&self) -> String {
        if self.changed.is_empty() {
            return "reference settings".into();
        }
        let parts: Vec<String> = self
            .changed
            .iter()
            .map(|(name, value)| format!("{name} {value}"))
            .collect();
        parts.join(", ")
    }
}

/// The settings of `config` that differ from its model's defaults
/// ([`TrainingConfig::for_model`]; the tutorial's are the reference's), in the config's order;
/// the model is told apart ([`RunSummary::model`]).
pub fn changed_settings(config: &TrainingConfig) -> Vec<(String, String)> {
    let as_map = |config: &TrainingConfig| match serde_json::to_value(config) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let defaults = as_map(&TrainingConfig::for_model(config.model));
    crate::app::settings::SETTINGS
        .iter()
        .filter(|&&name| name != "model")
        .filter_map(|&name| {
            let value = as_map(config).get(name).cloned()?;
            let text = match &value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (defaults.get(name) != Some(&value)).then(|| (name.to_string(), text))
        })
        .collect()
}

/// The name of a new run: "Run n", one more than the highest such name in the library.
pub fn next_name(runs: &[RunSummary]) -> String {
    let highest = runs
        .iter()
        .filter_map(|run| run.name.strip_prefix("Run ")?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    format!("Run {}", highest + 1)
}

/// A name as typed, cleaned: trimmed, one line, at most [`MAX_NAME_CHARS`]; `None` if empty.
pub fn clean_name(text: &str) -> Option<String> {
    let name: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_NAME_CHARS)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The name of a run loaded from a weights file: the file's name without its extension.
pub fn name_of_file(file: &str) -> String {
    let stem = file.strip_suffix(".safetensors").unwrap_or(file);
    clean_name(stem).unwrap_or_else(|| "Loaded weights".into())
}

/// Sorts runs newest save first (ties by name, then key, so every tab shows one order).
pub fn order(runs: &mut [RunSummary]) {
    runs.sort_by(|a, b| {
        b.saved_at
            .total_cmp(&a.saved_at)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.key.cmp(&b.key))
    });
}

/// The single-slot autosave of earlier versions as a library run: its summary, from the
/// settings in its weights file. A record whose weights file cannot be read is refused.
pub fn migrate(legacy: &SavedRun) -> Result<RunSummary, String> {
    let checkpoint = Checkpoint::from_bytes(&legacy.weights, "", &TrainingConfig::default())
        .map_err(|e| format!("the old autosave cannot be read: {e}"))?;
    Ok(RunSummary::of(
        MIGRATED_KEY,
        MIGRATED_NAME,
        &checkpoint.config,
        legacy,
    ))
}

/// Runs to delete to free `needed` bytes: the oldest saves first, never one in `keep` (the
/// run on screen, runs open in other tabs). Fewer than needed if that is all there is.
pub fn prune(runs: &[RunSummary], needed: u64, keep: &[RunKey]) -> Vec<RunKey> {
    let mut candidates: Vec<&RunSummary> =
        runs.iter().filter(|run| !keep.contains(&run.key)).collect();
    candidates.sort_by(|a, b| a.saved_at.total_cmp(&b.saved_at));
    let mut freed = 0;
    candidates
        .into_iter()
        .take_while(|run| {
            let more = freed < needed;
            freed += run.bytes;
            more
        })
        .map(|run| run.key.clone())
        .collect()
}

/// "12.3 MB".
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Storage figures of the site (`navigator.storage`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StorageFigures {
    /// Bytes used.
    pub usage: f64,
    /// Bytes the browser allows.
    pub quota: f64,
    /// Whether the browser keeps the site's storage under pressure (`None`: not asked yet).
    pub persisted: Option<bool>,
}

/// What listing the library found: the runs, the runs that other tabs hold, the storage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// Every saved run.
    pub runs: Vec<RunSummary>,
    /// Keys of the runs open in another tab.
    pub elsewhere: Vec<RunKey>,
    /// Storage figures, where the browser tells.
    pub storage: Option<StorageFigures>,
    /// Why the old autosave could not be migrated, if it could not.
    pub migration_error: Option<String>,
}

/// The library as the page knows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Library {
    /// This tab's id, the prefix of the keys of runs it starts.
    pub tab: String,
    /// Runs, newest save first.
    pub runs: Vec<RunSummary>,
    /// Keys of the runs open in another tab.
    pub elsewhere: Vec<RunKey>,
    /// The run whose deletion awaits confirmation.
    pub confirming: Option<RunKey>,
    /// Runs offered for deletion after a save failed for space.
    pub prune_offer: Vec<RunKey>,
    /// Storage figures.
    pub storage: Option<StorageFigures>,
    /// Persistent storage was asked for (once per page).
    pub asked_persist: bool,
    /// Bumped whenever the list changes (the view redraws it only then).
    pub version: u64,
}

impl Library {
    /// The run `key`, if saved.
    pub fn get(&self, key: &str) -> Option<&RunSummary> {
        self.runs.iter().find(|run| run.key == key)
    }

    /// Whether another tab holds run `key`.
    pub fn is_elsewhere(&self, key: &str) -> bool {
        self.elsewhere.iter().any(|k| k == key)
    }

    /// Replaces the list with what was found.
    pub fn listed(&mut self, listing: Listing) {
        self.runs = listing.runs;
        order(&mut self.runs);
        self.elsewhere = listing.elsewhere;
        if let Some(mut storage) = listing.storage {
            storage.persisted = storage.persisted.or(self.storage.and_then(|s| s.persisted));
            self.storage = Some(storage);
        }
        let runs = &self.runs;
        self.prune_offer
            .retain(|key| runs.iter().any(|run| &run.key == key));
        if self
            .confirming
            .as_ref()
            .is_some_and(|key| self.get(key).is_none())
        {
            self.confirming = None;
        }
        self.version += 1;
    }

    /// Puts `summary` in place of the run's previous one.
    pub fn upsert(&mut self, summary: RunSummary) {
        self.runs.retain(|run| run.key != summary.key);
        self.runs.push(summary);
        order(&mut self.runs);
        self.version += 1;
    }

    /// Removes the runs `keys`.
    pub fn remove(&mut self, keys: &[RunKey]) {
        self.runs.retain(|run| !keys.contains(&run.key));
        self.prune_offer.retain(|key| !keys.contains(key));
        self.confirming = self.confirming.take().filter(|key| !keys.contains(key));
        self.version += 1;
    }

    /// Bytes the runs in `keys` take.
    pub fn bytes_of(&self, keys: &[RunKey]) -> u64 {
        self.runs
            .iter()
            .filter(|run| keys.contains(&run.key))
            .map(|run| run.bytes)
            .sum()
    }
}

/// Why a run could not be saved, as the page tells it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SaveFailure {
    /// The browser's storage for this site is full.
    #[error("the browser's storage for this site is full")]
    Full {
        /// Bytes of the save that did not fit.
        needed: u64,
    },
    /// Another tab holds the run.
    #[error("this run is open in another tab")]
    Elsewhere,
    /// Anything else the browser refused, in its words.
    #[error("{0}")]
    Refused(String),
}
