//! The saved runs: listing, autosaves, resuming and rolling back, deleting (after asking),
//! renaming, downloading, and making room when storage is full.

use crate::app::effect::Effect;
use crate::app::library::{
    Listing, RunKey, RunSummary, SaveFailure, StorageFigures, clean_name, megabytes,
};
use crate::app::run::RunLabel;
use crate::app::saved::SavedRun;
use crate::app::{InstallKind, Model};

impl Model {
    pub(super) fn runs_listed(&mut self, result: Result<Listing, String>) {
        match result {
            Ok(listing) => {
                if let Some(error) = &listing.migration_error {
                    self.status.saved = format!("{error}; it was left where it was.");
                }
                self.saved.library.listed(listing);
            }
            Err(e) => self.status.saved = format!("Saved runs are unavailable: {e}."),
        }
    }

    /// Resume saved run `key`: take it for this tab first (→ [`Model::run_claimed`]).
    pub(super) fn resume_run(&mut self, key: RunKey, effects: &mut Vec<Effect>) {
        if self.saved.library.is_elsewhere(&key) {
            self.status.saved = "That run is open in another tab: close it there first.".into();
            return;
        }
        if !self.can_resume(&key) {
            return;
        }
        let Some(run) = self.saved.library.get(&key) else {
            return;
        };
        let wanted = run.dataset.clone();
        if !wanted.same_data(&self.data_in_use()) {
            if self.datasets.has(&wanted) {
                // The run's data first (→ `data_switched`, which resumes it).
                self.datasets.resume_after = Some(key);
                self.use_data(wanted, effects);
            } else {
                self.status.saved = format!(
                    "“{}” trained on “{}”, which is no longer stored in this browser: add the same images again (Add data…) to resume it.",
                    run.name, wanted.name
                );
                self.import.wanted = Some((key, wanted));
            }
            return;
        }
        effects.push(Effect::ClaimRun { key });
    }

    pub(super) fn run_claimed(
        &mut self,
        key: RunKey,
        result: Result<SavedRun, String>,
        effects: &mut Vec<Effect>,
    ) {
        let saved = match result {
            Ok(saved) => saved,
            Err(e) => {
                self.status.saved = format!("The run cannot be resumed: {e}.");
                effects.push(Effect::ListRuns);
                self.run_on_data_in_use(effects);
                return;
            }
        };
        let (name, data) = self.saved.library.get(&key).map_or_else(
            || ("Saved run".to_string(), self.data_in_use()),
            |run| (run.name.clone(), run.dataset.clone()),
        );
        if !self.can_resume(&key) {
            // Something else began while the run was being read.
            effects.push(Effect::ReleaseRun { key });
            return;
        }
        if !data.same_data(&self.data_in_use()) {
            // The data changed while the run was being read: ask again.
            effects.push(Effect::ReleaseRun { key });
            return;
        }
        let label = RunLabel {
            key: key.clone(),
            name,
            data,
        };
        let kind = InstallKind::Resumed { rollback: false };
        if let Err(e) = self.install_saved(saved, label, kind, effects) {
            self.status.saved = format!("The run cannot be resumed: {e}.");
            effects.push(Effect::ReleaseRun { key });
            self.run_on_data_in_use(effects);
        }
    }

    /// Roll back to the last save of the run on screen, after a divergence.
    pub(super) fn roll_back(&mut self, effects: &mut Vec<Effect>) {
        let (Some(saved), Some(run)) = (self.rollback_offer().cloned(), self.run.as_ref()) else {
            return;
        };
        if !self.can_install() {
            return;
        }
        let label = run.label.clone();
        let kind = InstallKind::Resumed { rollback: true };
        if let Err(e) = self.install_saved(saved, label, kind, effects) {
            self.status.saved = format!("The run cannot be rolled back: {e}.");
        }
    }

