//! The worker's state behind the protocol: its images, its session and, in a group of
//! replicas, the exchange with the others. Each [`Command`] is started at once (the synchronous
//! part runs now, in order); its answer is a future.

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use serde_bytes::ByteBuf;

use super::calibrate::time_steps;
use super::held_out::HeldOut;
use super::{Pending, TrainerSession, replicated_step};
use crate::data::{DataRef, Dataset};
use crate::idx::{IMAGE_PIXELS, IdxImages};
use crate::import::{Decoders, ImportError, MAX_SOURCE_BYTES, SourceFile, import_files};
use crate::matmul::Products;
use crate::path::ComputePath;
use crate::protocol::{
    Command, Reply, TrainerError, WorkerStats, floats_to_bytes, trains_on_every_worker,
};
use crate::quality::QualityModel;
use crate::samples::{Samples, TAKEAWAY_SAMPLES};
use crate::shard::{ShardGradients, ShardPlace};
use crate::weights::Checkpoint;

/// How a replica reaches the others of its group.
pub trait Exchange {
    /// This replica's place.
    fn place(&self) -> ShardPlace;
    /// Sends this replica's part of an optimizer step to every other replica; resolves with
    /// every part of that step, this one's included, in shard order.
    fn exchange(&self, mine: ShardGradients) -> Pending<Result<Vec<ShardGradients>, TrainerError>>;
}

/// What the host needs from the thread it runs on.
pub trait Platform {
    /// The device for `path` (WebGPU's must have been started by [`Platform::start_webgpu`]).
    fn device(&self, path: ComputePath) -> Result<Device, TrainerError>;
    /// Creates this thread's WebGPU device (once) and sends its matrix products through
    /// `products`, or through its adapter's own kernel when `None` (`AdapterInfo::products`).
    fn start_webgpu(&self, products: Option<Products>) -> Pending<Result<(), TrainerError>>;
    /// Bytes of this thread's memory (a wasm module's linear memory).
    fn memory_bytes(&self) -> f64;
    /// This worker's group of replicas, once it joined one.
    fn group(&self) -> Option<Rc<dyn Exchange>>;
    /// A monotonic clock in milliseconds (for calibrations).
    fn clock(&self) -> fn() -> f64;
    /// This thread's image decoders and decompressors (the browser's, or the `image` crate's
    /// and flate2's natively).
    fn decoders(&self) -> Rc<dyn Decoders>;
}

