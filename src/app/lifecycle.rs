//! Start-up and the worker's life: choosing and starting a path, MNIST, the saved run found at
//! start-up, installing trainers (acknowledged), moving a run between paths, recovering from a
//! worker that stopped.

use crate::app::effect::Effect;
use crate::app::event::{CapturePurpose, DataSummary, RunId};
use crate::app::library::{name_of_file, next_name};
use crate::app::run::{Run, RunLabel};
use crate::app::saved::SavedRun;
use crate::app::{
    DataState, InstallKind, MAX_RESTARTS, Model, PauseReason, PendingInstall, RunPhase,
};
use crate::config::TrainingConfig;
use crate::path::{ComputePath, choose_path};
use crate::protocol::TrainerError;
use crate::weights::Checkpoint;

impl Model {
    /// Picks the path by the rules, the user's preference and, where they apply, the
    /// measurements ([`Model::calibration_key`]), and starts it, unless it is the one running or
    /// starting already.
    pub(super) fn choose_path(&mut self, effects: &mut Vec<Effect>) {
        let Some(probe) = &self.path.probe else {
            return;
        };
        if matches!(
            self.phase,
            RunPhase::Switching { .. } | RunPhase::Running | RunPhase::Unavailable(_)
        ) || matches!(self.data, DataState::Switching { .. })
        {
            return;
        }
        let choice = match self.calibration_key() {
            Some(key) => match self.measured_choice(key, effects) {
                Some(choice) => choice,
                None => return, // measuring; the CPU path trains meanwhile
            },
            None => {
                self.path.measure.measuring = None;
                choose_path(probe, self.path.preference)
            }
        };
        self.path.reason = choice.reason;
        let recovering = matches!(self.phase, RunPhase::Recovering { .. });
        if !recovering
            && (self.path.active == Some(choice.path) || self.path.starting == Some(choice.path))
        {
            return;
        }
        self.start_path(choice.path, effects);
    }

    pub(super) fn path_started(
        &mut self,
        path: ComputePath,
        workers: usize,
        result: Result<(), String>,
        effects: &mut Vec<Effect>,
    ) {
        if self.path.starting != Some(path) {
            return; // a newer choice is under way
        }
        self.path.starting = None;
        // A new group holds no trainer: the run on screen cannot go on in it.
        let new_group = self.path.group.is_none();
        if let Err(error) = result {
            if path == ComputePath::WebGpu {
                self.path.reason = format!("{error}; training on the CPU instead");
                self.start_path(ComputePath::Cpu, effects);
            } else {
                self.path.active = None;
                self.path.reason = error.clone();
                self.phase = RunPhase::Unavailable(error);
            }
            return;
        }
        self.path.active = Some(path);
        self.path.group = Some(workers);
        self.ask_to_measure(effects);
        if let RunPhase::Recovering { .. } = self.phase {
            self.install_last_save(path, effects);
            return;
        }
        match &self.run {
            Some(_) if new_group => self.install_fresh(effects),
            Some(run) if run.path == path => {}
            Some(run) if run.started => {
                let id = run.id;
                self.pause_for_change(effects);
                self.phase = RunPhase::Switching { to: path };
                effects.push(Effect::Capture {
                    run: id,
                    purpose: CapturePurpose::Move { to: path },
                });
            }
            _ => self.install_fresh(effects),
        }
    }

    pub(super) fn data_loaded(
        &mut self,
        result: Result<DataSummary, String>,
        effects: &mut Vec<Effect>,
    ) {
        match result {
            Ok(summary) => {
                self.data = DataState::Ready(summary);
                if self.phase == RunPhase::Loading {
                    self.phase = self.settled_phase(PauseReason::User);
                }
                self.ask_to_measure(effects);
            }
            Err(message) => self.data = DataState::Failed(message),
        }
    }

    /// Stops frames and the epoch clock before the run's trainer changes.
    pub(super) fn pause_for_change(&mut self, effects: &mut Vec<Effect>) {
        effects.push(Effect::CancelFrame);
        if self.phase == RunPhase::Running {
            self.phase = RunPhase::Paused(PauseReason::User);
        }
    }

    /// A label for a new run: a key no tab has used, and `name` (or the next "Run n").
    pub(super) fn new_label(&mut self, name: Option<String>) -> RunLabel {
        let id = self.new_id();
        let key = format!("{}-{id}", self.saved.library.tab);
        let name = name.unwrap_or_else(|| next_name(&self.saved.library.runs));
        RunLabel {
            key,
            name,
            data: self.data_in_use(),
        }
    }