    /// An autosave came back: the list shows it, and it becomes the run's last save.
    pub(super) fn saved(
        &mut self,
        key: RunKey,
        result: Result<(RunSummary, SavedRun), SaveFailure>,
        effects: &mut Vec<Effect>,
    ) {
        match result {
            Ok((summary, record)) => {
                self.status.saved =
                    format!("Autosaved at epoch {}, step {}.", record.epoch, record.step);
                self.saved.library.prune_offer.clear();
                self.saved.library.upsert(summary);
                if self.on_screen_key() == Some(key.as_str()) {
                    self.saved.last = Some(record);
                }
                if !self.saved.library.asked_persist {
                    self.saved.library.asked_persist = true;
                    effects.push(Effect::PersistStorage);
                }
            }
            Err(SaveFailure::Full { needed }) => {
                let library = &self.saved.library;
                let mut keep = library.elsewhere.clone();
                keep.push(key);
                let offer = crate::app::library::prune(&library.runs, needed, &keep);
                self.status.saved = if offer.is_empty() {
                    "Autosave failed: the browser's storage for this site is full. Training goes on; the previous save is kept.".into()
                } else {
                    "Autosave failed: the browser's storage for this site is full. Training goes on; the previous save is kept. Delete old runs to make room.".into()
                };
                self.saved.library.prune_offer = offer;
                self.saved.library.version += 1;
            }
            Err(e) => {
                self.status.saved =
                    format!("Autosave failed: {e}. Training goes on; the previous save is kept.");
            }
        }
    }

    /// Delete run `key`: ask first. The run on screen and runs open in other tabs stay.
    pub(super) fn delete_asked(&mut self, key: RunKey) {
        if self.on_screen_key() == Some(key.as_str()) || self.saved.library.is_elsewhere(&key) {
            return;
        }
        if self.saved.library.get(&key).is_some() {
            self.saved.library.confirming = Some(key);
            self.saved.library.version += 1;
        }
    }

    pub(super) fn delete_answered(
        &mut self,
        key: &str,
        confirmed: bool,
        effects: &mut Vec<Effect>,
    ) {
        if self.saved.library.confirming.as_deref() != Some(key) {
            return;
        }
        self.saved.library.confirming = None;
        self.saved.library.version += 1;
        if confirmed {
            effects.push(Effect::DeleteRuns {
                keys: vec![key.to_string()],
            });
        }
    }

    /// Delete the runs offered when a save failed for space.
    pub(super) fn prune_clicked(&mut self, effects: &mut Vec<Effect>) {
        let keys = std::mem::take(&mut self.saved.library.prune_offer);
        if !keys.is_empty() {
            self.saved.library.version += 1;
            effects.push(Effect::DeleteRuns { keys });
        }
    }

    pub(super) fn runs_deleted(
        &mut self,
        result: Result<Vec<RunKey>, String>,
        effects: &mut Vec<Effect>,
    ) {
        match result {
            Ok(keys) => {
                let freed = self.saved.library.bytes_of(&keys);
                self.saved.library.remove(&keys);
                self.status.saved = match keys.len() {
                    1 => format!("Deleted 1 run ({}).", megabytes(freed)),
                    n => format!("Deleted {n} runs ({}).", megabytes(freed)),
                };
            }
            Err(e) => self.status.saved = format!("Could not delete: {e}."),
        }
        effects.push(Effect::ListRuns);
    }

    /// Rename run `key` (saved, and not open in another tab).
    pub(super) fn rename(&mut self, key: RunKey, text: &str, effects: &mut Vec<Effect>) {
        let Some(name) = clean_name(text) else {
            self.status.saved = "A run needs a name.".into();
            self.saved.library.version += 1; // show the old name again
            return;
        };
        if self.saved.library.is_elsewhere(&key) {
            return;
        }
        if let Some(run) = self.run.as_mut().filter(|run| run.label.key == key) {
            run.label.name = name.clone();
        }
        let Some(mut summary) = self.saved.library.get(&key).cloned() else {
            return;
        };
        if summary.name != name {
            summary.name = name.clone();
            self.saved.library.upsert(summary);
            effects.push(Effect::RenameRun { key, name });
        }
    }

    pub(super) fn run_renamed(&mut self, result: Result<(), String>, effects: &mut Vec<Effect>) {
        if let Err(e) = result {
            self.status.saved = format!("Could not rename the run: {e}.");
            effects.push(Effect::ListRuns);
        }
    }

    /// Offer saved run `key`'s weights file.
    pub(super) fn download_run(&mut self, key: &str, effects: &mut Vec<Effect>) {
        if let Some(run) = self.saved.library.get(key) {
            let stem: String = run
                .name
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { '-' })
                .collect();
            effects.push(Effect::DownloadRun {
                key: key.to_string(),
                name: format!("{stem}-epoch-{}.safetensors", run.epoch),
            });
        }
    }

    pub(super) fn storage_checked(&mut self, figures: StorageFigures) {
        self.saved.library.storage = Some(figures);
        self.saved.library.version += 1;
    }
}
