//! What happens to the page ([`Event`]); what the page asks of the world is [`Effect`](super::Effect).

use crate::app::datasets::{DataRef, DatasetInfo};
use crate::app::import::SharedImport;
use crate::app::library::{Listing, RunKey, RunSummary, SaveFailure, StorageFigures};
use crate::app::saved::SavedRun;
use crate::app::timing::FrameWork;
use crate::calibration::Calibration;
use crate::import::ConvertOptions;
use crate::model::ModelKind;
use crate::onnx::Network;
use crate::path::{ComputePath, GpuProbe, PathPreference};
use crate::protocol::{StepReport, TrainerError, WorkerStats};
use crate::quality::Score;
use crate::quality::reference::ReferenceCurve;
use crate::train::Progress;

/// Identifies one trainer installed in the worker (a run, until it is replaced): replies carry
/// it, and a reply for another id is stale and dropped.
pub type RunId = u64;

/// The data in use once loaded: what the page shows of it (the images themselves stay with the effects,
/// which hand them to each worker).
#[derive(Debug, Clone, PartialEq)]
pub struct DataSummary {
    /// Which data.
    pub source: DataRef,
    /// Training images.
    pub count: usize,
    /// Images held out for the score (an imported dataset's tenth; none of MNIST's).
    pub held_out: usize,
    /// The first image's label.
    pub first_label: u8,
    /// The first image's 784 pixels.
    pub first_image: Vec<u8>,
}

/// Memory figures of the worker and of the page.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MemoryFigures {
    /// The worker's.
    pub worker: WorkerStats,
    /// Bytes of the page's wasm memory.
    pub page_wasm: f64,
    /// Bytes of the page's JavaScript heap, where the browser tells.
    pub page_js_heap: Option<f64>,
}

/// Why the weights file is being read.
#[derive(Debug, Clone, PartialEq)]
pub enum CapturePurpose {
    /// The user downloads it.
    Download {
        /// Completed epochs, for the file's name.
        epoch: usize,
    },
    /// The user downloads one network as ONNX.
    Export {
        /// Completed epochs, for the file's name.
        epoch: usize,
        /// The network.
        network: Network,
    },
    /// The autosave after an epoch.
    Autosave {
        /// The position right after that epoch.
        progress: Progress,
    },
    /// The run moves to another path.
    Move {
        /// That path.
        to: ComputePath,
    },
}

