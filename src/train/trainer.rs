//! The training loop's position and the [`Trainer`] that walks it, one batch at a time.

use std::ops::Range;

use crate::config::TrainingConfig;
use crate::data::{Dataset, epoch_order, normal_noise, step_noise_rows, uniform_labels};
use crate::idx::IMAGE_PIXELS;

use super::{Gan, StepStats, TrainError};
use burn::tensor::{Device, Tensor};

/// Where training stands: epochs done, the next batch in the current epoch, steps taken.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Progress {
    /// Completed epochs.
    pub epoch: usize,
    /// Index of the next batch within the current epoch.
    pub batch: usize,
    /// Optimizer steps taken (a batch counts `k` steps).
    pub step: u64,
}

impl Progress {
    /// The position after one more batch of `k` steps in an epoch of `batches` batches, and
    /// `Some(n)` when that batch completes epoch `n` (1-based). [`Trainer::step`] moves by it;
    /// a remote trainer's owner uses it to follow the position without asking.
    pub fn after_batch(self, batches: usize, k: usize) -> (Progress, Option<usize>) {
        let mut next = Progress {
            step: self.step + k as u64,
            batch: self.batch + 1,
            ..self
        };
        let finished = (next.batch >= batches).then(|| {
            next.batch = 0;
            next.epoch += 1;
            next.epoch
        });
        (next, finished)
    }
}

/// What one call of [`Trainer::step`] did.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    /// Statistics of the batch's last repetition.
    pub stats: StepStats,
    /// `Some(n)` when this batch completed epoch `n` (1-based).
    pub finished_epoch: Option<usize>,
}

/// One batch's real images on the host, and their labels for a conditional model.
#[derive(Debug, Clone)]
pub(crate) struct HostBatch {
    /// Scaled pixels `[n, 784]`, row-major.
    pub(crate) pixels: Vec<f32>,
    /// The images' digits, for a model that takes labels.
    pub(crate) labels: Option<Vec<u8>>,
}

/// A [`Gan`] with its configuration and its position in the data: the whole training loop,
/// one batch at a time, so the caller decides how many batches fit a frame.
#[derive(Debug)]
pub struct Trainer {
    /// The configuration it was built with.
    pub config: TrainingConfig,
    /// The networks and optimizers.
    pub gan: Gan,
    /// Where training stands.
    pub progress: Progress,
    order: Option<(usize, Vec<u32>)>,
    /// Optimizer steps of the current batch already taken one at a time (`shard`); 0 between
    /// batches.
    pub(crate) batch_steps: usize,
}

impl Trainer {
    /// A fresh trainer for a valid `config` on `device`.
    pub fn new(config: TrainingConfig, device: &Device) -> Result<Self, TrainError> {
        config.validate()?;
        let gan = Gan::new(&config, device);
        Ok(Self::from_parts(config, gan, Progress::default()))
    }

    /// A trainer resuming `gan` at `progress`.
    pub fn from_parts(config: TrainingConfig, gan: Gan, progress: Progress) -> Self {
        Self {
            config,
            gan,
            progress,
            order: None,
            batch_steps: 0,
        }
    }

    /// Whether all configured epochs are done.
    pub fn is_finished(&self) -> bool {
        self.progress.epoch >= self.config.epochs
    }

    /// The noise of optimizer step `step` (0-based): `[batch_size, noise_dim]`, host-side.
    pub fn step_noise(&self, step: u64) -> Vec<f32> {
        self.step_noise_rows(step, 0..self.config.batch_size)
    }

    /// Rows `rows` of [`Trainer::step_noise`], drawn alone ([`step_noise_rows`]).
    pub fn step_noise_rows(&self, step: u64, rows: Range<usize>) -> Vec<f32> {
        step_noise_rows(self.config.noise_seed, step, rows, self.config.noise_dim)
    }

    /// The digits the fakes of optimizer step `step` are asked for: `[batch_size]`, host-side.
    pub fn step_fake_labels(&self, step: u64) -> Vec<u8> {
        uniform_labels(self.config.label_seed, step, self.config.batch_size)
    }

    /// `rows` fixed noise vectors for snapshots (row 0 is the reference's `seed`) and the grid.
    pub fn sample_noise(&self, rows: usize) -> Tensor<2> {
        let values = normal_noise(self.config.sample_seed, 0, rows, self.config.noise_dim);
        self.gan.upload(values, rows, self.config.noise_dim)
    }

    /// The current batch's images, scaled, `[n, 784]` row-major, with their labels when the
    /// model takes them (refused when the data has none).
    pub(crate) fn next_batch(&mut self, data: &Dataset) -> Result<HostBatch, TrainError> {
        if self.is_finished() {
            return Err(TrainError::Finished(self.config.epochs));
        }
        if data.is_empty() {
            return Err(TrainError::EmptyDataset);
        }
        let batches = data.batches_per_epoch(self.config.batch_size);
        if self.progress.batch >= batches {
            return Err(TrainError::PositionOutOfRange {
                batch: self.progress.batch,
                batches,
            });
        }
        let epoch = self.progress.epoch;
        if self.order.as_ref().is_none_or(|(e, _)| *e != epoch) {
            self.order = Some((
                epoch,
                epoch_order(self.config.shuffle_seed, epoch, data.len()),
            ));
        }
        let (_, order) = self.order.as_ref().expect("the epoch's order was just set");
        let (batch, size) = (self.progress.batch, self.config.batch_size);
        let labels = if self.gan.labels() > 0 {
            let labels = data
                .batch_labels(order, batch, size)
                .ok_or(TrainError::Unlabelled(self.config.model.name()))?;
            Some(labels)
        } else {
            None
        };
        Ok(HostBatch {
            pixels: data.batch(order, batch, size),
            labels,
        })
    }

    /// Trains on the next batch (k repetitions) and advances the position.
    pub fn step(&mut self, data: &Dataset) -> Result<StepOutcome, TrainError> {
        if self.batch_steps != 0 {
            return Err(TrainError::OutOfOrder(
                "a batch is under way one step at a time (a replica group)".into(),
            ));
        }
        let HostBatch { pixels, labels } = self.next_batch(data)?;
        let batch_size = self.config.batch_size;
        let batches = data.batches_per_epoch(batch_size);
        let rows = pixels.len() / IMAGE_PIXELS;
        let real = self.gan.upload(pixels, rows, IMAGE_PIXELS);

        let (next, finished_epoch) = self.progress.after_batch(batches, self.config.k);
        let mut stats = None;
        for step in self.progress.step..next.step {
            let noise = self.step_noise(step);
            let noise = self.gan.upload(noise, batch_size, self.config.noise_dim);
            let labels = labels
                .as_ref()
                .and_then(|real| self.gan.step_labels(real, &self.step_fake_labels(step)));
            stats = Some(self.gan.labelled_step(real.clone(), noise, labels)?);
            self.progress.step = step + 1;
        }
        self.progress = next;
        Ok(StepOutcome {
            stats: stats.expect("k is at least 1"),
            finished_epoch,
        })
    }
}
