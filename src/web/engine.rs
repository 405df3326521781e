//! The trainer behind the page. A [`LocalEngine`] trains on its thread's device; the page's
//! [`Engine`] drives one in the worker by messages, on either path (WebGPU or Burn's CPU
//! backend), so no step ever runs on the page's thread: a step is enqueued at once and its
//! results arrive later.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use burn::tensor::{Device, Tensor};

use super::worker::{Command, Reply, TrainerWorker, WorkerStats};
use crate::config::TrainingConfig;
use crate::data::Dataset;
use crate::path::ComputePath;
use crate::train::{Progress, StepValues, TrainError, Trainer};
use crate::weights::Checkpoint;

/// A result that arrives later; it borrows nothing, so the engine may go on meanwhile.
pub type Pending<T> = Pin<Box<dyn Future<Output = T>>>;

/// Side of the sample grid.
pub const GRID_SIDE: usize = 8;

/// Why a result did not arrive.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum EngineError {
    /// Reading from the device failed (on WebGPU: the device was lost or reset).
    #[error("reading from the device failed: {0}")]
    Read(String),
    /// The worker stopped (its GPU device was lost, or it crashed).
    #[error("the trainer's worker stopped: {0}")]
    Worker(String),
    /// The model's weights are no longer all finite numbers.
    #[error("the weights are no longer finite numbers ({0})")]
    Diverged(String),
    /// The engine refused the request (a training error, a bad weights file).
    #[error("{0}")]
    Refused(String),
}

/// One step's results, read back.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepReport {
    /// The losses and mean outputs of the step.
    pub values: StepValues,
    /// `Some(n)` when the step completed epoch `n`.
    pub finished_epoch: Option<usize>,
    /// With a snapshot due after that epoch: the epoch and G(seed), 784 values in [−1, 1].
    pub snapshot: Option<(usize, Vec<f32>)>,
}

