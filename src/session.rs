//! The trainer behind the page, as plain core code: a [`TrainerSession`] steps, samples and
//! captures one run on one device; a [`Host`] holds the worker's images and session and answers
//! each [`Command`]. The web layer only moves messages (`web::host`) and supplies devices
//! ([`Platform`]), so all of this is tested natively.

use std::future::Future;
use std::pin::Pin;

use burn::tensor::{Device, Tensor};
use serde_bytes::ByteBuf;

use std::cell::RefCell;
use std::rc::Rc;

use crate::config::TrainingConfig;
use crate::data::{Dataset, normal_noise};
use crate::idx::{IMAGE_PIXELS, IdxImages};
use crate::latent::walk;
use crate::path::ComputePath;
use crate::protocol::{Command, Reply, StepReport, TrainerError, WorkerStats, floats_to_bytes};
use crate::quality::{self, EpochScore, QualityModel};
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
}

impl TrainerSession {
    /// A fresh trainer for `config` on `device`.
    pub fn new(config: TrainingConfig, device: &Device) -> Result<Self, TrainError> {
        Ok(Self::from_trainer(Trainer::new(config, device)?))
    }

    /// The trainer a checkpoint holds, on `device`, with its scores.
    pub fn from_checkpoint(mut checkpoint: Checkpoint, device: &Device) -> Self {
        let scores = std::mem::take(&mut checkpoint.scores);
        Self {
            scores: Rc::new(RefCell::new(scores)),
            ..Self::from_trainer(checkpoint.into_trainer(device))
        }
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

    /// Redraws the grid's noise from `seed`.
    pub fn new_grid_noise(&mut self, seed: u64) {
        let dim = self.trainer.config.noise_dim;
        self.set_grid_noise(normal_noise(seed, 0, GRID_SIDE * GRID_SIDE, dim));
    }

    /// The generator's images along the spherical path between grid noise rows `from` and
    /// `to`: `frames × 784` values in [−1, 1].
    pub fn walk(
        &self,
        from: usize,
        to: usize,
        frames: usize,
    ) -> Result<Pending<Result<Vec<f32>, TrainerError>>, TrainerError> {
        let dim = self.trainer.config.noise_dim;
        let rows = self.grid_noise.1.len() / dim;
        if from >= rows || to >= rows || !(2..=64).contains(&frames) {
            return Err(TrainerError::Refused(format!(
                "a walk needs two of the {rows} grid samples and 2 to 64 frames"
            )));
        }
        let row = |i: usize| &self.grid_noise.1[i * dim..(i + 1) * dim];
        let noise = walk(row(from), row(to), frames);
        let gan = &self.trainer.gan;
        let images = gan.generate(gan.upload(noise, frames, dim));
        Ok(Box::pin(read_pixels(images)))
    }

    /// The generator's score as it is now, kept (for the weights file) once it completes as
    /// the score after the epochs trained when this was called. The worker completes it before
    /// starting the next command ([`Command::is_barrier`]), so an autosave captured right
    /// after it includes it.
    pub fn score(
        &self,
        model: Rc<QualityModel>,
        samples: usize,
    ) -> Pending<Result<EpochScore, TrainerError>> {
        let dim = self.trainer.config.noise_dim;
        let gan = &self.trainer.gan;
        let images = quality::generate_tensors(
            |noise, rows| gan.generate(gan.upload(noise, rows, dim)),
            dim,
            samples,
        );
        let epoch = self.trainer.progress.epoch;
        let scores = self.scores.clone();
        Box::pin(async move {
            let images = quality::read_all(images)
                .await
                .map_err(|e| TrainerError::Read(e.to_string()))?;
            let score = quality::score_images(&model, &images, &Device::flex())
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
        let images = self.trainer.gan.generate(self.grid_noise.0.clone());
        Box::pin(read_pixels(images))
    }

    /// The weights file of the model as it is now (after every step enqueued so far), with
    /// the scores taken so far.
    pub fn capture(&self) -> Pending<Result<Vec<u8>, TrainerError>> {
        let capture = Checkpoint::capture(&self.trainer);
        let scores = self.scores.borrow().clone();
        Box::pin(async move {
            capture
                .await
                .map(|checkpoint| {
                    Checkpoint {
                        scores,
                        ..checkpoint
                    }
                    .to_bytes()
                })
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
    /// The quality classifier (on the CPU, whatever the path, so scores agree across paths).
    quality: Option<Rc<QualityModel>>,
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
            Command::Quality { classifier } => {
                match QualityModel::from_bytes(&classifier, &Device::flex()) {
                    Ok(model) => {
                        self.quality = Some(Rc::new(model));
                        ready(Reply::Done)
                    }
                    Err(e) => ready(refused(e)),
                }
            }
            Command::Score { samples } => {
                let (Some(session), Some(model)) = (self.session.as_ref(), self.quality.clone())
                else {
                    return ready(refused("the worker has no trainer or no classifier yet"));
                };
                if samples < 2 {
                    return ready(refused("a score needs at least 2 samples"));
                }
                answer(session.score(model, samples), |scored| {
                    Reply::Score(scored.score)
                })
            }
            Command::Walk { from, to, frames } => match &self.session {
                Some(session) => match session.walk(from, to, frames) {
                    Ok(pending) => answer(pending, |pixels| {
                        Reply::Pixels(ByteBuf::from(floats_to_bytes(&pixels)))
                    }),
                    Err(e) => ready(Reply::Failed(e)),
                },
                None => ready(no_session()),
            },
            Command::GridNoise { seed } => match self.session.as_mut() {
                Some(session) => {
                    session.new_grid_noise(seed);
                    ready(Reply::Done)
                }
                None => ready(no_session()),
            },
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
