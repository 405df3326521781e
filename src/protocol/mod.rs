//! The messages between the page and the trainer's worker, and their encodings.
//!
//! Both ends depend on this module and not on each other: the page's client
//! (`web::client`) sends [`ToWorker`] and reads [`FromWorker`]; the worker's host
//! (`web::host`, over [`crate::session::Host`]) does the opposite. Every command that changes
//! the worker's state is answered, and a [`Reply::Failed`] means the worker's state is as it was
//! before the command.

use serde_bytes::ByteBuf;

use crate::config::TrainingConfig;
use crate::data::DataRef;
use crate::import::{ConvertOptions, SourceFile};
use crate::matmul::Products;
use crate::path::ComputePath;
use crate::quality::Score;
use crate::shard::ShardPlace;
use crate::train::StepValues;

mod imported;
pub use imported::{ImportedData, LISTED_SKIPPED};

/// Steps enqueued whose statistics have not been read back yet, at most: the asynchronous
/// read-back is the back-pressure that keeps the worker's queue short (a calibration keeps as
/// many under way as the page does).
pub const MAX_IN_FLIGHT: usize = 3;

/// A snapshot of the generator: the epoch after which it was taken and G(seed), 784 values in
/// [−1, 1].
pub type Snapshot = (usize, Vec<f32>);

/// Why a result did not arrive.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum TrainerError {
    /// Reading from the device failed (on WebGPU: the device was lost or reset).
    #[error("reading from the device failed: {0}")]
    Read(String),
    /// The worker stopped (its GPU device was lost, or it crashed).
    #[error("the trainer's worker stopped: {0}")]
    Worker(String),
    /// The model's weights are no longer all finite numbers.
    #[error("the weights are no longer finite numbers ({0})")]
    Diverged(String),
    /// The worker refused the request (a training error, a bad weights file).
    #[error("{0}")]
    Refused(String),
    /// The replicas of a group of workers no longer agree (or could not exchange their parts).
    #[error("the CPU workers' replicas disagree ({0}); training stopped")]
    Replicas(String),
}

/// One step's results, read back.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepReport {
    /// The losses and mean outputs of the step.
    pub values: StepValues,
    /// `Some(n)` when the step completed epoch `n`.
    pub finished_epoch: Option<usize>,
    /// A snapshot taken right after that epoch: at the reference's snapshot epochs, and after
    /// the run's last epoch.
    pub snapshot: Option<Snapshot>,
}

