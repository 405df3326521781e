//! The generator's quality on the page: when the worker scores it (after epoch 1 and every
//! N epochs), the scores of the run beside the reference curve, and the latent explorer (two
//! digits of the grid picked, the generator's walk between them, new noise for the grid).

use crate::app::Model;
use crate::app::effect::Effect;
use crate::app::event::RunId;
use crate::model::{DIGITS, ModelKind};
use crate::protocol::TrainerError;
use crate::quality::reference::ReferenceCurve;

use crate::quality::{EpochScore, Score};
use crate::session::GridLayout;

/// Score every this many epochs by default: a score costs about a fifth of an epoch's
/// training on the CPU (BENCHMARKS.md), so every 5th keeps it under 5 %.
pub const DEFAULT_SCORE_EVERY: usize = 5;
/// Images in a walk between two digits.
pub const WALK_FRAMES: usize = 10;

/// A walk between two digits of the grid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Explorer {
    /// The digits picked (grid indices), at most two; a third click starts over.
    pub picks: Vec<usize>,
    /// The last walk: its two ends and its `WALK_FRAMES × 784` pixels.
    pub walk: Option<(usize, usize, Vec<f32>)>,
    /// A walk or new noise is being computed.
    pub pending: bool,
}

/// Scores and the explorer.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityState {
    /// The classifier reached the worker (`None`: still loading).
    pub ready: Option<Result<(), String>>,
    /// The interval field's text.
    pub every_text: String,
    /// Score after epoch 1 and every this many epochs; 0 turns scoring off.
    pub every: usize,
    /// Each model's reference run, where it has one, once loaded ([`Effect::LoadReferences`]).
    pub references: Vec<(ModelKind, ReferenceCurve)>,
    /// The latent explorer.
    pub explorer: Explorer,
    /// A message about scores or the explorer.
    pub status: String,
    /// When the score under way was asked for (ms), to say how long it took.
    pub asked_at: Option<f64>,
    /// The digits a conditional model's grid and walks draw, in order (the digit picker).
    pub digits: Vec<u8>,
}

impl Default for QualityState {
    fn default() -> Self {
        Self {
            ready: None,
            every_text: DEFAULT_SCORE_EVERY.to_string(),
            every: DEFAULT_SCORE_EVERY,
            references: Vec::new(),
            explorer: Explorer::default(),
            status: "Loading the quality classifier…".into(),
            asked_at: None,
            digits: (0..DIGITS as u8).collect(),
        }
    }
}

impl QualityState {
    /// The digits of the grid's columns for a run of `model`: those picked for a conditional
    /// model, none for a model without labels.
    pub fn grid_digits(&self, model: ModelKind) -> Vec<u8> {
        if model.labels() > 0 {
            self.digits.clone()
        } else {
            Vec::new()
        }
    }

    /// The grid's layout for a run of `model`.
    pub fn grid_layout(&self, model: ModelKind) -> GridLayout {
        GridLayout::new(model.labels(), &self.grid_digits(model))
            .unwrap_or_else(|_| GridLayout::new(0, &[]).expect("a grid without labels"))
    }

    /// The reference curve of `model`, if it has one.
    pub fn reference(&self, model: ModelKind) -> Option<&ReferenceCurve> {
        self.references
            .iter()
            .find_map(|(m, curve)| (*m == model).then_some(curve))
    }

    /// The scoring interval, when scores can be taken (the classifier is in the worker).
    pub fn score_every(&self) -> Option<usize> {
        (matches!(self.ready, Some(Ok(()))) && self.every > 0).then_some(self.every)
    }
}

/// Whether the generator is scored right after epoch `epoch` of `epochs`, every `every`:
/// after the first epoch (so a score shows at once), every `every`-th, and the last.
pub fn is_score_epoch(every: usize, epoch: usize, epochs: usize) -> bool {
    every > 0 && (epoch == 1 || epoch.is_multiple_of(every) || epoch == epochs)
}

/// "FID 123.4 · IS 5.67", and for a conditional model " · 97 % the digit asked for".
pub fn describe(score: &Score) -> String {
    let asked = score.requested.as_ref().map_or(String::new(), |r| {
        format!(" · {:.0} % the digit asked for", 100.0 * r.share)
    });
    format!("FID {:.1} · IS {:.2}{asked}", score.fid, score.inception)
}

impl Model {
    pub(super) fn quality_ready(&mut self, result: Result<(), String>) {
        self.quality.status = match &result {
            Ok(()) => match self.quality.every {
                0 => "Scoring is off.".into(),
                n => format!("The generator is scored after epoch 1 and every {n} epochs."),
            },
            Err(e) => format!("No quality scores: {e}."),
        };
        self.quality.ready = Some(result);
    }

    pub(super) fn score_every_edited(&mut self, text: String) {
        match text.trim().parse::<usize>() {
            Ok(every) if every <= 100_000 => {
                self.quality.every = every;
                self.quality.status = match every {
                    0 => "Scoring is off.".into(),
                    n => format!("The generator is scored after epoch 1 and every {n} epochs."),
                };
            }
            _ => {
                self.quality.status =
                    "Score every: a whole number of epochs (0 turns scoring off).".into();
            }
        }
        self.quality.every_text = text;
    }

