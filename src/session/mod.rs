//! The trainer behind the page, as plain core code: a [`TrainerSession`] steps, samples and
//! captures one run on one device (alone, or as one replica of a group: [`replicated_step`]);
//! a [`Host`] holds the worker's images and session and answers each
//! [`Command`](crate::protocol::Command). The web layer only moves messages (`web::host`) and
//! supplies devices and the exchange between replicas ([`Platform`]), so all of this is tested
//! natively.

mod calibrate;
mod grid;
mod held_out;
mod host;
mod preview;

pub use grid::{BadDigits, GridLayout};
pub use host::{Exchange, Host, Platform};
pub use preview::Preview;

use std::future::Future;
use std::pin::Pin;

use burn::tensor::{Device, Tensor};

use std::cell::RefCell;
use std::rc::Rc;

use crate::config::TrainingConfig;
use crate::cpu::is_host_device;
use crate::data::{DataRef, Dataset, normal_noise};
use crate::latent::walk;
use crate::model::one_hot;
use crate::protocol::{Snapshot, StepReport, TrainerError};
use crate::quality::{self, EpochScore, QualityModel};
use crate::shard::combine;
use crate::train::{TrainError, Trainer};
use crate::weights::Checkpoint;

/// A result that arrives later; it borrows nothing, so the session may go on meanwhile.
pub type Pending<T> = Pin<Box<dyn Future<Output = T>>>;

/// Side of the sample grid.
pub const GRID_SIDE: usize = 8;

