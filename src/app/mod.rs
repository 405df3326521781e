//! The page's logic as plain Rust, compiled and tested natively: one [`Model`] with an
//! explicit [`RunPhase`], and one [`Model::update`] that turns each [`Event`] into a new model
//! and the [`Effect`]s to run. `web::runtime` feeds it events, runs the effects
//! (`web::effects`) and renders the views (`web::view`) once after each update.

mod calibrate;
pub mod chart;
mod controls;
pub mod datasets;
pub mod effect;
pub mod event;
pub mod import;
mod importing;
pub mod library;
mod lifecycle;
pub mod phase;
pub mod quality;
mod replies;
pub mod run;
mod runs;
pub mod saved;
pub mod settings;
mod state;
mod switch;
pub mod timing;
mod workers;

pub use calibrate::MeasureState;
pub use datasets::{DataRef, DatasetInfo, Datasets};
pub use effect::Effect;
pub use event::{CapturePurpose, DataSummary, Event, MemoryFigures, RunId};
pub use import::{ImportPhase, ImportState, SharedImport};
pub use library::{Library, RunKey};
pub use phase::{PauseReason, RunPhase};
pub use run::{Run, RunLabel};
pub use state::{DataState, Display, InstallKind, PathState, PendingInstall, SavedState, Status};

use crate::app::quality::QualityState;
use crate::app::saved::SavedRun;
use crate::app::settings::SettingsForm;
use crate::calibration::CalibrationStore;
use crate::config::TrainingConfig;
use crate::path::{CpuWorkers, PathPreference};

pub use crate::protocol::MAX_IN_FLIGHT;
/// How often the sample grid and the chart are redrawn while training (ms).
pub const REDRAW_MS: f64 = 250.0;
/// How often the memory figures are refreshed while training (ms).
pub const MEMORY_MS: f64 = 2000.0;
/// How often the counters show the latest step while training (ms).
pub const COUNTERS_MS: f64 = 100.0;
/// Workers the page starts after one stopped before it gives up.
pub const MAX_RESTARTS: u32 = 3;

/// The page's whole state.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Where the page is.
    pub phase: RunPhase,
    /// Where training runs.
    pub path: PathState,
    /// The data in use (MNIST, built in, or a dataset stored here).
    pub data: DataState,
    /// The datasets stored in this browser.
    pub datasets: Datasets,
    /// An import of the visitor's files, under way or previewed.
    pub import: ImportState,
    /// The settings form.
    pub settings: SettingsForm,
    /// The run on screen.
    pub run: Option<Run>,
    /// A trainer awaiting the worker's acknowledgement.
    pub pending: Option<PendingInstall>,
    /// The saved run.
    pub saved: SavedState,
    /// Messages.
    pub status: Status,
    /// View pacing and figures.
    pub display: Display,
    /// Quality scores and the latent explorer.
    pub quality: QualityState,
    next_id: RunId,
}

impl Model {
    /// A page that has just started in tab `tab` (a random id), and the effects that start it:
    /// probe WebGPU, load MNIST, list the saved runs. `workers` holds the machine's cores and
    /// the CPU workers asked for; `calibrations`, the measurements remembered.
    pub fn boot(
        preference: PathPreference,
        workers: CpuWorkers,
        calibrations: CalibrationStore,
        tab: &str,
    ) -> (Self, Vec<Effect>) {
        let model = Self {
            phase: RunPhase::Loading,
            path: PathState {
                preference,
                workers,
                measure: MeasureState {
                    store: calibrations,
                    ..MeasureState::default()
                },
                reason: "Looking for a WebGPU adapter…".into(),
                ..PathState::default()
            },
            data: DataState::Downloading(0, 0),
            datasets: Datasets::default(),
            import: ImportState::default(),
            settings: SettingsForm::new(&TrainingConfig::default()),
            run: None,
            pending: None,
            saved: SavedState {
                autosave_text: "1".into(),
                autosave_every: 1,
                last: None,
                library: Library {
                    tab: tab.to_string(),
                    ..Library::default()
                },
            },
            status: Status::default(),
            display: Display::default(),
            quality: QualityState::default(),
            next_id: 1,
        };
        (
            model,
            vec![
                Effect::ProbeGpu,
                Effect::LoadData,
                Effect::ListRuns,
                Effect::ListDatasets,
                Effect::LoadReferences,
            ],
        )
    }

