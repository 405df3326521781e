//! Switching the data in use: one dataset at a time; switching pauses the run on screen and
//! starts a new run on the new data (or resumes the saved run that asked for it, which brings
//! its data back, or asks for it by name when it was deleted). Stored datasets are renamed and
//! deleted here too.

use crate::app::effect::Effect;
use crate::app::event::DataSummary;
use crate::app::library::clean_name;
use crate::app::{DataRef, DataState, DatasetInfo, Model};

impl Model {
    /// The data in use (MNIST until another is chosen).
    pub fn data_in_use(&self) -> DataRef {
        match &self.data {
            DataState::Ready(summary) => summary.source.clone(),
            DataState::Switching { from, .. } => from.source.clone(),
            _ => DataRef::mnist(),
        }
    }

    pub(super) fn datasets_listed(&mut self, result: Result<Vec<DatasetInfo>, String>) {
        match result {
            Ok(mut stored) => {
                stored.sort_by(|a, b| b.saved_at.total_cmp(&a.saved_at));
                self.datasets.stored = stored;
            }
            Err(e) => self.datasets.status = format!("Stored datasets are unavailable: {e}."),
        }
        self.datasets.version += 1;
    }

    /// "Use" in the Data panel: a resume waiting for its data gives way only to a switch that
    /// goes ahead; a run waiting for deleted data is forgotten.
    pub(super) fn use_data_asked(&mut self, to: DataRef, effects: &mut Vec<Effect>) {
        let waiting = self.datasets.resume_after.take();
        self.import.wanted = None;
        self.use_data(to, effects);
        if !effects
            .iter()
            .any(|e| matches!(e, Effect::SwitchData { .. }))
        {
            self.datasets.resume_after = waiting;
        }
    }

    /// Put `to` to use: the run on screen pauses, the workers get the data, and a new run
    /// begins on it (→ [`Model::data_switched`]).
    pub(super) fn use_data(&mut self, to: DataRef, effects: &mut Vec<Effect>) {
        // By its stored name (a run's record keeps the name it had then).
        let to = match to.sha256.as_deref() {
            None => DataRef::mnist(),
            Some(hash) => self.datasets.get(hash).map_or(to, DatasetInfo::data_ref),
        };
        let DataState::Ready(current) = self.data.clone() else {
            self.datasets.status = "Wait until the data in use is ready.".into();
            return;
        };
        if current.source.same_data(&to) {
            if let Some(key) = self.datasets.resume_after.take() {
                self.resume_run(key, effects);
            }
            return;
        }
        if !self.can_install() || self.pending.is_some() {
            self.datasets.status = "Wait until the run on screen is installed.".into();
            self.datasets.resume_after = None;
            return;
        }
        if !self.datasets.has(&to) {
            self.datasets.status = format!("“{}” is not stored in this browser.", to.name);
            self.datasets.resume_after = None;
            return;
        }
        let unlabelled = to
            .sha256
            .as_deref()
            .and_then(|hash| self.datasets.get(hash))
            .is_some_and(|info| !info.labelled);
        let needs_labels = self
            .settings
            .parsed()
            .as_ref()
            .is_ok_and(|config| config.model.labels() > 0);
        if unlabelled && needs_labels && self.datasets.resume_after.is_none() {
            self.datasets.status = format!(
                "“{}” has no labels, and the model in the settings draws the digit asked for: choose a model without labels first.",
                to.name
            );
            return;
        }
        self.pause_for_change(effects);
        self.datasets.status = format!("Switching to “{}”…", to.name);
        self.data = DataState::Switching {
            to: to.clone(),
            from: Box::new(current),
        };
        effects.push(Effect::SwitchData { to });
    }

    /// The workers have the data (or not): a new run on it, or the run that asked for it.
    pub(super) fn data_switched(
        &mut self,
        result: Result<DataSummary, String>,
        effects: &mut Vec<Effect>,
    ) {
        let DataState::Switching { to, from } = std::mem::take(&mut self.data) else {
            return;
        };
        match result {
            Ok(summary) => {
                self.datasets.status = format!("Training on “{}”.", summary.source.name);
                self.data = DataState::Ready(summary);
                self.display.untrained = None;
                match self.datasets.resume_after.take() {
                    Some(key) => {
                        self.resume_run(key, effects);
                        self.run_on_data_in_use(effects);
                    }
                    None => self.install_fresh(effects),
                }
            }
            Err(e) => {
                self.datasets.status = format!("“{}” could not be put to use: {e}.", to.name);
                self.datasets.resume_after = None;
                self.data = DataState::Ready(*from);
            }
        }
    }

    /// A fresh run on the data in use, unless the run on screen (or the one being installed,
    /// or claimed) trains on it: a resume that did not go ahead must not leave a run on other
    /// data, which cannot train.
    pub(super) fn run_on_data_in_use(&mut self, effects: &mut Vec<Effect>) {
        let claiming = effects.iter().any(|e| matches!(e, Effect::ClaimRun { .. }));
        let in_use = self.data_in_use();
        let on_other = self
            .run
            .as_ref()
            .is_some_and(|run| !run.label.data.same_data(&in_use));
        if !claiming && self.pending.is_none() && on_other {
            self.install_fresh(effects);
        }
    }

    /// Delete stored dataset `sha256` (not the one in use; runs on it keep its name and ask
    /// for it again when resumed).
    pub(super) fn delete_dataset(&mut self, sha256: String, effects: &mut Vec<Effect>) {
        if self.data_in_use().sha256.as_deref() == Some(sha256.as_str()) {
            self.datasets.status = "The data in use cannot be deleted: use another first.".into();
            return;
        }
        if let DataState::Switching { to, .. } = &self.data
            && to.sha256.as_deref() == Some(sha256.as_str())
        {
            return;
        }
        if self.datasets.get(&sha256).is_some() {
            effects.push(Effect::DeleteDataset { sha256 });
        }
    }

    pub(super) fn dataset_deleted(
        &mut self,
        sha256: &str,
        result: Result<(), String>,
        effects: &mut Vec<Effect>,
    ) {
        match result {
            Ok(()) => {
                let name = self.datasets.get(sha256).map(|d| d.name.clone());
                self.datasets.stored.retain(|d| d.sha256 != sha256);
                if let Some(name) = name {
                    self.datasets.status = format!("Deleted “{name}”.");
                }
                self.datasets.version += 1;
            }
            Err(e) => {
                self.datasets.status = format!("Could not delete the dataset: {e}.");
                effects.push(Effect::ListDatasets);
            }
        }
    }

    /// Rename stored dataset `sha256` (runs keep the name it had when they began).
    pub(super) fn rename_dataset(&mut self, sha256: String, text: &str, effects: &mut Vec<Effect>) {
        let Some(name) = clean_name(text) else {
            self.datasets.status = "A dataset needs a name.".into();
            self.datasets.version += 1;
            return;
        };
        let Some(info) = self.datasets.stored.iter_mut().find(|d| d.sha256 == sha256) else {
            return;
        };
        if info.name == name {
            return;
        }
        info.name = name.clone();
        if let DataState::Ready(summary) = &mut self.data
            && summary.source.sha256.as_deref() == Some(sha256.as_str())
        {
            summary.source.name = name.clone();
        }
        self.datasets.version += 1;
        effects.push(Effect::RenameDataset { sha256, name });
    }

    pub(super) fn dataset_renamed(
        &mut self,
        result: Result<(), String>,
        effects: &mut Vec<Effect>,
    ) {
        if let Err(e) = result {
            self.datasets.status = format!("Could not rename the dataset: {e}.");
            effects.push(Effect::ListDatasets);
        }
    }
}
