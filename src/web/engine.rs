//! The trainer behind the page, wherever it runs: a [`LocalEngine`] on this thread's device
//! (WebGPU on the page, Burn's CPU backend in the worker), or a [`RemoteEngine`] that drives a
//! `LocalEngine` in the CPU worker by messages. The page talks to either through [`Engine`]:
//! a step is enqueued at once and its results arrive later, so the page never waits.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use burn::tensor::{Device, Tensor};

use super::worker::{Command, Reply, TrainerWorker};
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
    /// The CPU worker stopped or refused the request.
    #[error("the CPU worker failed: {0}")]
    Worker(String),
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

/// A `LocalEngine` in the CPU worker. Its configuration and position are followed here with
/// the core's own rules, so the page knows them without asking.
pub struct RemoteEngine {
    worker: Rc<TrainerWorker>,
    config: TrainingConfig,
    progress: Progress,
}

impl RemoteEngine {
    fn step(
        &mut self,
        data: &Dataset,
    ) -> Result<Pending<Result<StepReport, EngineError>>, TrainError> {
        if self.progress.epoch >= self.config.epochs {
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
}

fn unexpected(reply: &Reply) -> EngineError {
    EngineError::Worker(format!("unexpected reply {}", reply.name()))
}

/// What the page can train on: a WebGPU device, or the CPU worker.
#[derive(Clone)]
pub enum Backend {
    /// Burn's WebGPU device on the page's thread.
    WebGpu(Device),
    /// The CPU worker.
    Cpu(Rc<TrainerWorker>),
}

impl Backend {
    /// Which path this is.
    pub fn path(&self) -> ComputePath {
        match self {
            Backend::WebGpu(_) => ComputePath::WebGpu,
            Backend::Cpu(_) => ComputePath::Cpu,
        }
    }

    /// A fresh engine for a `config` (checked here, so a bad one never reaches the worker).
    pub fn create(&self, config: TrainingConfig) -> Result<Engine, TrainError> {
        match self {
            Backend::WebGpu(device) => {
                Ok(Engine::Local(Box::new(LocalEngine::new(config, device)?)))
            }
            Backend::Cpu(worker) => {
                config.validate()?;
                drop(worker.request(Command::Create {
                    config: config.clone(),
                }));
                Ok(Engine::Remote(RemoteEngine {
                    worker: worker.clone(),
                    config,
                    progress: Progress::default(),
                }))
            }
        }
    }

    /// The engine holding `checkpoint`, parsed from `bytes` (the worker parses them again).
    pub fn load(&self, checkpoint: Checkpoint, bytes: &[u8]) -> Engine {
        match self {
            Backend::WebGpu(device) => {
                Engine::Local(Box::new(LocalEngine::from_checkpoint(checkpoint, device)))
            }
            Backend::Cpu(worker) => {
                drop(worker.request(Command::Load {
                    weights: serde_bytes::ByteBuf::from(bytes),
                    fallback: checkpoint.config.clone(),
                }));
                Engine::Remote(RemoteEngine {
                    worker: worker.clone(),
                    config: checkpoint.config,
                    progress: checkpoint.progress,
                })
            }
        }
    }
}

/// The page's trainer, on either path.
pub enum Engine {
    /// On this thread's device (boxed: a trainer is large, a remote handle small).
    Local(Box<LocalEngine>),
    /// In the CPU worker.
    Remote(RemoteEngine),
}

impl Engine {
    /// Which path it runs on.
    pub fn path(&self) -> ComputePath {
        match self {
            Engine::Local(_) => ComputePath::WebGpu,
            Engine::Remote(_) => ComputePath::Cpu,
        }
    }

    /// The run's settings.
    pub fn config(&self) -> &TrainingConfig {
        match self {
            Engine::Local(local) => &local.trainer.config,
            Engine::Remote(remote) => &remote.config,
        }
    }

    /// The position after every step enqueued so far.
    pub fn progress(&self) -> Progress {
        match self {
            Engine::Local(local) => local.trainer.progress,
            Engine::Remote(remote) => remote.progress,
        }
    }

    /// Whether all configured epochs are done (or enqueued).
    pub fn is_finished(&self) -> bool {
        self.progress().epoch >= self.config().epochs
    }

    /// Applies the settings a run may change while under way.
    pub fn set_live_settings(&mut self, epochs: usize, snapshot_every: usize) {
        match self {
            Engine::Local(local) => {
                local.trainer.config.epochs = epochs;
                local.trainer.config.snapshot_every = snapshot_every;
            }
            Engine::Remote(remote) => {
                remote.config.epochs = epochs;
                remote.config.snapshot_every = snapshot_every;
                drop(remote.worker.request(Command::SetLive {
                    epochs,
                    snapshot_every,
                }));
            }
        }
    }

    /// Enqueues the next batch; see [`LocalEngine::step`].
    pub fn step(
        &mut self,
        data: &Dataset,
    ) -> Result<Pending<Result<StepReport, EngineError>>, TrainError> {
        match self {
            Engine::Local(local) => local.step(data),
            Engine::Remote(remote) => remote.step(data),
        }
    }

    /// The sample grid; see [`LocalEngine::grid`].
    pub fn grid(&self) -> Pending<Result<Vec<f32>, EngineError>> {
        match self {
            Engine::Local(local) => local.grid(),
            Engine::Remote(remote) => {
                let reply = remote.worker.request(Command::Grid);
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
        }
    }

    /// The weights file; see [`LocalEngine::capture`].
    pub fn capture(&self) -> Pending<Result<Vec<u8>, EngineError>> {
        match self {
            Engine::Local(local) => local.capture(),
            Engine::Remote(remote) => {
                let reply = remote.worker.request(Command::Capture);
                Box::pin(async move {
                    match reply.await? {
                        Reply::Weights(bytes) => Ok(bytes.into_vec()),
                        other => Err(unexpected(&other)),
                    }
                })
            }
        }
    }
}