/// The worker's state: its images and its session. Each command is started at once (the
/// synchronous part runs now, in order); its answer is a future. The session is shared with a
/// replicated step under way, which the worker completes before the next command.
#[derive(Default)]
pub struct Host {
    dataset: Option<Rc<Dataset>>,
    session: Option<Rc<RefCell<TrainerSession>>>,
    /// The group's exchange while the session trains as a replica.
    replicas: Option<Rc<dyn Exchange>>,
    /// The quality classifier (on the CPU, whatever the path, so scores agree across paths).
    quality: Option<Rc<QualityModel>>,
    /// Files staged for imports ([`Command::StageFiles`]).
    staged: Vec<SourceFile>,
    /// Which data `dataset` is.
    source: DataRef,
    /// An imported dataset's images held out from training, for its score.
    held_out: HeldOut,
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
    pub fn session(&self) -> Option<std::cell::Ref<'_, TrainerSession>> {
        self.session.as_ref().map(|s| s.borrow())
    }

    /// Turns the session's replayed GPU steps on or off (`Gan::set_replay`; the benchmarks
    /// compare both in one build). Left as it is while a step holds the session.
    pub fn set_replay(&self, enabled: bool) {
        if let Some(mut session) = self.session.as_ref().and_then(|s| s.try_borrow_mut().ok()) {
            session.trainer.gan.set_replay(enabled);
        }
    }

    /// Whether the session trains as a replica of a group.
    pub fn is_replica(&self) -> bool {
        self.replicas.is_some()
    }

    /// Whether `command` must complete before the next one starts: the protocol's barriers,
    /// and every command while the session is a replica (its steps await the other replicas).
    pub fn is_barrier(&self, command: &Command) -> bool {
        command.is_barrier() || self.is_replica()
    }

    /// Installs a new session on `path`; a failed one leaves the current session in place.
    fn replace_session(
        &mut self,
        session: Result<TrainerSession, TrainerError>,
        path: ComputePath,
        platform: &impl Platform,
    ) -> Pending<Reply> {
        match session {
            Ok(mut session) => {
                session.dataset = self.source.clone();
                let group = platform.group();
                let workers = group.as_ref().map_or(1, |g| g.place().count);
                self.replicas = group.filter(|_| trains_on_every_worker(path, workers));
                self.session = Some(Rc::new(RefCell::new(session)));
                ready(Reply::Done)
            }
            Err(e) => ready(Reply::Failed(e)),
        }
    }

    /// Starts `command`; the returned future gives its answer.
    pub fn start(&mut self, command: Command, platform: &impl Platform) -> Pending<Reply> {
        let no_session = || refused("the worker has no trainer yet");
        match command {
            Command::Data {
                count,
                pixels,
                labels,
                source,
            } => {
                if count == 0 || count.checked_mul(IMAGE_PIXELS) != Some(pixels.len()) {
                    return ready(refused(format!(
                        "{} bytes are not {count} images of {IMAGE_PIXELS} pixels",
                        pixels.len()
                    )));
                }
                let images = IdxImages {
                    count,
                    pixels: pixels.into_vec(),
                };
                let dataset = match labels {
                    Some(labels) => match Dataset::labelled(images, labels.into_vec()) {
                        Ok(dataset) => dataset,
                        Err(e) => return ready(refused(format!("the labels: {e}"))),
                    },
                    None => Dataset::new(images),
                };
                let (dataset, held_out) = HeldOut::split(dataset, &source);
                self.dataset = Some(Rc::new(dataset));
                self.held_out = held_out;
                self.source = source;
                ready(Reply::Done)
            }
            Command::StartWebGpu { products } => {
                answer(platform.start_webgpu(products), |()| Reply::Done)
            }
            Command::Create { config, path } => {
                let session = platform.device(path).and_then(|device| {
                    TrainerSession::new(config, &device)
                        .map_err(|e| TrainerError::Refused(e.to_string()))
                });
                self.replace_session(session, path, platform)
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
                self.replace_session(session, path, platform)
            }
            Command::SetLive {
                epochs,
                snapshot_every,
            } => match self.session.as_ref() {
                Some(session) => {
                    let mut session = session.borrow_mut();
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
                let (Some(session), Some(data)) = (self.session.as_ref(), self.dataset.as_ref())
                else {
                    return ready(refused("the worker has no trainer or no images yet"));
                };
                if let Some(replicas) = &self.replicas {
                    let step = replicated_step(session.clone(), data.clone(), replicas.clone());
                    return answer(step, Reply::Step);
                }
                let step = session.borrow_mut().step(data);
                match step {
                    Ok(report) => answer(report, Reply::Step),
                    Err(e) => ready(refused(e)),
                }
            }
            Command::Calibrate {
                config,
                path,
                warm_up,
                steps,
                products,
            } => {
                let Some(data) = self.dataset.clone() else {
                    return ready(refused("the worker has no images yet"));
                };
                // The kernel asked for is timed, and the device's own put back afterwards: a
                // calibration leaves the device as it found it (`StartWebGpu` names the kernel
                // to train with).
                let mut restore = None;
                let session = platform.device(path).and_then(|device| {
                    if let (ComputePath::WebGpu, Some(products)) = (path, products) {
                        restore = Some((device.clone(), crate::matmul::products_on(&device)));
                        crate::matmul::use_products(&device, products);
                    }
                    TrainerSession::new(config, &device)
                        .map_err(|e| TrainerError::Refused(e.to_string()))
                });
                let replicas = platform
                    .group()
                    .filter(|group| trains_on_every_worker(path, group.place().count));
                let timing = session.map(|session| {
                    time_steps(session, data, replicas, platform.clock(), warm_up, steps)
                });
                let timed = async move {
                    let timing = match timing {
                        Ok(timing) => timing.await,
                        Err(e) => Err(e),
                    };
                    if let Some((device, products)) = restore {
                        crate::matmul::use_products(&device, products);
                    }
                    timing
                };
                answer(Box::pin(timed), Reply::Timing)
            }
            Command::Checksum => match &self.session {
                Some(session) => match session.borrow().trainer.checksum() {
                    Ok(sum) => ready(Reply::Checksum(format!("{sum:016x}"))),
                    Err(e) => ready(refused(e)),
                },
                None => ready(no_session()),
            },
            Command::Grid { digits } => match &self.session {
                Some(session) => match session.borrow().grid(&digits) {
                    Ok(pending) => answer(pending, |pixels| {
                        Reply::Pixels(ByteBuf::from(floats_to_bytes(&pixels)))
                    }),
                    Err(e) => ready(Reply::Failed(e)),
                },
                None => ready(no_session()),
            },
            Command::Stats => {
                let usage = self
                    .session
                    .as_ref()
                    .and_then(|session| session.borrow().trainer.gan.device().memory_pool_usage());
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
                let model = self.held_out.scoring_model(&self.source, model);
                let session = session.clone();
                let score = async move {
                    let model = model.await?;
                    let pending = session.borrow().score(model, samples);
                    pending.await
                };
                answer(Box::pin(score), |scored| Reply::Score(scored.score))
            }
            Command::Walk {
                from,
                to,
                frames,
                digits,
            } => match &self.session {
                Some(session) => match session.borrow().walk(from, to, frames, &digits) {
                    Ok(pending) => answer(pending, |pixels| {
                        Reply::Pixels(ByteBuf::from(floats_to_bytes(&pixels)))
                    }),
                    Err(e) => ready(Reply::Failed(e)),
                },
                None => ready(no_session()),
            },
            Command::Samples { count } => match &self.session {
                Some(session) if (1..=TAKEAWAY_SAMPLES).contains(&count) => {
                    let samples = Samples::take(&session.borrow().trainer.gan, count);
                    Box::pin(async move {
                        match samples.await {
                            Ok(samples) => {
                                Reply::Pixels(ByteBuf::from(floats_to_bytes(&samples.images)))
                            }
                            Err(e) => Reply::Failed(TrainerError::Read(e.to_string())),
                        }
                    })
                }
                Some(_) => ready(refused(format!(
                    "between 1 and {TAKEAWAY_SAMPLES} samples can be taken"
                ))),
                None => ready(no_session()),
            },
            Command::GridNoise { seed } => match self.session.as_ref() {
                Some(session) => {
                    session.borrow_mut().new_grid_noise(seed);
                    ready(Reply::Done)
                }
                None => ready(no_session()),
            },
            Command::StageFiles { files } => {
                let bytes =
                    |files: &[SourceFile]| files.iter().map(|f| f.bytes.len()).sum::<usize>();
                if (bytes(&self.staged) + bytes(&files)) as u64 > MAX_SOURCE_BYTES {
                    return ready(refused(ImportError::TooLarge));
                }
                self.staged.extend(files);
                ready(Reply::Done)
            }
            Command::Import { files, options } => {
                // The staged files stay for the next import (copied: each import consumes its
                // files as it decodes them).
                let files = self.staged.iter().cloned().chain(files).collect();
                let decoders = platform.decoders();
                Box::pin(async move {
                    match import_files(files, options, &*decoders).await {
                        Ok(imported) => Reply::Imported(imported.into()),
                        Err(e) => refused(e),
                    }
                })
            }
            Command::Capture { checked } => match &self.session {
                Some(session) => {
                    let session = session.borrow();
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