    pub(super) fn scored(
        &mut self,
        id: RunId,
        epoch: usize,
        result: Result<Score, TrainerError>,
        now: f64,
    ) {
        let asked_at = self.quality.asked_at.take();
        let Some(run) = self.run.as_mut().filter(|run| run.id == id) else {
            return;
        };
        // From the request to the answer: the score itself, and the steps queued before it.
        let took = asked_at.map_or_else(String::new, |at| {
            format!(" Scored in {:.1} s.", (now - at) / 1000.0)
        });
        match result {
            Ok(score) => {
                let mnist = run.label.data.is_mnist();
                let reference = self
                    .quality
                    .reference(run.config.model)
                    .filter(|_| mnist)
                    .and_then(|curve| curve.points.iter().find(|p| p.epoch == epoch));
                self.quality.status = match reference {
                    None if !mnist => format!(
                        "After epoch {epoch}: distance to your held-out images (FID) {:.1}.{took}",
                        score.fid
                    ),
                    Some(r) => format!(
                        "After epoch {epoch}: {} (the reference run: FID {:.1} · IS {:.2}).{took}",
                        describe(&score),
                        r.fid,
                        r.inception
                    ),
                    None => format!("After epoch {epoch}: {}.{took}", describe(&score)),
                };
                run.record.scores.retain(|s| s.epoch != epoch);
                run.record.scores.push(EpochScore { epoch, score });
                run.record.scores.sort_by_key(|s| s.epoch);
                self.display.chart_version += 1;
            }
            Err(e) => self.quality.status = format!("The score after epoch {epoch} failed: {e}."),
        }
    }

    /// A digit of the grid was clicked: the first pick, or the second (which starts a walk).
    pub(super) fn grid_clicked(&mut self, index: usize, effects: &mut Vec<Effect>) {
        let Some(run) = self.run.as_ref() else { return };
        let cells = self.quality.grid_layout(run.config.model).cells();
        if index >= cells || self.pending.is_some() || !self.can_install() {
            return;
        }
        let explorer = &mut self.quality.explorer;
        if explorer.pending {
            return;
        }
        if explorer.picks.len() >= 2 {
            explorer.picks.clear();
        }
        explorer.picks.push(index);
        if let [from, to] = explorer.picks[..] {
            explorer.pending = true;
            effects.push(Effect::Walk {
                run: run.id,
                from,
                to,
                frames: WALK_FRAMES,
                digits: self.quality.grid_digits(run.config.model),
            });
            self.quality.status = format!("Walking from sample {} to sample {}…", from + 1, to + 1);
        } else {
            self.quality.status = format!("Sample {} picked: pick another.", index + 1);
        }
    }

    pub(super) fn walked(
        &mut self,
        id: RunId,
        from: usize,
        to: usize,
        result: Result<Vec<f32>, TrainerError>,
    ) {
        if self.run.as_ref().is_none_or(|run| run.id != id) {
            return;
        }
        let explorer = &mut self.quality.explorer;
        explorer.pending = false;
        match result {
            Ok(pixels) => {
                explorer.walk = Some((from, to, pixels));
                self.quality.status = format!(
                    "The generator's walk from sample {} to sample {}.",
                    from + 1,
                    to + 1
                );
            }
            Err(e) => self.quality.status = format!("The walk failed: {e}."),
        }
    }

    /// A digit switched on or off in the picker: the grid is drawn again with the digits on
    /// (at least one stays on), and the picks and the walk, whose cells moved, go.
    pub(super) fn digit_toggled(&mut self, digit: u8, effects: &mut Vec<Effect>) {
        if usize::from(digit) >= DIGITS || self.quality.explorer.pending {
            return;
        }
        let digits = &mut self.quality.digits;
        match digits.iter().position(|&d| d == digit) {
            Some(_) if digits.len() == 1 => {
                self.quality.status = "At least one digit stays in the grid.".into();
                return;
            }
            Some(at) => {
                digits.remove(at);
            }
            None => {
                digits.push(digit);
                digits.sort_unstable();
            }
        }
        self.quality.explorer = Explorer::default();
        self.quality.status = "Pick two samples to walk between: across a row the digit changes, down a column the noise.".into();
        if let Some(run) = self.run.as_mut() {
            // A read under way draws the old digits; this one, answered after it, the new.
            run.grid.pending = false;
        }
        self.request_grid(effects);
    }

    /// New noise for the grid (and for walks): the picks and the walk go.
    pub(super) fn new_noise(&mut self, now: f64, effects: &mut Vec<Effect>) {
        let Some(run) = self.run.as_ref() else { return };
        if self.quality.explorer.pending || self.pending.is_some() || !self.can_install() {
            return;
        }
        // Any seed will do; the clock gives a new one each time.
        let seed = (now * 1000.0) as u64 ^ run.progress.step.rotate_left(32);
        self.quality.explorer = Explorer {
            pending: true,
            ..Explorer::default()
        };
        effects.push(Effect::GridNoise { run: run.id, seed });
    }

    pub(super) fn noise_redrawn(
        &mut self,
        id: RunId,
        result: Result<(), TrainerError>,
        effects: &mut Vec<Effect>,
    ) {
        if self.run.as_ref().is_none_or(|run| run.id != id) {
            return;
        }
        self.quality.explorer.pending = false;
        match result {
            Ok(()) => {
                self.quality.status = "New noise: pick two digits to walk between.".into();
                // A read under way shows the old noise; this one, answered after it, the new.
                if let Some(run) = self.run.as_mut() {
                    run.grid.pending = false;
                }
                self.request_grid(effects);
            }
            Err(e) => self.quality.status = format!("New noise failed: {e}."),
        }
    }
}