    fn new_id(&mut self) -> RunId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Training images per epoch's batches, once MNIST is loaded.
    pub fn batches_per_epoch(&self) -> usize {
        match (&self.data, &self.run) {
            (DataState::Ready(data), Some(run)) => data.count.div_ceil(run.config.batch_size),
            _ => 0,
        }
    }

    /// Whether Train (or Continue) can start training now.
    pub fn can_train(&self) -> bool {
        matches!(
            self.phase,
            RunPhase::Idle | RunPhase::Paused(_) | RunPhase::Running
        ) && matches!(self.data, DataState::Ready(_))
            && self.pending.is_none()
            && self.path.measure.measuring.is_none()
            && self.run.as_ref().is_some_and(|run| {
                Some(run.path) == self.path.active
                    && !run.is_finished()
                    && run.label.data.same_data(&self.data_in_use())
            })
    }

    /// Whether the worker is free for a new trainer (loading a file, resuming, a new path): not
    /// while the workers get other data.
    pub fn can_install(&self) -> bool {
        self.path.active.is_some()
            && !matches!(self.data, DataState::Switching { .. })
            && !matches!(
                self.phase,
                RunPhase::Switching { .. } | RunPhase::Recovering { .. } | RunPhase::Unavailable(_)
            )
    }

    /// Whether the saved run `key` can be resumed here now: the worker is free, nothing
    /// trains, MNIST is loaded, and the run is neither on screen nor open in another tab.
    pub fn can_resume(&self, key: &str) -> bool {
        self.can_install()
            && self.phase != RunPhase::Running
            && self.pending.is_none()
            && matches!(self.data, DataState::Ready(_))
            && self.on_screen_key() != Some(key)
            && !self.saved.library.is_elsewhere(key)
    }

    /// The key of the run on screen.
    pub fn on_screen_key(&self) -> Option<&str> {
        self.run.as_ref().map(|run| run.label.key.as_str())
    }

    /// The save to roll back to, when the run diverged.
    pub fn rollback_offer(&self) -> Option<&SavedRun> {
        self.saved
            .last
            .as_ref()
            .filter(|_| self.run.as_ref().is_some_and(|run| run.diverged))
    }

    /// The phase a run settles in when nothing is under way: loading until MNIST is there,
    /// ready for a fresh run, finished when every epoch is done, paused otherwise.
    fn settled_phase(&self, reason: PauseReason) -> RunPhase {
        if !matches!(self.data, DataState::Ready(_)) {
            return RunPhase::Loading;
        }
        match &self.run {
            Some(run) if run.started && run.is_finished() && run.in_flight == 0 => {
                RunPhase::Finished
            }
            Some(run) if run.started => RunPhase::Paused(reason),
            _ => RunPhase::Idle,
        }
    }

