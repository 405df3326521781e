//! The parts of the page's model: where training runs, MNIST, the saved runs, the panels'
//! messages, the views' pacing, and a trainer being installed.

use crate::app::DataSummary;
use crate::app::MeasureState;
use crate::app::datasets::DataRef;
use crate::app::event::{MemoryFigures, RunId};
use crate::app::library::Library;
use crate::app::run::Run;
use crate::app::saved::SavedRun;
use crate::app::timing::FrameBudget;
use crate::path::{ComputePath, CpuWorkers, GpuProbe, PathPreference};

/// Where training runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathState {
    /// What asking for WebGPU gave, once asked.
    pub probe: Option<GpuProbe>,
    /// The "Train on" menu.
    pub preference: PathPreference,
    /// The path being started.
    pub starting: Option<ComputePath>,
    /// The path new trainers go to, once started.
    pub active: Option<ComputePath>,
    /// Why that path, in words (or why none can train).
    pub reason: String,
    /// Workers started after one stopped.
    pub restarts: u32,
    /// The machine's cores and the user's choice of CPU workers.
    pub workers: CpuWorkers,
    /// Workers of the group running now (`None`: none, or it was dropped).
    pub group: Option<usize>,
    /// The automatic choice's measurements.
    pub measure: MeasureState,
}

/// The data in use: MNIST, downloading at start-up, or a dataset put to use since.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum DataState {
    /// Not asked for yet.
    #[default]
    Waiting,
    /// Downloading MNIST: bytes received and expected.
    Downloading(u64, u64),
    /// Loaded and checked.
    Ready(DataSummary),
    /// The workers are getting other data.
    Switching {
        /// That data.
        to: DataRef,
        /// The data until then (in use again if the switch fails).
        from: Box<DataSummary>,
    },
    /// Why it could not be loaded (Retry is offered).
    Failed(String),
}

/// The saved runs, the last save of the run on screen, and the autosave's interval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SavedState {
    /// The last good save of the run on screen (what a roll-back or a recovery restores).
    pub last: Option<SavedRun>,
    /// Every saved run.
    pub library: Library,
    /// The interval field's text.
    pub autosave_text: String,
    /// Autosave after every this many epochs; 0 turns it off.
    pub autosave_every: usize,
}

/// The messages the panels show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// About the run (shown in place of `settings` while set).
    pub run: Option<String>,
    /// About the settings.
    pub settings: String,
    /// About weights files.
    pub weights: String,
    /// About the saved run.
    pub saved: String,
    /// About the import being previewed.
    pub import: String,
}

/// When, while training, the views were last refreshed (ms): each at its own pace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refreshed {
    /// The grid and the chart ([`crate::app::REDRAW_MS`]).
    pub redraw: f64,
    /// The memory figures, asked of the worker ([`crate::app::MEMORY_MS`]).
    pub memory: f64,
    /// The counters ([`crate::app::COUNTERS_MS`]).
    pub counters: f64,
}

impl Default for Refreshed {
    fn default() -> Self {
        Self {
            redraw: f64::NEG_INFINITY,
            memory: f64::NEG_INFINITY,
            counters: f64::NEG_INFINITY,
        }
    }
}

/// What the views need besides the run: redraw pacing, the untrained sample, memory figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Display {
    /// The frame budget.
    pub budget: FrameBudget,
    /// When the paced views were last refreshed.
    pub refreshed: Refreshed,
    /// Bumped whenever the chart should be drawn again.
    pub chart_version: u64,
    /// Bumped whenever the counters (step, epoch, speed, time left, latest losses) should show
    /// the run's figures again: every [`crate::app::COUNTERS_MS`] while training (writing the
    /// page's text at every step cost two CPU workers 7–15 % of their speed on 2 cores), at once
    /// otherwise.
    pub counters_version: u64,
    /// The untrained generator's first sample (784 pixels).
    pub untrained: Option<Vec<f32>>,
    /// The latest memory figures.
    pub memory: Option<MemoryFigures>,
    /// The tab is visible.
    pub visible: bool,
    /// 10,000 samples are being drawn for a download (one at a time).
    pub samples_pending: bool,
}

impl Default for Display {
    fn default() -> Self {
        Self {
            budget: FrameBudget::default(),
            refreshed: Refreshed::default(),
            chart_version: 0,
            counters_version: 0,
            untrained: None,
            memory: None,
            visible: true,
            samples_pending: false,
        }
    }
}

/// How a trainer being installed came about: what to say, and which phase follows, once the
/// worker acknowledges it.
#[derive(Debug, Clone, PartialEq)]
pub enum InstallKind {
    /// A fresh run (start-up, Reset, new settings).
    Fresh,
    /// A weights file the user chose.
    Loaded {
        /// Its name.
        name: String,
    },
    /// The saved run, resumed or rolled back to.
    Resumed {
        /// After a divergence.
        rollback: bool,
    },
    /// The current run, moved to another path.
    Moved {
        /// That path.
        to: ComputePath,
    },
    /// The last save (or a fresh run) on a new worker after one stopped.
    Recovered,
}

/// A trainer sent to the worker, not yet acknowledged: the page changes only once it is.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingInstall {
    /// The id the acknowledgement carries.
    pub id: RunId,
    /// How it came about.
    pub kind: InstallKind,
    /// The run it installs (`None`: the current run, moved).
    pub run: Option<Box<Run>>,
    /// The save it restores: the new run's last save once installed.
    pub save: Option<Box<SavedRun>>,
}
