//! What comes back: steps, grids, weights files, saves. A reply for a run that is no longer
//! on screen is stale and dropped without touching the current run.

use serde_bytes::ByteBuf;

use crate::app::effect::Effect;
use crate::app::event::{CapturePurpose, RunId};
use crate::app::library::RunSummary;
use crate::app::saved::SavedRun;
use crate::app::{InstallKind, Model, PauseReason, PendingInstall, RunPhase};
use crate::protocol::{StepReport, TrainerError};

impl Model {
    /// Stops training after a failure; a worker that stopped is handled by
    /// [`Model::worker_stopped`], so its requests' failures change nothing more.
    fn trainer_failed(&mut self, error: &TrainerError, effects: &mut Vec<Effect>) {
        if matches!(
            self.phase,
            RunPhase::Recovering { .. } | RunPhase::Unavailable(_)
        ) || matches!(error, TrainerError::Worker(_)) && self.path.active.is_none()
        {
            return;
        }
        effects.push(Effect::CancelFrame);
        self.phase = RunPhase::Paused(PauseReason::Failed);
        self.status.run = Some(format!("Training is paused: {error}."));
    }

    fn diverged(&mut self, what: String, effects: &mut Vec<Effect>) {
        let Some(run) = self.run.as_mut() else { return };
        if run.diverged {
            return;
        }
        run.diverged = true;
        effects.push(Effect::CancelFrame);
        if self.phase == RunPhase::Running {
            self.phase = RunPhase::Paused(PauseReason::Diverged);
        }
        let hint = match &self.saved.last {
            Some(saved) => format!(
                "Roll back to the last save (epoch {}), or Reset.",
                saved.epoch
            ),
            None => "There is no save of this run to roll back to: resume a saved run, or Reset."
                .to_string(),
        };
        self.status.run = Some(format!("Training diverged ({what}) and stopped. {hint}"));
    }

    pub(super) fn step_done(
        &mut self,
        id: RunId,
        result: Result<StepReport, TrainerError>,
        now: f64,
        effects: &mut Vec<Effect>,
    ) {
        let Some(run) = self.run.as_mut().filter(|run| run.id == id) else {
            return;
        };
        run.in_flight = run.in_flight.saturating_sub(1);
        let report = match result {
            Ok(report) => report,
            Err(e) => return self.trainer_failed(&e, effects),
        };
        run.record.history.push(report.values);
        run.timing.rate.record(now);
        if let Some(epoch) = report.finished_epoch {
            let seconds = run.timing.clock.lap(now) / 1000.0;
            run.record.epoch_times.push((epoch, seconds));
        }
        if let Some(snapshot) = report.snapshot {
            run.record.snapshots.push(snapshot);
        }
        let finished = run.is_finished() && run.in_flight == 0;
        if finished {
            run.timing.clock.pause(now);
        }
        if !report.values.is_finite() {
            let what = format!("a loss is not a finite number: {:?}", report.values);
            self.diverged(what, effects);
        } else if finished
            && matches!(
                self.phase,
                RunPhase::Running | RunPhase::Paused(PauseReason::User)
            )
        {
            self.phase = RunPhase::Finished;
            effects.push(Effect::CancelFrame);
        }
        if self.phase != RunPhase::Running {
            self.display.chart_version += 1;
            self.display.counters_version += 1;
            self.request_grid(effects);
        }
    }

    pub(super) fn grid_read(
        &mut self,
        id: RunId,
        step: u64,
        result: Result<Vec<f32>, TrainerError>,
        effects: &mut Vec<Effect>,
    ) {
        let Some(run) = self.run.as_mut().filter(|run| run.id == id) else {
            return;
        };
        run.grid.pending = false;
        let pixels = match result {
            Ok(pixels) => pixels,
            Err(e) => return self.trainer_failed(&e, effects),
        };
        if step == 0 && !run.started {
            self.display.untrained = Some(
                pixels
                    .iter()
                    .take(crate::idx::IMAGE_PIXELS)
                    .copied()
                    .collect(),
            );
        }
        let behind = run.progress.step != step;
        run.grid.shown = Some((step, pixels));
        run.grid.reads += 1;
        // Stopped, but the model moved on while this was read: read it as it is.
        if behind && self.phase != RunPhase::Running {
            self.request_grid(effects);
        }
    }

    pub(super) fn captured(
        &mut self,
        id: RunId,
        purpose: CapturePurpose,
        result: Result<Vec<u8>, TrainerError>,
        now: f64,
        effects: &mut Vec<Effect>,
    ) {
        let Some(run) = self.run.as_ref().filter(|run| run.id == id) else {
            return;
        };
        match (purpose, result) {
            (CapturePurpose::Download { epoch }, Ok(bytes)) => {
                let name = format!("{}.safetensors", run.config.model.file_stem(epoch));
                self.status.weights = format!("Saved {name}.");
                effects.push(Effect::Download { name, bytes });
            }
            (CapturePurpose::Export { epoch, network }, Ok(bytes)) => {
                match crate::onnx::export_weights_file(&bytes, network, &run.config) {
                    Ok(file) => {
                        let name = network.file_name(run.config.model, epoch);
                        self.status.weights = format!("Saved {name}.");
                        effects.push(Effect::Download { name, bytes: file });
                    }
                    Err(e) => self.status.weights = format!("Not exported as ONNX: {e}."),
                }
            }
            (CapturePurpose::Download { .. } | CapturePurpose::Export { .. }, Err(e)) => {
                self.status.weights = format!("Could not read the weights: {e}");
            }
            (CapturePurpose::Autosave { .. }, Err(TrainerError::Diverged(e))) => {
                self.diverged(
                    format!("the weights are no longer finite numbers: {e}"),
                    effects,
                );
            }
            (CapturePurpose::Autosave { .. }, Err(e)) => {
                self.status.saved = format!("Autosave failed: {e}. The previous save is kept.");
            }
            (CapturePurpose::Autosave { progress }, Ok(bytes)) => {
                // The chart as it was right after that epoch (one entry per batch).
                let batches = self.batches_per_epoch();
                let recorded =
                    (progress.epoch * batches + progress.batch).min(run.record.history.len());
                let history = &run.record.history[..recorded];
                if !run.is_finite() {
                    return; // never replace a good save with a diverged run
                }
                let record = SavedRun {
                    weights: ByteBuf::from(bytes),
                    epoch: progress.epoch,
                    step: progress.step,
                    history: SavedRun::encode_history(history),
                    snapshots: SavedRun::encode_snapshots(
                        &run.record
                            .snapshots
                            .iter()
                            .filter(|(epoch, _)| *epoch <= progress.epoch)
                            .cloned()
                            .collect::<Vec<_>>(),
                    ),
                    saved_at: now,
                };
                let summary = RunSummary::of(&run.label.key, &run.label.name, &run.config, &record)
                    .trained_on(run.label.data.clone());
                effects.push(Effect::Save {
                    summary: Box::new(summary),
                    record: Box::new(record),
                });
            }
            (CapturePurpose::Move { to }, Ok(bytes)) => {
                let fallback = run.config.clone();
                effects.push(Effect::Load {
                    run: id,
                    path: to,
                    weights: bytes,
                    fallback,
                });
                self.pending = Some(PendingInstall {
                    id,
                    kind: InstallKind::Moved { to },
                    run: None,
                    save: None,
                });
            }
            (CapturePurpose::Move { .. }, Err(e)) => {
                self.status.run = Some(format!(
                    "The run could not move: {e}. It stays where it was."
                ));
                self.path.active = Some(run.path);
                self.phase = self.settled_phase(PauseReason::User);
            }
        }
    }
}