/// What the page asks of the worker.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Command {
    /// The training images (sent once per worker; steps need them).
    Data {
        /// Number of images.
        count: usize,
        /// `count × 784` pixels.
        pixels: ByteBuf,
        /// `count` labels (digits), which a conditional model trains on; absent for
        /// unlabelled data.
        labels: Option<ByteBuf>,
        /// Which data it is (named in the weights files the worker writes).
        #[serde(default)]
        source: DataRef,
    },
    /// Create the worker's WebGPU device (before any trainer on that path), its matrix products
    /// through `products` (the page's calibration's choice) or, when `None`, through the
    /// adapter's own kernel (`AdapterInfo::products`).
    StartWebGpu {
        /// The kernel.
        products: Option<Products>,
    },
    /// A fresh trainer in place of the current one.
    Create {
        /// Its settings.
        config: TrainingConfig,
        /// Its device.
        path: ComputePath,
    },
    /// The trainer of a weights file in place of the current one.
    Load {
        /// The file.
        weights: ByteBuf,
        /// Settings for a file without them.
        fallback: TrainingConfig,
        /// Its device.
        path: ComputePath,
    },
    /// The settings a run may change while under way.
    SetLive {
        /// Epochs to train.
        epochs: usize,
        /// Snapshot interval in epochs.
        snapshot_every: usize,
    },
    /// Train the next batch.
    Step,
    /// The sample grid, a column per digit of `digits` for a conditional model
    /// (`session::GridLayout`; ignored by a model without labels).
    Grid {
        /// The digits of the columns, in order.
        digits: Vec<u8>,
    },
    /// The weights file.
    Capture {
        /// Also check it loads (every value finite): an autosave must never keep a diverged run.
        checked: bool,
    },
    /// Memory figures.
    Stats,
    /// The quality classifier's file (sent once per worker, like the images; scores need it).
    Quality {
        /// The file.
        classifier: ByteBuf,
    },
    /// The generator's quality as it is now, on `samples` samples of the fixed scoring noise.
    Score {
        /// Samples to score.
        samples: usize,
    },
    /// The generator's walk from grid sample `from` to grid sample `to`: `frames` images.
    Walk {
        /// Index of the first sample in the grid of `digits`.
        from: usize,
        /// Index of the last.
        to: usize,
        /// Images on the way, both ends included.
        frames: usize,
        /// The grid's digits, as for [`Command::Grid`].
        digits: Vec<u8>,
    },
    /// `count` samples of the generator from the fixed scoring noise (`samples::Samples`), as
    /// pixels.
    Samples {
        /// How many.
        count: usize,
    },
    /// Redraws the grid's noise from `seed` (the grid, and the ends of walks, change with it).
    GridNoise {
        /// The seed.
        seed: u64,
    },
    /// A fingerprint of the replica (networks, optimizers, position): a group's workers must
    /// agree.
    Checksum,
    /// Times `steps` steps (after `warm_up` untimed ones) of a throwaway fresh trainer on
    /// `path`, the run in place untouched; on the CPU path of a group, as its replicas.
    Calibrate {
        /// The settings to time.
        config: TrainingConfig,
        /// The path to time.
        path: ComputePath,
        /// Untimed steps first.
        warm_up: usize,
        /// Timed steps.
        steps: usize,
        /// On WebGPU, the kernel for the products (the device keeps it afterwards).
        products: Option<Products>,
    },
    /// Files kept for the imports that follow, beside those kept before (a dedicated import
    /// worker keeps them, so converting them again with other options reads nothing twice). In
    /// the browser the page sends the files unread (`web::unread`) and the worker's web layer
    /// reads them into `files` before the host sees the command.
    StageFiles {
        /// The files.
        files: Vec<SourceFile>,
    },
    /// What a visitor brought — the files staged and these — converted into a dataset
    /// (`import::import_files`), its images decoded by the worker's own decoders; nothing
    /// else of the worker's state changes.
    Import {
        /// The files not staged: images, zips of them, or an IDX pair.
        files: Vec<SourceFile>,
        /// How to convert them.
        options: ConvertOptions,
    },
}

impl Command {
    /// Whether the worker must finish this command before it starts the next one (a score
    /// completes before the autosave after it is captured, so the file includes it; a
    /// calibration times nothing else; an import holds its files' memory alone; the rest are
    /// started in order and may complete concurrently, so several steps can be under way).
    pub fn is_barrier(&self) -> bool {
        matches!(
            self,
            Command::StartWebGpu { .. }
                | Command::Score { .. }
                | Command::Calibrate { .. }
                | Command::StageFiles { .. }
                | Command::Import { .. }
        )
    }
}

/// The worker's answer to one command.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Reply {
    /// Done, nothing to return.
    Done,
    /// A step's results.
    Step(StepReport),
    /// Sample pixels (see [`floats_to_bytes`]).
    Pixels(ByteBuf),
    /// A weights file.
    Weights(ByteBuf),
    /// Memory figures.
    Stats(WorkerStats),
    /// A quality score.
    Score(Score),
    /// A replica's fingerprint (hexadecimal: a u64 does not fit a JavaScript number).
    Checksum(String),
    /// A calibration's mean time per step (ms).
    Timing(f64),
    /// A dataset converted from what a visitor brought.
    Imported(ImportedData),
    /// The command failed; the worker's state is as before it.
    Failed(TrainerError),
}

impl Reply {
    /// The variant's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Reply::Done => "Done",
            Reply::Step(_) => "Step",
            Reply::Pixels(_) => "Pixels",
            Reply::Weights(_) => "Weights",
            Reply::Stats(_) => "Stats",
            Reply::Score(_) => "Score",
            Reply::Checksum(_) => "Checksum",
            Reply::Timing(_) => "Timing",
            Reply::Imported(_) => "Imported",
            Reply::Failed(_) => "Failed",
        }
    }

    /// The error of a reply that is not the expected kind.
    pub fn unexpected(&self) -> TrainerError {
        TrainerError::Worker(format!("unexpected reply {}", self.name()))
    }
}