/// Everything that changes the page's model.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    // ----- start-up and the world
    /// What asking for WebGPU gave.
    GpuProbed(GpuProbe),
    /// A worker with this path's device is ready (and has the images, once loaded), or not.
    PathStarted {
        /// The path.
        path: ComputePath,
        /// Workers in the group that runs it.
        workers: usize,
        /// Why it could not start.
        result: Result<(), String>,
    },
    /// MNIST download progress (bytes).
    DataProgress {
        /// Received so far.
        received: u64,
        /// Expected in all.
        total: u64,
    },
    /// MNIST is loaded (and in the worker, if one runs), or why not.
    DataLoaded(Result<DataSummary, String>),
    /// The models' reference curves that could be read.
    ReferencesLoaded(Vec<(ModelKind, ReferenceCurve)>),
    /// Both paths timed for the automatic choice.
    Calibrated(Calibration),
    /// The saved runs, listed (at start-up, after a save, when another tab changed them).
    RunsListed(Result<Listing, String>),
    /// Another tab changed the library, or released a run.
    LibraryChanged,
    /// The tab was hidden or shown.
    VisibilityChanged {
        /// Hidden now.
        hidden: bool,
    },
    /// An animation frame, with what the previous one's steps cost.
    Frame(FrameWork),

    // ----- the user
    /// Train, Pause or Continue.
    TrainClicked,
    /// Reset: a new run with the form's settings.
    ResetClicked,
    /// Resume saved run `key`.
    ResumeRun(RunKey),
    /// Roll back to the last save of the run on screen, after a divergence.
    RollBackClicked,
    /// Delete saved run `key` (asks first).
    DeleteRun(RunKey),
    /// The answer to "delete run `key`?".
    DeleteAnswered {
        /// The run.
        key: RunKey,
        /// Delete it.
        confirmed: bool,
    },
    /// Delete the runs offered after a save failed for space.
    PruneClicked,
    /// Rename saved run `key`.
    RenameRun {
        /// The run.
        key: RunKey,
        /// The name as typed.
        name: String,
    },
    /// Download saved run `key`'s weights file.
    DownloadRun(RunKey),
    /// The score interval field was edited.
    ScoreEveryEdited(String),
    /// Sample `index` of the grid (row after row) was clicked.
    GridClicked(usize),
    /// A digit was switched on or off in the digit picker (a conditional model's grid and
    /// walks draw the digits switched on, a column each).
    DigitToggled(u8),
    /// New noise for the grid.
    NewNoiseClicked,
    /// Save the walk's strip as a PNG.
    DownloadWalk,
    /// Load MNIST again after a failure.
    RetryData,
    /// The "Train on" menu.
    PathPicked(PathPreference),
    /// The "CPU workers" menu changed (`None`: automatic).
    WorkersPicked(Option<usize>),
    /// "Measure again": time both paths anew for the automatic choice.
    MeasureAgainClicked,
    /// A settings field was edited.
    SettingEdited {
        /// Its config name.
        field: &'static str,
        /// Its text.
        text: String,
    },
    /// The autosave interval field was edited.
    AutosaveEdited(String),
    /// Download the weights.
    DownloadWeights,
    /// Download 10,000 samples of the generator as a numpy file.
    DownloadSamples,
    /// Download the digits a conditional model's samples are asked for, as a numpy file.
    DownloadSampleLabels,
    /// Download one network as an ONNX file.
    DownloadOnnx(Network),
    /// Save the sample grid as a PNG.
    DownloadGrid,
    /// A weights file was chosen or dropped, and read (or not).
    WeightsChosen {
        /// Its name.
        name: String,
        /// Its bytes, or why they could not be read.
        bytes: Result<Vec<u8>, String>,
    },

    // ----- the worker
    /// The worker created or loaded the trainer of run `run`.
    TrainerReady {
        /// The run.
        run: RunId,
        /// The worker's refusal (it kept its previous trainer).
        result: Result<(), TrainerError>,
    },
    /// The worker applied new live settings to run `run`.
    LiveApplied {
        /// The run.
        run: RunId,
        /// Epochs to train.
        epochs: usize,
        /// Snapshot interval.
        snapshot_every: usize,
        /// The worker's refusal.
        result: Result<(), TrainerError>,
    },
    /// One step of run `run` came back.
    StepDone {
        /// The run.
        run: RunId,
        /// Its report.
        result: Result<StepReport, TrainerError>,
    },
    /// The sample grid of run `run` after `step` steps.
    GridRead {
        /// The run.
        run: RunId,
        /// Steps enqueued before it was asked for.
        step: u64,
        /// cells × 784 pixels, row after row (`session::GridLayout`).
        result: Result<Vec<f32>, TrainerError>,
    },
    /// Samples of run `run` after `epoch` epochs, as little-endian float32 pixels.
    SamplesRead {
        /// The run.
        run: RunId,
        /// Epochs trained when they were asked for.
        epoch: usize,
        /// Their bytes.
        result: Result<Vec<u8>, TrainerError>,
    },
    /// The weights file of run `run`.
    Captured {
        /// The run.
        run: RunId,
        /// Why it was read.
        purpose: CapturePurpose,
        /// The file.
        result: Result<Vec<u8>, TrainerError>,
    },
    /// Memory figures.
    Memory(MemoryFigures),
    /// The quality classifier reached the worker, or why not.
    QualityReady(Result<(), String>),
    /// The score of run `run` after `epoch`.
    Scored {
        /// The run.
        run: RunId,
        /// Epochs trained.
        epoch: usize,
        /// The score.
        result: Result<Score, TrainerError>,
    },
    /// The walk of run `run`'s generator between two grid digits.
    Walked {
        /// The run.
        run: RunId,
        /// The first digit.
        from: usize,
        /// The last.
        to: usize,
        /// Its frames' pixels.
        result: Result<Vec<f32>, TrainerError>,
    },
    /// Run `run`'s grid noise was redrawn.
    NoiseRedrawn {
        /// The run.
        run: RunId,
        /// Why not.
        result: Result<(), TrainerError>,
    },
    /// The worker stopped (its GPU device was lost, or it crashed).
    WorkerStopped(String),

    // ----- storage and downloads
    /// The autosave of run `key` is written (its summary and record), or why not.
    Saved {
        /// The run.
        key: RunKey,
        /// What was written.
        result: Result<(RunSummary, SavedRun), SaveFailure>,
    },
    /// Run `key` was claimed for this tab (its lock taken) and its last save read, or why not.
    RunClaimed {
        /// The run.
        key: RunKey,
        /// Its last save.
        result: Result<SavedRun, String>,
    },
    /// Runs were deleted (their keys), or why not.
    RunsDeleted(Result<Vec<RunKey>, String>),
    /// A run was renamed, or why not.
    RunRenamed(Result<(), String>),
    /// Storage figures, after persistent storage was asked for.
    StorageChecked(StorageFigures),
    /// A download could not be offered.
    DownloadFailed(String),

    // ----- other data
    /// Files were chosen or dropped for an import (the web layer holds them).
    FilesPicked {
        /// The folder's, the zip's or the first file's name.
        name: String,
        /// How many, when known (a drop's folders are walked, and counted, by the import
        /// worker).
        files: Option<usize>,
        /// Their bytes, so far as known (the worker refuses a folder past the limit as it
        /// reads it).
        bytes: u64,
    },
    /// Dropped files or folders could not be read, or the folder picker failed (why).
    DropFailed(String),
    /// Files the import worker has read so far.
    ImportProgress {
        /// Read.
        read: usize,
        /// In all.
        total: usize,
    },
    /// The import worker has every file, or why not.
    FilesStaged(Result<(), String>),
    /// The preview's options changed.
    ImportOptionsPicked(ConvertOptions),
    /// The import worker converted the files, or why not.
    Imported(Result<SharedImport, String>),
    /// The name to store the import under was edited.
    ImportNameEdited(String),
    /// "Use this data".
    UseImportClicked,
    /// The import is stored (its listing), or why not.
    ImportKept(Result<DatasetInfo, String>),
    /// "Cancel" in the preview.
    ImportCancelled,
    /// The stored datasets, listed.
    DatasetsListed(Result<Vec<DatasetInfo>, String>),
    /// Use MNIST or a stored dataset.
    UseData(DataRef),
    /// The workers have the data asked for (what the page shows of it), or why not.
    DataSwitched(Result<DataSummary, String>),
    /// Delete stored dataset (its SHA-256).
    DeleteDataset(String),
    /// A dataset was deleted, or why not.
    DatasetDeleted {
        /// Its SHA-256.
        sha256: String,
        /// Why not.
        result: Result<(), String>,
    },
    /// Rename a stored dataset.
    RenameDataset {
        /// Its SHA-256.
        sha256: String,
        /// The name as typed.
        name: String,
    },
    /// A dataset was renamed, or why not.
    DatasetRenamed(Result<(), String>),
}
