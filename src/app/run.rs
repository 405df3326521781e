//! One run as the page sees it: its trainer's id and position, what came back of it, and its
//! clocks. Starting a run is constructing a new [`Run`].

use crate::app::datasets::DataRef;
use crate::app::event::RunId;
use crate::app::library::RunKey;
use crate::app::timing::{ActiveClock, StepRate, seconds_left};
use crate::config::TrainingConfig;
use crate::path::ComputePath;
use crate::protocol::Snapshot;
use crate::quality::EpochScore;
use crate::train::{Progress, StepValues};

/// What came back of a run: the chart, the snapshots and the tutorial's epoch log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRecord {
    /// One entry per batch whose statistics came back.
    pub history: Vec<StepValues>,
    /// Snapshots of G(seed), in epoch order.
    pub snapshots: Vec<Snapshot>,
    /// Seconds of training of each epoch finished in this page: (epoch, seconds).
    pub epoch_times: Vec<(usize, f64)>,
    /// Quality scores, in epoch order.
    pub scores: Vec<EpochScore>,
}

/// The sample grid: the last one shown, and whether one is being read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GridState {
    /// A read is under way (one at a time).
    pub pending: bool,
    /// Steps and pixels (cells × 784) of the grid shown.
    pub shown: Option<(u64, Vec<f32>)>,
    /// Grids read so far: a new one, even of the same step (new noise, other digits), is
    /// drawn again.
    pub reads: u64,
}

/// Clocks of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunTiming {
    /// Training time of the current epoch.
    pub clock: ActiveClock,
    /// Steps per second.
    pub rate: StepRate,
}

/// The run as the user knows it: its key in the library and its name. Kept when the run moves
/// path, recovers or is resumed from its own save; new for a fresh run or a loaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLabel {
    /// Its key in the library.
    pub key: RunKey,
    /// Its name.
    pub name: String,
    /// The data it trains on.
    pub data: DataRef,
}

/// One run on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Its trainer in the worker: replies carry it.
    pub id: RunId,
    /// The run as the user knows it.
    pub label: RunLabel,
    /// The path its trainer runs on.
    pub path: ComputePath,
    /// Its settings.
    pub config: TrainingConfig,
    /// The position after every step enqueued so far (followed with the core's rule).
    pub progress: Progress,
    /// It has trained (or was loaded): its settings but the live ones are locked.
    pub started: bool,
    /// A loss or weight stopped being finite: it is never autosaved again.
    pub diverged: bool,
    /// Steps enqueued whose reports have not come back.
    pub in_flight: usize,
    /// What came back of it.
    pub record: RunRecord,
    /// Its clocks.
    pub timing: RunTiming,
    /// Its sample grid.
    pub grid: GridState,
}

impl Run {
    /// A fresh run: untrained, its settings still open.
    pub fn fresh(id: RunId, label: RunLabel, path: ComputePath, config: TrainingConfig) -> Self {
        Self {
            started: false,
            ..Self::at(id, label, path, config, Progress::default())
        }
    }

    /// A loaded or resumed run `label` at `progress` (started: its settings are locked).
    pub fn at(
        id: RunId,
        label: RunLabel,
        path: ComputePath,
        config: TrainingConfig,
        progress: Progress,
    ) -> Self {
        Self {
            id,
            label,
            path,
            config,
            progress,
            started: true,
            diverged: false,
            in_flight: 0,
            record: RunRecord::default(),
            timing: RunTiming::default(),
            grid: GridState::default(),
        }
    }

    /// Whether every configured epoch is done (or enqueued).
    pub fn is_finished(&self) -> bool {
        self.progress.epoch >= self.config.epochs
    }

    /// Optimizer steps whose statistics came back (those in flight are not counted yet).
    pub fn steps_done(&self) -> u64 {
        self.progress
            .step
            .saturating_sub((self.in_flight * self.config.k) as u64)
    }

    /// Seconds left at the current rate, for `batches` batches per epoch.
    pub fn seconds_left(&self, batches: usize) -> Option<f64> {
        let total = (self.config.epochs * batches) as f64;
        let done = (self.progress.epoch * batches + self.progress.batch) as f64;
        seconds_left(
            (total - done) * self.config.k as f64,
            self.timing.rate.per_second(),
        )
    }

    /// The caption of the snapshot after `epoch`: the last epoch's is marked as the final
    /// generator when the reference would not have taken it.
    pub fn snapshot_label(&self, epoch: usize) -> String {
        if epoch >= self.config.epochs && !self.config.is_snapshot_epoch(epoch) {
            format!("epoch {epoch}, final")
        } else {
            format!("epoch {epoch}")
        }
    }

    /// Whether every recorded value is finite (a diverged run is never saved).
    pub fn is_finite(&self) -> bool {
        !self.diverged && self.record.history.iter().all(StepValues::is_finite)
    }
}
