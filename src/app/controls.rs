//! What the user does, and the frame that paces training.

use crate::app::effect::Effect;
use crate::app::event::CapturePurpose;
use crate::app::event::RunId;
use crate::app::quality::is_score_epoch;
use crate::app::settings::{describe_autosave, parse_autosave};
use crate::app::timing::FrameWork;
use crate::app::{
    COUNTERS_MS, InstallKind, MAX_IN_FLIGHT, MEMORY_MS, Model, PauseReason, REDRAW_MS, RunPhase,
};
use crate::idx::IMAGE_PIXELS;
use crate::onnx::Network;
use crate::protocol::TrainerError;
use crate::quality::{DEFAULT_SAMPLES, requested_labels};
use crate::samples::{TAKEAWAY_SAMPLES, images_file, labels_file};

impl Model {
    /// Train, Pause or Continue.
    pub(super) fn toggle(&mut self, now: f64, effects: &mut Vec<Effect>) {
        if self.phase == RunPhase::Running {
            self.phase = RunPhase::Paused(PauseReason::User);
            if let Some(run) = self.run.as_mut() {
                run.timing.clock.pause(now);
            }
            effects.push(Effect::CancelFrame);
            // Show the model exactly as it is now.
            self.request_grid(effects);
            return;
        }
        if !self.can_train() {
            return;
        }
        let visible = self.display.visible;
        let Some(run) = self.run.as_mut() else { return };
        run.started = true;
        if visible {
            run.timing.clock.resume(now);
        }
        self.phase = RunPhase::Running;
        self.status.run = None;
        self.status.settings =
            "Locked during the run: only epochs and the snapshot interval can change.".into();
        effects.push(Effect::ScheduleFrame);
    }

    /// Reset: a new run with the form's settings (the old one stays until the worker has it).
    pub(super) fn reset(&mut self, effects: &mut Vec<Effect>) {
        if !self.can_install() || self.run.as_ref().is_none_or(|run| !run.started) {
            return;
        }
        self.pause_for_change(effects);
        // A new group of the wanted size installs the fresh run once it has started.
        if !self.regroup(effects) {
            self.install_fresh(effects);
        }
    }

    pub(super) fn setting_edited(&mut self, field: &str, text: &str, effects: &mut Vec<Effect>) {
        if !self.settings.edit(field, text) {
            return;
        }
        let config = match self.settings.parsed() {
            Ok(config) => config.clone(),
            Err(e) => {
                self.status.settings = format!("Not applied: {e}");
                return;
            }
        };
        match &self.run {
            Some(run) if run.started => {
                if (config.epochs, config.snapshot_every)
                    != (run.config.epochs, run.config.snapshot_every)
                {
                    effects.push(Effect::SetLive {
                        run: run.id,
                        epochs: config.epochs,
                        snapshot_every: config.snapshot_every,
                    });
                }
            }
            Some(run) if run.config == config && self.pending.is_none() => {}
            _ => {
                self.status.settings = "Settings apply to the next run.".into();
                self.install_fresh(effects);
            }
        }
    }

    pub(super) fn live_applied(
        &mut self,
        id: u64,
        epochs: usize,
        snapshot_every: usize,
        result: Result<(), crate::protocol::TrainerError>,
    ) {
        let Some(run) = self.run.as_mut().filter(|run| run.id == id) else {
            return;
        };
        if let Err(e) = result {
            self.status.settings = format!("Not applied: {e}");
            return;
        }
        run.config.epochs = epochs;
        run.config.snapshot_every = snapshot_every;
        let more_to_do = !run.is_finished();
        self.status.settings = "Applied to the current run.".into();
        if self.phase == RunPhase::Finished && more_to_do {
            self.phase = RunPhase::Paused(PauseReason::User);
        }
    }

    pub(super) fn autosave_edited(&mut self, text: String) {
        match parse_autosave(&text) {
            Ok(every) => {
                self.saved.autosave_every = every;
                self.status.saved = describe_autosave(every);
            }
            Err(message) => self.status.saved = message,
        }
        self.saved.autosave_text = text;
    }

    /// Reads the run's weights file for a download: as it is (`as_onnx` none), or one network
    /// of it as ONNX. Named after the epoch the run has completed now.
    pub(super) fn download(&mut self, as_onnx: Option<Network>, effects: &mut Vec<Effect>) {
        let Some(run) = &self.run else { return };
        let epoch = run.progress.epoch;
        let purpose = match as_onnx {
            None => CapturePurpose::Download { epoch },
            Some(network) => CapturePurpose::Export { epoch, network },
        };
        effects.push(Effect::Capture {
            run: run.id,
            purpose,
        });
        self.status.weights = "Reading the weights…".into();
    }

    /// Asks the worker for 10,000 samples ([`crate::samples`]).
    pub(super) fn download_samples(&mut self, effects: &mut Vec<Effect>) {
        let Some(run) = &self.run else { return };
        if self.display.samples_pending {
            return;
        }
        self.display.samples_pending = true;
        effects.push(Effect::Samples {
            run: run.id,
            epoch: run.progress.epoch,
            count: TAKEAWAY_SAMPLES,
        });
        self.status.weights = format!("Drawing {TAKEAWAY_SAMPLES} samples…");
    }