async fn read_pixels(images: Tensor<2>) -> Result<Vec<f32>, EngineError> {
    images
        .into_data_async()
        .await
        .map_err(|e| EngineError::Read(format!("{e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| EngineError::Read(format!("{e:?}")))
}

/// A trainer on this thread's device, with the fixed noise of the sample grid.
#[derive(Debug)]
pub struct LocalEngine {
    /// The trainer.
    pub trainer: Trainer,
    grid_noise: Tensor<2>,
}

impl LocalEngine {
    /// A fresh trainer for `config` on `device`.
    pub fn new(config: TrainingConfig, device: &Device) -> Result<Self, TrainError> {
        Ok(Self::from_trainer(Trainer::new(config, device)?))
    }

    /// The trainer a checkpoint holds, on `device`.
    pub fn from_checkpoint(checkpoint: Checkpoint, device: &Device) -> Self {
        Self::from_trainer(checkpoint.into_trainer(device))
    }

    fn from_trainer(trainer: Trainer) -> Self {
        let grid_noise = trainer.sample_noise(GRID_SIDE * GRID_SIDE);
        Self {
            trainer,
            grid_noise,
        }
    }

    /// Enqueues the next batch; its statistics (and a due snapshot, taken right after the
    /// epoch, before any later step) are read back by the returned future.
    pub fn step(
        &mut self,
        data: &Dataset,
    ) -> Result<Pending<Result<StepReport, EngineError>>, TrainError> {
        let trainer = &mut self.trainer;
        let outcome = trainer.step(data)?;
        let snapshot = outcome
            .finished_epoch
            .filter(|&epoch| trainer.config.is_snapshot_epoch(epoch))
            .map(|epoch| (epoch, trainer.gan.generate(trainer.sample_noise(1))));
        Ok(Box::pin(async move {
            let values = outcome
                .stats
                .read()
                .await
                .map_err(|e| EngineError::Read(e.to_string()))?;
            let snapshot = match snapshot {
                Some((epoch, image)) => Some((epoch, read_pixels(image).await?)),
                None => None,
            };
            Ok(StepReport {
                values,
                finished_epoch: outcome.finished_epoch,
                snapshot,
            })
        }))
    }

    /// The 8×8 grid of samples of the generator as it is now: 64 × 784 values in [−1, 1].
    pub fn grid(&self) -> Pending<Result<Vec<f32>, EngineError>> {
        let images = self.trainer.gan.generate(self.grid_noise.clone());
        Box::pin(read_pixels(images))
    }

    /// The weights file of the model as it is now (after every step enqueued so far).
    pub fn capture(&self) -> Pending<Result<Vec<u8>, EngineError>> {
        let capture = Checkpoint::capture(&self.trainer);
        Box::pin(async move {
            capture
                .await
                .map(|checkpoint| checkpoint.to_bytes())
                .map_err(|e| EngineError::Read(e.to_string()))
        })
    }
}

/// The page's trainer: a [`LocalEngine`] in the worker, on the path it was made for. Its
/// configuration and position are followed here with the core's own rules, so the page knows
/// them without asking.
pub struct Engine {
    worker: Rc<TrainerWorker>,
    path: ComputePath,
    config: TrainingConfig,
    progress: Progress,
}

fn unexpected(reply: &Reply) -> EngineError {
    EngineError::Worker(format!("unexpected reply {}", reply.name()))
}

/// Where the page trains: the worker, with its device for one path ready.
#[derive(Clone)]
pub struct Backend {
    /// The worker.
    pub worker: Rc<TrainerWorker>,
    /// The path its engines run on.
    pub path: ComputePath,
}

impl Backend {
    /// The worker with `path` started in it: for WebGPU, the worker's own device.
    pub async fn start(worker: Rc<TrainerWorker>, path: ComputePath) -> Result<Self, EngineError> {
        if path == ComputePath::WebGpu {
            worker.request(Command::StartWebGpu).await?;
        }
        Ok(Self { worker, path })
    }

    /// A fresh engine for a `config` (checked here, so a bad one never reaches the worker).
    pub fn create(&self, config: TrainingConfig) -> Result<Engine, TrainError> {
        config.validate()?;
        drop(self.worker.request(Command::Create {
            config: config.clone(),
            path: self.path,
        }));
        Ok(self.engine(config, Progress::default()))
    }

    /// The engine holding `checkpoint`, parsed from `bytes` (the worker parses them again).
    pub fn load(&self, checkpoint: Checkpoint, bytes: &[u8]) -> Engine {
        drop(self.worker.request(Command::Load {
            weights: serde_bytes::ByteBuf::from(bytes),
            fallback: checkpoint.config.clone(),
            path: self.path,
        }));
        self.engine(checkpoint.config, checkpoint.progress)
    }

    fn engine(&self, config: TrainingConfig, progress: Progress) -> Engine {
        Engine {
            worker: self.worker.clone(),
            path: self.path,
            config,
            progress,
        }
    }
}

impl Engine {
    /// Which path it runs on.
    pub fn path(&self) -> ComputePath {
        self.path
    }

    /// The run's settings.
    pub fn config(&self) -> &TrainingConfig {
        &self.config
    }

    /// The position after every step enqueued so far.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Whether all configured epochs are done (or enqueued).
    pub fn is_finished(&self) -> bool {
        self.progress.epoch >= self.config.epochs
    }

    /// Applies the settings a run may change while under way.
    pub fn set_live_settings(&mut self, epochs: usize, snapshot_every: usize) {
        self.config.epochs = epochs;
        self.config.snapshot_every = snapshot_every;
        drop(self.worker.request(Command::SetLive {
            epochs,
            snapshot_every,
        }));
    }

    /// Enqueues the next batch; see [`LocalEngine::step`].
    pub fn step(
        &mut self,
        data: &Dataset,
    ) -> Result<Pending<Result<StepReport, EngineError>>, TrainError> {
        if self.is_finished() {
            return Err(TrainError::Finished(self.config.epochs));
        }
        if data.is_empty() {
            return Err(TrainError::EmptyDataset);
        }
        let batches = data.batches_per_epoch(self.config.batch_size);
        (self.progress, _) = self.progress.after_batch(batches, self.config.k);
        let reply = self.worker.request(Command::Step);
        Ok(Box::pin(async move {
            match reply.await? {
                Reply::Step(report) => Ok(report),
                other => Err(unexpected(&other)),
            }
        }))
    }

    /// The sample grid; see [`LocalEngine::grid`].
    pub fn grid(&self) -> Pending<Result<Vec<f32>, EngineError>> {
        let reply = self.worker.request(Command::Grid);
        Box::pin(async move {
            match reply.await? {
                Reply::Pixels(bytes) => Ok(bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()),
                other => Err(unexpected(&other)),
            }
        })
    }

    /// The worker's memory figures.
    pub fn stats(&self) -> Pending<Result<WorkerStats, EngineError>> {
        let reply = self.worker.request(Command::Stats);
        Box::pin(async move {
            match reply.await? {
                Reply::Stats(stats) => Ok(stats),
                other => Err(unexpected(&other)),
            }
        })
    }

    /// The weights file; see [`LocalEngine::capture`]. With `checked`, a file with a weight
    /// that is not finite is an [`EngineError::Diverged`] instead (checked in the worker).
    pub fn capture(&self, checked: bool) -> Pending<Result<Vec<u8>, EngineError>> {
        let reply = self.worker.request(Command::Capture { checked });
        Box::pin(async move {
            match reply.await? {
                Reply::Weights(bytes) => Ok(bytes.into_vec()),
                other => Err(unexpected(&other)),
            }
        })
    }
}