    /// A fresh run with the form's settings on the active path.
    pub(super) fn install_fresh(&mut self, effects: &mut Vec<Effect>) {
        let (Some(path), Ok(config)) = (self.path.active, self.settings.parsed().clone()) else {
            return;
        };
        let label = self.new_label(None);
        self.create(path, config, label, InstallKind::Fresh, effects);
    }

    /// A fresh trainer for `config` on `path`, as run `label`, installed as `kind`.
    fn create(
        &mut self,
        path: ComputePath,
        config: TrainingConfig,
        label: RunLabel,
        kind: InstallKind,
        effects: &mut Vec<Effect>,
    ) {
        let id = self.new_id();
        effects.push(Effect::Create {
            run: id,
            path,
            config: config.clone(),
        });
        self.begin_install(Run::fresh(id, label, path, config), kind, None);
    }

    /// A run from a weights file (parsed here so that a bad file never reaches the worker), as
    /// run `label` (a new run, named after the file, if `None`).
    pub(super) fn install_file(
        &mut self,
        bytes: Vec<u8>,
        label: Option<RunLabel>,
        kind: InstallKind,
        effects: &mut Vec<Effect>,
    ) -> Result<(), String> {
        let Some(path) = self.path.active else {
            return Err("weights need a device to load onto".into());
        };
        let fallback = self.settings.parsed().clone().unwrap_or_default();
        let checkpoint =
            Checkpoint::from_bytes(&bytes, "", &fallback).map_err(|e| e.to_string())?;
        let label = label.unwrap_or_else(|| {
            let name = match &kind {
                InstallKind::Loaded { name } => Some(name_of_file(name)),
                _ => None,
            };
            self.new_label(name)
        });
        let id = self.new_id();
        let mut run = Run::at(id, label, path, checkpoint.config, checkpoint.progress);
        run.record.scores = checkpoint.scores;
        self.pause_for_change(effects);
        effects.push(Effect::Load {
            run: id,
            path,
            weights: bytes,
            fallback,
        });
        self.begin_install(run, kind, None);
        Ok(())
    }

    fn begin_install(&mut self, run: Run, kind: InstallKind, save: Option<SavedRun>) {
        self.pending = Some(PendingInstall {
            id: run.id,
            kind,
            run: Some(Box::new(run)),
            save: save.map(Box::new),
        });
    }

    /// Run `label` from its save `saved`, with its chart and snapshots, as `kind`.
    pub(super) fn install_saved(
        &mut self,
        saved: SavedRun,
        label: RunLabel,
        kind: InstallKind,
        effects: &mut Vec<Effect>,
    ) -> Result<(), String> {
        self.install_file(saved.weights.to_vec(), Some(label), kind, effects)?;
        if let Some(pending) = self.pending.as_mut()
            && let Some(run) = pending.run.as_mut()
        {
            run.record.history = saved.history_values();
            run.record.snapshots = saved.snapshot_values();
            pending.save = Some(Box::new(saved));
        }
        Ok(())
    }

    fn install_last_save(&mut self, path: ComputePath, effects: &mut Vec<Effect>) {
        let label = self.run.as_ref().map(|run| run.label.clone());
        let restored = match (self.saved.last.clone(), label.clone()) {
            (Some(saved), Some(label)) => self
                .install_saved(saved, label, InstallKind::Recovered, effects)
                .is_ok(),
            _ => false,
        };
        if !restored {
            self.run = None;
            let config = self.settings.parsed().clone().unwrap_or_default();
            let label = label.unwrap_or_else(|| self.new_label(None));
            self.create(path, config, label, InstallKind::Recovered, effects);
        }
    }