    /// One event: the model changes, and the effects to run come back (in order).
    pub fn update(&mut self, event: Event, now: f64) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            Event::GpuProbed(probe) => {
                self.path.probe = Some(probe);
                self.choose_path(&mut effects);
            }
            Event::PathStarted {
                path,
                workers,
                result,
            } => self.path_started(path, workers, result, &mut effects),
            Event::DataProgress { received, total } => {
                self.data = DataState::Downloading(received, total);
            }
            Event::DataLoaded(result) => self.data_loaded(result, &mut effects),
            Event::Calibrated(calibration) => self.calibrated(calibration, &mut effects),
            Event::ReferencesLoaded(references) => {
                self.quality.references = references;
                self.display.chart_version += 1;
            }
            Event::MeasureAgainClicked => self.measure_again(&mut effects),
            Event::RunsListed(result) => self.runs_listed(result),
            Event::LibraryChanged => effects.push(Effect::ListRuns),
            Event::VisibilityChanged { hidden } => self.visibility(hidden, now, &mut effects),
            Event::Frame(work) => self.frame(work, now, &mut effects),
            Event::TrainClicked => self.toggle(now, &mut effects),
            Event::ResetClicked => self.reset(&mut effects),
            Event::ResumeRun(key) => {
                self.import.wanted = None;
                self.resume_run(key, &mut effects);
            }
            Event::RollBackClicked => self.roll_back(&mut effects),
            Event::RunClaimed { key, result } => self.run_claimed(key, result, &mut effects),
            Event::DeleteRun(key) => self.delete_asked(key),
            Event::DeleteAnswered { key, confirmed } => {
                self.delete_answered(&key, confirmed, &mut effects);
            }
            Event::RunsDeleted(result) => self.runs_deleted(result, &mut effects),
            Event::RenameRun { key, name } => self.rename(key, &name, &mut effects),
            Event::RunRenamed(result) => self.run_renamed(result, &mut effects),
            Event::DownloadRun(key) => self.download_run(&key, &mut effects),
            Event::PruneClicked => self.prune_clicked(&mut effects),
            Event::StorageChecked(figures) => self.storage_checked(figures),
            Event::QualityReady(result) => self.quality_ready(result),
            Event::ScoreEveryEdited(text) => self.score_every_edited(text),
            Event::Scored { run, epoch, result } => self.scored(run, epoch, result, now),
            Event::GridClicked(index) => self.grid_clicked(index, &mut effects),
            Event::DigitToggled(digit) => self.digit_toggled(digit, &mut effects),
            Event::Walked {
                run,
                from,
                to,
                result,
            } => self.walked(run, from, to, result),
            Event::NewNoiseClicked => self.new_noise(now, &mut effects),
            Event::NoiseRedrawn { run, result } => self.noise_redrawn(run, result, &mut effects),
            Event::DownloadWalk => effects.push(Effect::DownloadCanvas {
                id: "walk-strip",
                name: "walk.png".into(),
            }),
            Event::RetryData => {
                self.data = DataState::Downloading(0, 0);
                effects.push(Effect::LoadData);
            }
            Event::PathPicked(preference) => {
                self.path.preference = preference;
                self.choose_path(&mut effects);
            }
            Event::WorkersPicked(chosen) => self.workers_picked(chosen, &mut effects),
            Event::SettingEdited { field, text } => self.setting_edited(field, &text, &mut effects),
            Event::AutosaveEdited(text) => self.autosave_edited(text),
            Event::DownloadWeights => self.download(None, &mut effects),
            Event::DownloadSamples => self.download_samples(&mut effects),
            Event::DownloadSampleLabels => self.download_sample_labels(&mut effects),
            Event::SamplesRead { run, epoch, result } => {
                self.samples_read(run, epoch, result, &mut effects);
            }
            Event::DownloadOnnx(network) => self.download(Some(network), &mut effects),
            Event::DownloadGrid => effects.push(Effect::DownloadCanvas {
                id: "grid",
                name: "samples.png".into(),
            }),
            Event::WeightsChosen { name, bytes } => self.weights_chosen(name, bytes, &mut effects),
            Event::TrainerReady { run, result } => self.trainer_ready(run, result, &mut effects),
            Event::LiveApplied {
                run,
                epochs,
                snapshot_every,
                result,
            } => self.live_applied(run, epochs, snapshot_every, result),
            Event::StepDone { run, result } => self.step_done(run, result, now, &mut effects),
            Event::GridRead { run, step, result } => {
                self.grid_read(run, step, result, &mut effects);
            }
            Event::Captured {
                run,
                purpose,
                result,
            } => self.captured(run, purpose, result, now, &mut effects),
            Event::Memory(figures) => self.display.memory = Some(figures),
            Event::WorkerStopped(reason) => self.worker_stopped(&reason, now, &mut effects),
            Event::Saved { key, result } => self.saved(key, result, &mut effects),
            Event::DownloadFailed(message) => {
                self.status.weights = format!("The download failed: {message}");
            }
            Event::FilesPicked { name, files, bytes } => {
                self.files_picked(&name, files, bytes, &mut effects);
            }
            Event::ImportProgress { read, total } => self.import_progress(read, total),
            Event::FilesStaged(result) => self.files_staged(result, &mut effects),
            Event::ImportOptionsPicked(options) => self.import_options(options, &mut effects),
            Event::Imported(result) => self.imported(result),
            Event::ImportNameEdited(name) => self.import.name = name,
            Event::UseImportClicked => self.use_import(&mut effects),
            Event::ImportKept(result) => self.import_kept(result, &mut effects),
            Event::ImportCancelled => self.cancel_import(&mut effects),
            Event::DropFailed(message) => self.drop_failed(&message, &mut effects),
            Event::DatasetsListed(result) => self.datasets_listed(result),
            Event::UseData(to) => self.use_data_asked(to, &mut effects),
            Event::DataSwitched(result) => self.data_switched(result, &mut effects),
            Event::DeleteDataset(sha256) => self.delete_dataset(sha256, &mut effects),
            Event::DatasetDeleted { sha256, result } => {
                self.dataset_deleted(&sha256, result, &mut effects);
            }
            Event::RenameDataset { sha256, name } => {
                self.rename_dataset(sha256, &name, &mut effects);
            }
            Event::DatasetRenamed(result) => self.dataset_renamed(result, &mut effects),
        }
        effects
    }
}