    /// The samples' file, `mnist-gan-epoch-N-samples.npy` (a conditional run's
    /// `mnist-gan-conditional-epoch-N-samples.npy`).
    pub(super) fn samples_read(
        &mut self,
        id: RunId,
        epoch: usize,
        result: Result<Vec<u8>, TrainerError>,
        effects: &mut Vec<Effect>,
    ) {
        self.display.samples_pending = false;
        let Some(run) = self.run.as_ref().filter(|run| run.id == id) else {
            self.status.weights =
                "The samples were of a run no longer on screen: not saved.".into();
            return;
        };
        match result {
            Ok(bytes) => {
                let count = bytes.len() / (4 * IMAGE_PIXELS);
                let name = format!("{}-samples.npy", run.config.model.file_stem(epoch));
                self.status.weights = format!(
                    "{name}: {count} samples, float32 [{count}, 28, 28] in [-1, 1], from the fixed scoring noise."
                );
                effects.push(Effect::Download {
                    name,
                    bytes: images_file(&bytes),
                });
            }
            Err(e) => self.status.weights = format!("The samples could not be drawn: {e}."),
        }
    }

    /// The digits a conditional model's samples are asked for,
    /// `mnist-gan-conditional-epoch-N-labels.npy` (uint8): the same for every run and epoch, so
    /// the page writes them itself.
    pub(super) fn download_sample_labels(&mut self, effects: &mut Vec<Effect>) {
        let Some(run) = self
            .run
            .as_ref()
            .filter(|run| run.config.model.labels() > 0)
        else {
            return;
        };
        let labels = requested_labels(TAKEAWAY_SAMPLES);
        effects.push(Effect::Download {
            name: format!(
                "{}-labels.npy",
                run.config.model.file_stem(run.progress.epoch)
            ),
            bytes: labels_file(&labels),
        });
    }

    pub(super) fn weights_chosen(
        &mut self,
        name: String,
        bytes: Result<Vec<u8>, String>,
        effects: &mut Vec<Effect>,
    ) {
        if name.to_lowercase().ends_with(".onnx") {
            self.status.weights = format!(
                "{name} was not loaded: an ONNX file is an export for other programs. Load the run's .safetensors weights file instead. The current model is unchanged."
            );
            return;
        }
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(e) => {
                self.status.weights = format!("Could not read {name}: {e}");
                return;
            }
        };
        if !self.can_install() {
            self.status.weights =
                format!("{name} was not loaded: the trainer is busy. Try again in a moment.");
            return;
        }
        let kind = InstallKind::Loaded { name: name.clone() };
        match self.install_file(bytes, None, kind, effects) {
            Ok(()) => self.status.weights = format!("Reading {name}…"),
            Err(e) => {
                self.status.weights =
                    format!("{name} was not loaded: {e}. The current model is unchanged.");
            }
        }
    }

    pub(super) fn visibility(&mut self, hidden: bool, now: f64, effects: &mut Vec<Effect>) {
        self.display.visible = !hidden;
        let running = self.phase == RunPhase::Running;
        let Some(run) = self.run.as_mut() else { return };
        if hidden {
            // The browser stops animation frames; the clock stops with them.
            run.timing.clock.pause(now);
        } else if running {
            run.timing.clock.resume(now);
            effects.push(Effect::ScheduleFrame);
        }
    }

    /// One animation frame while running: enqueue as many steps as the in-flight cap and the
    /// frame budget allow (with the autosave's capture right after an epoch's last step), and
    /// refresh the grid, chart and memory figures when due.
    pub(super) fn frame(&mut self, work: FrameWork, now: f64, effects: &mut Vec<Effect>) {
        if self.phase != RunPhase::Running {
            return;
        }
        let batches = self.batches_per_epoch();
        let every = self.saved.autosave_every;
        let score_every = self.quality.score_every();
        self.display.budget.adapt(work);
        let Some(run) = self.run.as_mut() else { return };
        let steps = self
            .display
            .budget
            .steps(MAX_IN_FLIGHT.saturating_sub(run.in_flight));
        for _ in 0..steps {
            if run.is_finished() || batches == 0 {
                break;
            }
            let (next, finished) = run.progress.after_batch(batches, run.config.k);
            run.progress = next;
            run.in_flight += 1;
            effects.push(Effect::Step { run: run.id });
            // The score first: the worker finishes it before the autosave's capture, which
            // then includes it.
            if let (Some(epoch), Some(score_every)) = (finished, score_every)
                && is_score_epoch(score_every, epoch, run.config.epochs)
            {
                effects.push(Effect::Score {
                    run: run.id,
                    epoch,
                    samples: DEFAULT_SAMPLES,
                });
                self.quality.asked_at = Some(now);
            }
            let save_due = finished
                .is_some_and(|epoch| every > 0 && (epoch % every == 0 || run.is_finished()));
            if save_due && !run.diverged {
                effects.push(Effect::Capture {
                    run: run.id,
                    purpose: CapturePurpose::Autosave { progress: next },
                });
            }
        }
        let refreshed = &mut self.display.refreshed;
        if now - refreshed.counters >= COUNTERS_MS {
            refreshed.counters = now;
            self.display.counters_version += 1;
        }
        if now - refreshed.redraw >= REDRAW_MS {
            refreshed.redraw = now;
            self.display.chart_version += 1;
            self.request_grid(effects);
        }
        if now - self.display.refreshed.memory >= MEMORY_MS {
            self.display.refreshed.memory = now;
            effects.push(Effect::Stats);
        }
        effects.push(Effect::ScheduleFrame);
    }

    /// Reads the grid of the run as it is now, one read at a time.
    pub(super) fn request_grid(&mut self, effects: &mut Vec<Effect>) {
        if self.pending.is_some() {
            return;
        }
        let Some(run) = self.run.as_mut().filter(|run| !run.grid.pending) else {
            return;
        };
        run.grid.pending = true;
        let digits = self.quality.grid_digits(run.config.model);
        effects.push(Effect::Grid {
            run: run.id,
            step: run.progress.step,
            digits,
        });
    }
}