    /// The worker acknowledged (or refused) trainer `id`: only now does the page change.
    pub(super) fn trainer_ready(
        &mut self,
        id: RunId,
        result: Result<(), TrainerError>,
        effects: &mut Vec<Effect>,
    ) {
        if self.pending.as_ref().is_none_or(|p| p.id != id) {
            return; // replaced by a newer install
        }
        let Some(pending) = self.pending.take() else {
            return;
        };
        if let Err(error) = result {
            // A run claimed for this tab and not installed goes back to the library.
            if let Some(run) = &pending.run
                && self.on_screen_key() != Some(run.label.key.as_str())
                && pending.save.is_some()
            {
                effects.push(Effect::ReleaseRun {
                    key: run.label.key.clone(),
                });
            }
            self.install_refused(pending.kind, &error);
            return;
        }
        match pending.run {
            Some(run) => {
                if let Some(old) = self.run.as_ref()
                    && old.label.key != run.label.key
                {
                    effects.push(Effect::ReleaseRun {
                        key: old.label.key.clone(),
                    });
                }
                self.saved.last = pending.save.map(|save| *save);
                self.run = Some(*run);
            }
            None => {
                if let (Some(run), InstallKind::Moved { to }) = (self.run.as_mut(), &pending.kind) {
                    run.path = *to;
                }
            }
        }
        self.display.chart_version += 1;
        self.status.run = None;
        let Some(run) = &self.run else { return };
        let (epoch, step) = (run.progress.epoch, run.progress.step);
        match pending.kind {
            InstallKind::Fresh => {}
            InstallKind::Loaded { name } => {
                self.status.weights = format!(
                    "Loaded {name}: epoch {epoch}, step {step}. Press Continue to train on from here, or just look at its samples."
                );
            }
            InstallKind::Resumed { .. } => {
                self.status.saved = format!("Resumed at epoch {epoch}, step {step}.");
            }
            InstallKind::Moved { to } => {
                self.status.run = Some(format!("The run moved to {to}; press Continue to go on."));
            }
            InstallKind::Recovered => {
                let text = if run.started {
                    format!(
                        "The trainer stopped and was restarted from the last save (epoch {epoch}, step {step}). Press Continue."
                    )
                } else {
                    "The trainer stopped and was restarted; with no save yet, the run starts over."
                        .to_string()
                };
                self.status.saved = text.clone();
                self.status.run = Some(text);
            }
        }
        if let Some(run) = &self.run
            && run.started
        {
            self.settings = crate::app::settings::SettingsForm::new(&run.config);
        }
        self.phase = self.settled_phase(PauseReason::User);
        // A choice of CPU workers made while this install was under way applies now, before the
        // run starts (a started run keeps its group until the next Reset).
        if self.run.as_ref().is_some_and(|run| !run.started) && self.regroup(effects) {
            return; // the new group gets a fresh run, and its grid then
        }
        self.request_grid(effects);
    }

    fn install_refused(&mut self, kind: InstallKind, error: &TrainerError) {
        match kind {
            InstallKind::Fresh => {
                self.status.run = Some(format!("The trainer could not be created: {error}."));
            }
            InstallKind::Loaded { name } => {
                self.status.weights =
                    format!("{name} was not loaded: {error}. The current model is unchanged.");
            }
            InstallKind::Resumed { .. } => {
                self.status.saved = format!("The saved run cannot be resumed: {error}.");
            }
            InstallKind::Moved { .. } => {
                self.status.run = Some(format!(
                    "The run could not move: {error}. It stays where it was."
                ));
                self.path.active = self.run.as_ref().map(|run| run.path);
            }
            InstallKind::Recovered => {
                self.status.run = Some(format!("The trainer could not be restarted: {error}."));
            }
        }
        self.phase = match self.phase {
            RunPhase::Switching { .. } | RunPhase::Recovering { .. } => {
                self.settled_phase(PauseReason::Failed)
            }
            ref phase => phase.clone(),
        };
    }

    /// The worker stopped: a new one takes over from the last save, a few times at most.
    pub(super) fn worker_stopped(&mut self, reason: &str, now: f64, effects: &mut Vec<Effect>) {
        effects.push(Effect::CancelFrame);
        if let Some(run) = self.run.as_mut() {
            run.timing.clock.pause(now);
            run.in_flight = 0;
            run.grid.pending = false;
        }
        self.pending = None;
        self.path.active = None;
        self.path.starting = None;
        self.path.restarts += 1;
        if self.path.restarts > MAX_RESTARTS {
            self.phase = self.settled_phase(PauseReason::Failed);
            self.status.run = Some(format!(
                "The trainer keeps stopping ({reason}). Reload the page to try again."
            ));
            return;
        }
        self.status.run = Some(format!(
            "Training is paused: {}.",
            TrainerError::Worker(reason.to_string())
        ));
        self.status.saved = "The trainer stopped; starting a new one…".into();
        self.phase = RunPhase::Recovering {
            attempt: self.path.restarts,
        };
        self.drop_group(effects);
        self.choose_path(effects);
    }
}