async fn read_pixels(images: Tensor<2>) -> Result<Vec<f32>, TrainerError> {
    images
        .into_data_async()
        .await
        .map_err(|e| TrainerError::Read(format!("{e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| TrainerError::Read(format!("{e:?}")))
}

/// A trainer on this thread's device, with the noise of the sample grid and the run's scores.
#[derive(Debug)]
pub struct TrainerSession {
    /// The trainer.
    pub trainer: Trainer,
    /// The grid's noise on the device, and its values (the ends of latent walks).
    grid_noise: (Tensor<2>, Vec<f32>),
    /// The quality scores taken so far (they ride in the weights file); shared with a score
    /// under way, which adds itself when it completes.
    pub scores: Rc<RefCell<Vec<EpochScore>>>,
    /// On a GPU, the starting generator on the CPU: the grid and walks until the first step.
    preview: Option<Preview>,
    /// The data it trains on (named in its weights file): the host's when it was installed.
    pub dataset: DataRef,
}

impl TrainerSession {
    /// A fresh trainer for `config` on `device`.
    pub fn new(config: TrainingConfig, device: &Device) -> Result<Self, TrainError> {
        let trainer = Trainer::new(config, device)?;
        let preview = (!is_host_device(device)).then(|| Preview::of_new(&trainer.config));
        Ok(Self {
            preview,
            ..Self::from_trainer(trainer)
        })
    }

    /// The trainer a checkpoint holds, on `device`, with its scores.
    pub fn from_checkpoint(mut checkpoint: Checkpoint, device: &Device) -> Self {
        let scores = std::mem::take(&mut checkpoint.scores);
        let preview = (!is_host_device(device)).then(|| Preview::of_checkpoint(&checkpoint));
        Self {
            scores: Rc::new(RefCell::new(scores)),
            preview,
            ..Self::from_trainer(checkpoint.into_trainer(device))
        }
    }

    /// Whether the grid and walks still come from the CPU's copy of the starting generator
    /// (a session on a GPU, before its first step).
    pub fn previews(&self) -> bool {
        self.preview.is_some()
    }

    /// The generator's images for `rows` noise vectors `values` and, for a conditional model,
    /// the labels asked for as (possibly blended) one-hot rows, from the preview while there is
    /// one, else on the device.
    fn images(&self, values: Vec<f32>, rows: usize, labels: Option<Vec<f32>>) -> Tensor<2> {
        match &self.preview {
            Some(preview) => preview.images(values, rows, labels),
            None => {
                let gan = &self.trainer.gan;
                gan.shown_generator()
                    .generate_values(values, rows, labels, gan.device())
            }
        }
    }

    /// The layout of a grid of `digits` for this session's model.
    pub fn layout(&self, digits: &[u8]) -> Result<GridLayout, TrainerError> {
        GridLayout::new(self.trainer.gan.labels(), digits)
            .map_err(|e| TrainerError::Refused(e.to_string()))
    }

    /// The noise and one-hot labels of the grid's cells `cells` under `layout`.
    fn cell_inputs(
        &self,
        layout: &GridLayout,
        cells: impl Iterator<Item = usize>,
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        let dim = self.trainer.config.noise_dim;
        let width = self.trainer.gan.labels();
        let mut noise = Vec::new();
        let mut labels = (width > 0).then(Vec::new);
        for cell in cells {
            let (row, digit) = layout.cell(cell);
            noise.extend_from_slice(&self.grid_noise.1[row * dim..(row + 1) * dim]);
            if let (Some(labels), Some(digit)) = (labels.as_mut(), digit) {
                labels.extend(one_hot(&[digit], width));
            }
        }
        (noise, labels)
    }

    fn from_trainer(trainer: Trainer) -> Self {
        let config = &trainer.config;
        let values = normal_noise(
            config.sample_seed,
            0,
            GRID_SIDE * GRID_SIDE,
            config.noise_dim,
        );
        let mut session = Self {
            grid_noise: (trainer.sample_noise(1), Vec::new()),
            trainer,
            scores: Rc::default(),
            preview: None,
            dataset: DataRef::mnist(),
        };
        session.set_grid_noise(values);
        session
    }

    /// Replaces the grid's noise (64 rows).
    fn set_grid_noise(&mut self, values: Vec<f32>) {
        let rows = values.len() / self.trainer.config.noise_dim;
        let tensor = self
            .trainer
            .gan
            .upload(values.clone(), rows, self.trainer.config.noise_dim);
        self.grid_noise = (tensor, values);
    }

    /// The grid's noise, `64 × noise_dim` values, row-major.
    pub fn grid_noise(&self) -> &[f32] {
        &self.grid_noise.1
    }

    /// Redraws the grid's noise from `seed`.
    pub fn new_grid_noise(&mut self, seed: u64) {
        let dim = self.trainer.config.noise_dim;
        self.set_grid_noise(normal_noise(seed, 0, GRID_SIDE * GRID_SIDE, dim));
    }

    /// The generator's images along the path between grid cells `from` and `to` of the grid
    /// of `digits` (see [`GridLayout`]): the spherical path between their noise and, for a
    /// conditional model, a blend of their digits' one-hot rows. `frames × 784` values in
    /// [−1, 1].
    pub fn walk(
        &self,
        from: usize,
        to: usize,
        frames: usize,
        digits: &[u8],
    ) -> Result<Pending<Result<Vec<f32>, TrainerError>>, TrainerError> {
        let layout = self.layout(digits)?;
        let cells = layout.cells();
        if from >= cells || to >= cells || !(2..=64).contains(&frames) {
            return Err(TrainerError::Refused(format!(
                "a walk needs two of the {cells} grid samples and 2 to 64 frames"
            )));
        }
        let dim = self.trainer.config.noise_dim;
        let (ends, labels) = self.cell_inputs(&layout, [from, to].into_iter());
        let noise = walk(&ends[..dim], &ends[dim..], frames);
        let labels = labels.map(|ends| {
            let width = ends.len() / 2;
            (0..frames)
                .flat_map(|i| {
                    let t = i as f32 / (frames - 1) as f32;
                    let (a, b) = ends.split_at(width);
                    a.iter()
                        .zip(b)
                        .map(|(a, b)| (1.0 - t) * a + t * b)
                        .collect::<Vec<_>>()
                })
                .collect()
        });
        Ok(Box::pin(read_pixels(self.images(noise, frames, labels))))
    }

    /// The generator's score as it is now, kept (for the weights file) once it completes as
    /// the score after the epochs trained when this was called. The worker completes it before
    /// starting the next command ([`Command::is_barrier`](crate::protocol::Command::is_barrier)), so an autosave captured right
    /// after it includes it.
    pub fn score(
        &self,
        model: Rc<QualityModel>,
        samples: usize,
    ) -> Pending<Result<EpochScore, TrainerError>> {
        let dim = self.trainer.config.noise_dim;
        let gan = &self.trainer.gan;
        let images = quality::generate_tensors(
            |noise, labels| gan.generate_for(noise, labels),
            dim,
            samples,
        );
        let requested = (gan.labels() > 0).then(|| quality::requested_labels(samples));
        let epoch = self.trainer.progress.epoch;
        let scores = self.scores.clone();
        Box::pin(async move {
            let images = quality::read_all(images)
                .await
                .map_err(|e| TrainerError::Read(e.to_string()))?;
            let score =
                quality::score_images(&model, &images, requested.as_deref(), &Device::flex())
                    .await
                    .map_err(|e| TrainerError::Refused(e.to_string()))?;
            let scored = EpochScore { epoch, score };
            let mut kept = scores.borrow_mut();
            kept.retain(|s| s.epoch != epoch);
            kept.push(scored.clone());
            Ok(scored)
        })
    }

    /// Enqueues the next batch; its statistics (and a due snapshot, taken right after the
    /// epoch, before any later step) are read back by the returned future. Besides the
    /// reference's snapshot epochs, the generator after the run's last epoch is a snapshot too
    /// (display only: training is unchanged).
    pub fn step(
        &mut self,
        data: &Dataset,
    ) -> Result<Pending<Result<StepReport, TrainerError>>, TrainError> {
        let outcome = self.trainer.step(data)?;
        self.preview = None;
        let snapshot = self.due_snapshot(outcome.finished_epoch);
        Ok(Box::pin(async move {
            let values = outcome
                .stats
                .read()
                .await
                .map_err(|e| TrainerError::Read(e.to_string()))?;
            Ok(StepReport {
                values,
                finished_epoch: outcome.finished_epoch,
                snapshot: read_snapshot(snapshot).await?,
            })
        }))
    }

    /// The snapshot due after `finished_epoch`, still on the device: G(seed), which a
    /// conditional model draws asking for the digit 0 ([`crate::model::default_labels`]).
    fn due_snapshot(&self, finished_epoch: Option<usize>) -> Option<(usize, Tensor<2>)> {
        let trainer = &self.trainer;
        let last = trainer.is_finished();
        finished_epoch
            .filter(|&epoch| trainer.config.is_snapshot_epoch(epoch) || last)
            .map(|epoch| (epoch, trainer.gan.generate(trainer.sample_noise(1))))
    }

    /// The grid of samples of the generator as it is now, laid out for `digits`
    /// ([`GridLayout`]): cells × 784 values in [−1, 1], row after row.
    pub fn grid(
        &self,
        digits: &[u8],
    ) -> Result<Pending<Result<Vec<f32>, TrainerError>>, TrainerError> {
        let layout = self.layout(digits)?;
        let images = match (&self.preview, self.trainer.gan.labels()) {
            (None, 0) => self.trainer.gan.generate(self.grid_noise.0.clone()),
            _ => {
                let (noise, labels) = self.cell_inputs(&layout, 0..layout.cells());
                self.images(noise, layout.cells(), labels)
            }
        };
        Ok(Box::pin(read_pixels(images)))
    }

    /// The weights file of the model as it is now (after every step enqueued so far), with
    /// the scores taken so far.
    pub fn capture(&self) -> Pending<Result<Vec<u8>, TrainerError>> {
        let capture = Checkpoint::capture(&self.trainer);
        let scores = self.scores.borrow().clone();
        let dataset = self.dataset.clone();
        Box::pin(async move {
            capture
                .await
                .map(|checkpoint| {
                    Checkpoint {
                        scores,
                        dataset,
                        ..checkpoint
                    }
                    .to_bytes()
                })
                .map_err(|e| TrainerError::Read(e.to_string()))
        })
    }
}

async fn read_snapshot(
    snapshot: Option<(usize, Tensor<2>)>,
) -> Result<Option<Snapshot>, TrainerError> {
    Ok(match snapshot {
        Some((epoch, image)) => Some((epoch, read_pixels(image).await?)),
        None => None,
    })
}

/// The next batch, trained by `session` as one replica of a group: for each of the batch's
/// `k` optimizer steps, this replica's part of the gradient goes to every other replica and
/// theirs come back; all add them in shard order and apply the same update. The answer is the
/// whole batch's statistics, the same on every replica.
pub fn replicated_step(
    session: Rc<RefCell<TrainerSession>>,
    data: Rc<Dataset>,
    exchange: Rc<dyn Exchange>,
) -> Pending<Result<StepReport, TrainerError>> {
    let refused = |e: TrainError| TrainerError::Refused(e.to_string());
    Box::pin(async move {
        loop {
            let mine = session
                .borrow_mut()
                .trainer
                .shard_gradients(&data, exchange.place())
                .map_err(refused)?;
            let parts = exchange.exchange(mine).await?;
            let whole = combine(parts).map_err(|e| TrainerError::Replicas(e.to_string()))?;
            let snapshot = {
                let mut session = session.borrow_mut();
                session.preview = None;
                let Some(finished_epoch) = session
                    .trainer
                    .apply_combined(&data, &whole)
                    .map_err(refused)?
                else {
                    continue; // the batch's next optimizer step (k > 1)
                };
                (finished_epoch, session.due_snapshot(finished_epoch))
            };
            return Ok(StepReport {
                values: whole.values,
                finished_epoch: snapshot.0,
                snapshot: read_snapshot(snapshot.1).await?,
            });
        }
    })
}
