//! What the page asks of the world ([`Effect`]); the answers come back as [`Event`](super::Event)s.

use super::event::{CapturePurpose, RunId};
use crate::app::datasets::DataRef;
use crate::app::import::SharedImport;
use crate::app::library::{RunKey, RunSummary};
use crate::app::saved::SavedRun;
use crate::calibration::CalibrationKey;
use crate::config::TrainingConfig;
use crate::import::ConvertOptions;
use crate::matmul::Products;
use crate::path::ComputePath;

/// What the page asks the world to do; `web::effects` does it and answers with events.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Ask for a WebGPU adapter → [`Event::GpuProbed`](super::Event::GpuProbed).
    ProbeGpu,
    /// Start a group of `workers` workers (unless one runs) with this path's device →
    /// [`Event::PathStarted`](super::Event::PathStarted). A CPU run trains on every worker of the group, a WebGPU run on
    /// the first.
    StartPath {
        /// The path.
        path: ComputePath,
        /// Workers, when a new group starts.
        workers: usize,
        /// On WebGPU, the kernel for the matrix products that a calibration chose (`None`: the
        /// adapter's own).
        products: Option<Products>,
    },
    /// Drop the group of workers (the next [`Effect::StartPath`] starts a new one).
    DropWorker,
    /// Time a few steps of each path on the running group, with these settings (the run in
    /// place untouched) → [`Event::Calibrated`](super::Event::Calibrated).
    Calibrate {
        /// What the figures will be remembered for.
        key: CalibrationKey,
        /// The settings to time.
        config: TrainingConfig,
    },
    /// Keep the calibrations (JSON) in the browser's local storage.
    StoreCalibrations(String),
    /// Send the WebGPU device's matrix products through this kernel from now on (a calibration
    /// chose it while the group was already on WebGPU).
    UseProducts(Products),
    /// Fetch each model's reference curve → [`Event::ReferencesLoaded`](super::Event::ReferencesLoaded).
    LoadReferences,
    /// Download and check MNIST → [`Event::DataProgress`](super::Event::DataProgress), [`Event::DataLoaded`](super::Event::DataLoaded).
    LoadData,
    /// List the saved runs and the runs other tabs hold → [`Event::RunsListed`](super::Event::RunsListed).
    ListRuns,
    /// Take run `key` for this tab and read its last save → [`Event::RunClaimed`](super::Event::RunClaimed).
    ClaimRun {
        /// The run.
        key: RunKey,
    },
    /// Let other tabs have run `key` (it left the screen).
    ReleaseRun {
        /// The run.
        key: RunKey,
    },
    /// Delete runs (none open in another tab) → [`Event::RunsDeleted`](super::Event::RunsDeleted).
    DeleteRuns {
        /// Their keys.
        keys: Vec<RunKey>,
    },
    /// Rename run `key` → [`Event::RunRenamed`](super::Event::RunRenamed).
    RenameRun {
        /// The run.
        key: RunKey,
        /// Its new name.
        name: String,
    },
    /// Offer saved run `key`'s weights file for download (→ [`Event::DownloadFailed`](super::Event::DownloadFailed)).
    DownloadRun {
        /// The run.
        key: RunKey,
        /// The file's name.
        name: String,
    },
    /// Ask the browser to keep the site's storage → [`Event::StorageChecked`](super::Event::StorageChecked).
    PersistStorage,
    /// A fresh trainer for run `run` → [`Event::TrainerReady`](super::Event::TrainerReady).
    Create {
        /// The run.
        run: RunId,
        /// Its path.
        path: ComputePath,
        /// Its settings.
        config: TrainingConfig,
    },
    /// The trainer of a weights file for run `run` → [`Event::TrainerReady`](super::Event::TrainerReady).
    Load {
        /// The run.
        run: RunId,
        /// Its path.
        path: ComputePath,
        /// The file.
        weights: Vec<u8>,
        /// Settings for a file without them.
        fallback: TrainingConfig,
    },
    /// New live settings → [`Event::LiveApplied`](super::Event::LiveApplied).
    SetLive {
        /// The run.
        run: RunId,
        /// Epochs to train.
        epochs: usize,
        /// Snapshot interval.
        snapshot_every: usize,
    },
    /// Train the next batch → [`Event::StepDone`](super::Event::StepDone).
    Step {
        /// The run.
        run: RunId,
    },
    /// The sample grid → [`Event::GridRead`](super::Event::GridRead).
    Grid {
        /// The run.
        run: RunId,
        /// Steps enqueued so far.
        step: u64,
        /// The digits of its columns (a conditional model's; empty otherwise).
        digits: Vec<u8>,
    },
    /// Samples of the generator → [`Event::SamplesRead`](super::Event::SamplesRead).
    Samples {
        /// The run.
        run: RunId,
        /// Epochs trained.
        epoch: usize,
        /// How many.
        count: usize,
    },
    /// The weights file → [`Event::Captured`](super::Event::Captured).
    Capture {
        /// The run.
        run: RunId,
        /// Why.
        purpose: CapturePurpose,
    },
    /// Memory figures → [`Event::Memory`](super::Event::Memory).
    Stats,
    /// Score the generator → [`Event::Scored`](super::Event::Scored).
    Score {
        /// The run.
        run: RunId,
        /// Epochs trained when it is taken.
        epoch: usize,
        /// Samples.
        samples: usize,
    },
    /// The generator's walk between two grid digits → [`Event::Walked`](super::Event::Walked).
    Walk {
        /// The run.
        run: RunId,
        /// The first digit.
        from: usize,
        /// The last.
        to: usize,
        /// Images.
        frames: usize,
        /// The grid's digits, as for `Grid`.
        digits: Vec<u8>,
    },
    /// New grid noise → [`Event::NoiseRedrawn`](super::Event::NoiseRedrawn).
    GridNoise {
        /// The run.
        run: RunId,
        /// Its seed.
        seed: u64,
    },
    /// Write the autosave of run `summary.key` (taking the run for this tab if no tab has it)
    /// → [`Event::Saved`](super::Event::Saved).
    Save {
        /// Its summary.
        summary: Box<RunSummary>,
        /// Its checkpoint.
        record: Box<SavedRun>,
    },
    /// Offer a file for download (→ [`Event::DownloadFailed`](super::Event::DownloadFailed) if that fails).
    Download {
        /// The file's name.
        name: String,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// Offer a canvas of the page as a PNG (→ [`Event::DownloadFailed`](super::Event::DownloadFailed) if that fails).
    DownloadCanvas {
        /// The canvas' element id.
        id: &'static str,
        /// The file's name.
        name: String,
    },
    /// Request an animation frame (→ [`Event::Frame`](super::Event::Frame)), unless one is requested.
    ScheduleFrame,
    /// Cancel the requested animation frame.
    CancelFrame,
    /// Start an import worker and stage the files the visitor picked in it →
    /// [`Event::ImportProgress`](super::Event::ImportProgress), [`Event::FilesStaged`](super::Event::FilesStaged).
    ReadImport,
    /// Convert the staged files → [`Event::Imported`](super::Event::Imported).
    Import {
        /// How.
        options: ConvertOptions,
    },
    /// Hash and store a conversion → [`Event::ImportKept`](super::Event::ImportKept); nothing is kept if it fails.
    KeepImport {
        /// The conversion.
        data: SharedImport,
        /// Its name.
        name: String,
        /// The data a saved run waits for: anything else is refused.
        expect: Option<DataRef>,
    },
    /// Stop the import worker.
    CloseImport,
    /// List the stored datasets → [`Event::DatasetsListed`](super::Event::DatasetsListed).
    ListDatasets,
    /// Hand `to` to the workers (and to every worker started later) →
    /// [`Event::DataSwitched`](super::Event::DataSwitched).
    SwitchData {
        /// The data.
        to: DataRef,
    },
    /// Delete a stored dataset → [`Event::DatasetDeleted`](super::Event::DatasetDeleted).
    DeleteDataset {
        /// Its SHA-256.
        sha256: String,
    },
    /// Rename a stored dataset → [`Event::DatasetRenamed`](super::Event::DatasetRenamed).
    RenameDataset {
        /// Its SHA-256.
        sha256: String,
        /// Its new name.
        name: String,
    },
}
