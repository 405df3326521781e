//! Where the page is, as one enum whose variants carry their data.

use crate::path::ComputePath;

/// Why training is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseReason {
    /// The user paused it (or it was loaded, moved, or its settings now allow more epochs).
    User,
    /// A loss or a weight is no longer a finite number; a roll-back is offered.
    Diverged,
    /// The trainer failed (a read from the device, a refused step, a worker that stopped).
    Failed,
}

/// The page's phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunPhase {
    /// MNIST is not loaded yet.
    Loading,
    /// No path can train (the reason is shown).
    Unavailable(String),
    /// A fresh run, ready to train.
    Idle,
    /// Training: frames enqueue steps.
    Running,
    /// Stopped before the last epoch.
    Paused(PauseReason),
    /// Every configured epoch is done.
    Finished,
    /// The run is moving to another path (through its weights file).
    Switching {
        /// The path it moves to.
        to: ComputePath,
    },
    /// A new worker is starting after the last one stopped.
    Recovering {
        /// Which restart this is (1-based).
        attempt: u32,
    },
}

impl RunPhase {
    /// The name the page shows in `data-phase` (and its CSS and tests read).
    pub fn name(&self) -> &'static str {
        match self {
            RunPhase::Loading => "loading",
            RunPhase::Unavailable(_) => "unavailable",
            RunPhase::Idle => "ready",
            RunPhase::Running => "running",
            RunPhase::Paused(_) => "paused",
            RunPhase::Finished => "finished",
            RunPhase::Switching { .. } => "switching",
            RunPhase::Recovering { .. } => "recovering",
        }
    }
}
