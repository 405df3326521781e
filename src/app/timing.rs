//! Time on the page: the epoch clock, steps per second, the time left, and the frame budget.

use std::collections::VecDeque;

/// A stopwatch that runs only while training runs and the tab is visible (the per-epoch times
/// of the tutorial's log must not count a hidden tab or a pause).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActiveClock {
    accumulated: f64,
    since: Option<f64>,
}

impl ActiveClock {
    /// Starts counting at `now` (ms) unless it already is.
    pub fn resume(&mut self, now: f64) {
        self.since.get_or_insert(now);
    }

    /// Stops counting at `now`, keeping what was counted.
    pub fn pause(&mut self, now: f64) {
        if let Some(since) = self.since.take() {
            self.accumulated += now - since;
        }
    }

    /// Whether it is counting.
    pub fn is_running(&self) -> bool {
        self.since.is_some()
    }

    /// The time counted since the last lap (ms), and a new lap from `now`.
    pub fn lap(&mut self, now: f64) -> f64 {
        let total = self.accumulated + self.since.map_or(0.0, |s| now - s);
        self.accumulated = 0.0;
        if self.since.is_some() {
            self.since = Some(now);
        }
        total
    }
}

/// Steps per second over the last few seconds of completed steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepRate {
    completions: VecDeque<f64>,
}

/// How far back the rate looks (ms).
const RATE_WINDOW_MS: f64 = 5000.0;

impl StepRate {
    /// A step completed at `now` (ms).
    pub fn record(&mut self, now: f64) {
        self.completions.push_back(now);
        while self.completions.len() > 2 && now - self.completions[0] > RATE_WINDOW_MS {
            self.completions.pop_front();
        }
    }

    /// Completed steps per second, once two steps at different times completed.
    pub fn per_second(&self) -> Option<f64> {
        match (self.completions.front(), self.completions.back()) {
            (Some(first), Some(last)) if self.completions.len() > 1 && last > first => {
                Some((self.completions.len() - 1) as f64 / ((last - first) / 1000.0))
            }
            _ => None,
        }
    }
}

/// Seconds left for `remaining_steps` at `rate` steps per second.
pub fn seconds_left(remaining_steps: f64, rate: Option<f64>) -> Option<f64> {
    rate.filter(|r| *r > 0.0)
        .map(|r| remaining_steps.max(0.0) / r)
}

/// "42 s", "3 min 05 s", "2 h 07 min"; "—" when unknown.
pub fn format_duration(seconds: Option<f64>) -> String {
    let Some(seconds) = seconds.filter(|s| s.is_finite() && *s >= 0.0) else {
        return "—".into();
    };
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// What the page's thread did in one animation frame to enqueue steps.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameWork {
    /// Milliseconds spent on it.
    pub spent_ms: f64,
    /// Steps it enqueued.
    pub enqueued: usize,
}

/// Bounds of the adaptive per-frame budget (ms).
pub const BUDGET_MS: (f64, f64) = (2.0, 10.0);
/// A frame whose work ran this long (ms) shrinks the budget.
const LONG_FRAME_MS: f64 = 12.0;

/// How much of each frame the page may spend enqueueing steps: it shrinks after a frame that
/// ran long and grows while frames use all of it, within [`BUDGET_MS`].
#[derive(Debug, Clone, PartialEq)]
pub struct FrameBudget {
    /// The budget (ms).
    pub ms: f64,
    /// Estimated cost of enqueueing one step (ms).
    pub per_step_ms: f64,
}

impl Default for FrameBudget {
    fn default() -> Self {
        Self {
            ms: 4.0,
            per_step_ms: 0.1,
        }
    }
}

impl FrameBudget {
    /// Learns from the last frame's work.
    pub fn adapt(&mut self, work: FrameWork) {
        if work.enqueued > 0 {
            let per_step = work.spent_ms / work.enqueued as f64;
            self.per_step_ms = 0.7 * self.per_step_ms + 0.3 * per_step;
        }
        self.ms = if work.spent_ms > LONG_FRAME_MS {
            (self.ms * 0.7).max(BUDGET_MS.0)
        } else if work.enqueued > 0 && work.spent_ms >= self.ms {
            (self.ms * 1.1).min(BUDGET_MS.1)
        } else {
            self.ms
        };
    }

    /// Steps to enqueue this frame: as many as fit the budget, at least one, at most `free`.
    pub fn steps(&self, free: usize) -> usize {
        let fit = (self.ms / self.per_step_ms.max(1e-3)).floor() as usize;
        free.min(fit.max(1))
    }
}