/// The worker's memory: its wasm heap and its device's memory pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkerStats {
    /// Bytes of the worker's wasm linear memory.
    pub wasm_bytes: f64,
    /// Bytes in use in the device's memory pool (Burn's allocator), where it reports one.
    pub device_in_use: Option<f64>,
    /// Bytes the device's memory pool has reserved.
    pub device_reserved: Option<f64>,
}

/// A command with the id its answer will carry.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Request {
    /// Chosen by the page, unique among the requests not yet answered.
    pub id: u32,
    /// What to do.
    pub command: Command,
}

/// Everything the page posts to the worker after the boot message (which `www/worker.js`
/// reads: the wasm module to load).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ToWorker {
    /// A command for the Rust host.
    Request(Request),
    /// Destroy every WebGPU device, as a driver reset would (handled by `www/worker.js`; only
    /// the `test-hooks` build sends it).
    LoseDevice,
    /// This worker's place in a group of replicas; the message carries one `MessagePort` to
    /// each other worker, in their order.
    Join(ShardPlace),
}

/// Whether a run on `path` in a group of `workers` trains on every worker as replicas (the
/// CPU path) or on the first alone (WebGPU: one device). The page's group and each worker's
/// host route by this one rule.
pub fn trains_on_every_worker(path: ComputePath, workers: usize) -> bool {
    path == ComputePath::Cpu && workers > 1
}

/// Everything the worker posts to the page.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FromWorker {
    /// The answer to request `id`.
    Answer {
        /// The request's id.
        id: u32,
        /// Its answer.
        reply: Reply,
    },
    /// The worker cannot go on (its module failed to load, or its GPU device was lost); posted
    /// by `www/worker.js`.
    Fatal(String),
    /// How far request `id` has got: `done` of `total` (the import worker reading the files
    /// the page handed it unread).
    Progress {
        /// The request's id.
        id: u32,
        /// Done so far.
        done: usize,
        /// In all.
        total: usize,
    },
}

/// f32 values as little-endian bytes (every target this app runs on is little-endian).
pub fn floats_to_bytes(values: &[f32]) -> Vec<u8> {
    bytemuck::cast_slice(values).to_vec()
}

/// The inverse of [`floats_to_bytes`]; a trailing partial value is dropped.
pub fn bytes_to_floats(bytes: &[u8]) -> Vec<f32> {
    let whole = bytes.len() / 4 * 4;
    bytemuck::pod_collect_to_vec(&bytes[..whole])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_trip_through_little_endian_bytes() {
        let values = [0.0, -1.5, f32::MAX, f32::MIN_POSITIVE, 3.25];
        let bytes = floats_to_bytes(&values);
        assert_eq!(&bytes[4..8], &(-1.5f32).to_le_bytes());
        assert_eq!(bytes_to_floats(&bytes), values);
        // An unaligned slice decodes too, and a partial value is dropped.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&bytes);
        shifted.push(7);
        assert_eq!(bytes_to_floats(&shifted[1..]), values);
    }

    #[test]
    fn messages_keep_their_shape_through_serde() {
        let message = ToWorker::Request(Request {
            id: 7,
            command: Command::SetLive {
                epochs: 3,
                snapshot_every: 2,
            },
        });
        let json = serde_json::to_string(&message).unwrap_or_default();
        assert_eq!(
            serde_json::from_str::<ToWorker>(&json).ok(),
            Some(message),
            "{json}"
        );
        let fatal: FromWorker =
            serde_json::from_str(r#"{"Fatal":"gone"}"#).unwrap_or(FromWorker::Fatal(String::new()));
        assert_eq!(fatal, FromWorker::Fatal("gone".into()));
        assert!(
            Command::StartWebGpu { products: None }.is_barrier() && !Command::Step.is_barrier()
        );
    }
}
