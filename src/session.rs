//! The trainer behind the page, as plain core code: a [`TrainerSession`] steps, samples and
//! captures one run on one device; a [`Host`] holds the worker's images and session and answers
//! each [`Command`]. The web layer only moves messages (`web::host`) and supplies devices
//! ([`Platform`]), so all of this is tested natively.

use std::future::Future;
use std::pin::Pin;

use burn::tensor::{Device, Tensor};
use serde_bytes::ByteBuf;

use crate::config::TrainingConfig;
use crate::data::Dataset;
use crate::idx::{IMAGE_PIXELS, IdxImages};
use crate::path::ComputePath;
use crate::protocol::{Command, Reply, StepReport, TrainerError, WorkerStats, floats_to_bytes};
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

/// A trainer on this thread's device, with the fixed noise of the sample grid.
#[derive(Debug)]
pub struct TrainerSession {
    /// The trainer.
    pub trainer: Trainer,
    grid_noise: Tensor<2>,
}

impl TrainerSession {
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
    /// epoch, before any later step) are read back by the returned future. Besides the
    /// reference's snapshot epochs, the generator after the run's last epoch is a snapshot too
    /// (display only: training is unchanged).
    pub fn step(
        &mut self,
        data: &Dataset,
    ) -> Result<Pending<Result<StepReport, TrainerError>>, TrainError> {
        let trainer = &mut self.trainer;
        let outcome = trainer.step(data)?;
        let last = trainer.is_finished();
        let snapshot = outcome
            .finished_epoch
            .filter(|&epoch| trainer.config.is_snapshot_epoch(epoch) || last)
            .map(|epoch| (epoch, trainer.gan.generate(trainer.sample_noise(1))));
        Ok(Box::pin(async move {
            let values = outcome
                .stats
                .read()
                .await
                .map_err(|e| TrainerError::Read(e.to_string()))?;
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
    pub fn grid(&self) -> Pending<Result<Vec<f32>, TrainerError>> {
        let images = self.trainer.gan.generate(self.grid_noise.clone());
        Box::pin(read_pixels(images))
    }

    /// The weights file of the model as it is now (after every step enqueued so far).
    pub fn capture(&self) -> Pending<Result<Vec<u8>, TrainerError>> {
        let capture = Checkpoint::capture(&self.trainer);
        Box::pin(async move {
            capture
                .await
                .map(|checkpoint| checkpoint.to_bytes())
                .map_err(|e| TrainerError::Read(e.to_string()))
        })
    }
}

/// What the host needs from the thread it runs on.
pub trait Platform {
    /// The device for `path` (WebGPU's must have been started by [`Platform::start_webgpu`]).
    fn device(&self, path: ComputePath) -> Result<Device, TrainerError>;
    /// Creates this thread's WebGPU device.
    fn start_webgpu(&self) -> Pending<Result<(), TrainerError>>;
    /// Bytes of this thread's memory (a wasm module's linear memory).
    fn memory_bytes(&self) -> f64;
}

/// The worker's state: its images and its session. Each command is started at once (the
/// synchronous part runs now, in order); its answer is a future.
#[derive(Default)]
pub struct Host {
    dataset: Option<Dataset>,
    session: Option<TrainerSession>,
}

fn refused(error: impl std::fmt::Display) -> Reply {
    Reply::Failed(TrainerError::Refused(error.to_string()))
}

fn ready(reply: Reply) -> Pending<Reply> {
    Box::pin(std::future::ready(reply))
}

fn answer<T: 'static>(
    pending: Pending<Result<T, TrainerError>>,
    reply: impl FnOnce(T) -> Reply + 'static,
) -> Pending<Reply> {
    Box::pin(async move { pending.await.map_or_else(Reply::Failed, reply) })
}

impl Host {
    /// The session, once one was created or loaded.
    pub fn session(&self) -> Option<&TrainerSession> {
        self.session.as_ref()
    }

    /// Installs a new session; a failed one leaves the current session in place.
    fn replace_session(&mut self, session: Result<TrainerSession, TrainerError>) -> Pending<Reply> {
        match session {
            Ok(session) => {
                self.session = Some(session);
                ready(Reply::Done)
            }
            Err(e) => ready(Reply::Failed(e)),
        }
    }

    /// Starts `command`; the returned future gives its answer.
    pub fn start(&mut self, command: Command, platform: &impl Platform) -> Pending<Reply> {
        let no_session = || refused("the worker has no trainer yet");
        match command {
            Command::Data { count, pixels } => {
                if count == 0 || count.checked_mul(IMAGE_PIXELS) != Some(pixels.len()) {
                    return ready(refused(format!(
                        "{} bytes are not {count} images of {IMAGE_PIXELS} pixels",
                        pixels.len()
                    )));
                }
                let pixels = pixels.into_vec();
                self.dataset = Some(Dataset::new(IdxImages { count, pixels }));
                ready(Reply::Done)
            }
            Command::StartWebGpu => answer(platform.start_webgpu(), |()| Reply::Done),
            Command::Create { config, path } => {
                let session = platform.device(path).and_then(|device| {
                    TrainerSession::new(config, &device)
                        .map_err(|e| TrainerError::Refused(e.to_string()))
                });
                self.replace_session(session)
            }
            Command::Load {
                weights,
                fallback,
                path,
            } => {
                let session = platform.device(path).and_then(|device| {
                    Checkpoint::from_bytes(&weights, "", &fallback)
                        .map(|checkpoint| TrainerSession::from_checkpoint(checkpoint, &device))
                        .map_err(|e| TrainerError::Refused(e.to_string()))
                });
                self.replace_session(session)
            }
            Command::SetLive {
                epochs,
                snapshot_every,
            } => match self.session.as_mut() {
                Some(session) => {
                    let mut config = session.trainer.config.clone();
                    config.epochs = epochs;
                    config.snapshot_every = snapshot_every;
                    match config.validate() {
                        Ok(()) => {
                            session.trainer.config = config;
                            ready(Reply::Done)
                        }
                        Err(e) => ready(refused(e)),
                    }
                }
                None => ready(no_session()),
            },
            Command::Step => {
                let (Some(session), Some(data)) = (self.session.as_mut(), self.dataset.as_ref())
                else {
                    return ready(refused("the worker has no trainer or no images yet"));
                };
                match session.step(data) {
                    Ok(report) => answer(report, Reply::Step),
                    Err(e) => ready(refused(e)),
                }
            }
            Command::Grid => match &self.session {
                Some(session) => answer(session.grid(), |pixels| {
                    Reply::Pixels(ByteBuf::from(floats_to_bytes(&pixels)))
                }),
                None => ready(no_session()),
            },
            Command::Stats => {
                let usage = self
                    .session
                    .as_ref()
                    .and_then(|session| session.trainer.gan.device().memory_pool_usage());
                ready(Reply::Stats(WorkerStats {
                    wasm_bytes: platform.memory_bytes(),
                    device_in_use: usage.as_ref().map(|u| u.bytes_in_use as f64),
                    device_reserved: usage.as_ref().map(|u| u.bytes_reserved as f64),
                }))
            }
            Command::Capture { checked } => match &self.session {
                Some(session) => {
                    let capture = session.capture();
                    let config = session.trainer.config.clone();
                    Box::pin(async move {
                        match capture.await {
                            Ok(bytes) => match Checkpoint::from_bytes(&bytes, "", &config) {
                                Err(e) if checked => {
                                    Reply::Failed(TrainerError::Diverged(e.to_string()))
                                }
                                _ => Reply::Weights(ByteBuf::from(bytes)),
                            },
                            Err(e) => Reply::Failed(e),
                        }
                    })
                }
                None => ready(no_session()),
            },
        }
    }
}
