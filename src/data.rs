//! The reference's data pipeline: pixels scaled to [−1, 1], a full shuffle redrawn every epoch,
//! batches without dropping the remainder; plus the seeded normal noise fed to the generator.
//!
//! Every random draw comes from a stream named by (seed, epoch) or (seed, step) — ChaCha8 for
//! the order, the digits asked for and the score's and grid's noise, one Xoshiro256++ per row
//! for a training step's noise — so the position in training alone fixes the next batch and
//! noise: resuming needs no RNG state.

use std::ops::Range;

use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::idx::{IMAGE_PIXELS, IdxError, IdxImages, check_pairing};
use crate::model::DIGITS;

/// The reference's scaling: `(x − 127.5) / 127.5`, so 0 → −1 and 255 → +1.
pub fn scale_pixel(pixel: u8) -> f32 {
    (f32::from(pixel) - 127.5) / 127.5
}

/// The inverse of [`scale_pixel`] for display, clamped to a byte.
pub fn unscale_pixel(value: f32) -> u8 {
    (value * 127.5 + 127.5).round().clamp(0.0, 255.0) as u8
}

/// An imported dataset holds out one image in this many for its score ([`Dataset::hold_out`]).
pub const HELD_OUT_EVERY: usize = 10;

/// Images an imported dataset of `count` images trains on, the rest held out.
pub fn training_count(count: usize) -> usize {
    count - count / HELD_OUT_EVERY
}

/// Training images kept as bytes (47 MB for MNIST, a quarter of f32); batches are scaled on
/// demand. Labels, where known, are what a conditional model's real images are shown with.
#[derive(Debug, Clone)]
pub struct Dataset {
    images: IdxImages,
    labels: Option<Vec<u8>>,
}

impl Dataset {
    /// Wraps parsed images, without labels.
    pub fn new(images: IdxImages) -> Self {
        Self {
            images,
            labels: None,
        }
    }

    /// Wraps parsed images and their labels (one per image, each a digit).
    pub fn labelled(images: IdxImages, labels: Vec<u8>) -> Result<Self, IdxError> {
        check_pairing(&images, &labels)?;
        if let Some((index, &value)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &v)| usize::from(v) >= DIGITS)
        {
            return Err(IdxError::LabelOutOfRange { index, value });
        }
        Ok(Self {
            images,
            labels: Some(labels),
        })
    }

    /// The labels, if the data has them.
    pub fn labels(&self) -> Option<&[u8]> {
        self.labels.as_deref()
    }

    /// The images as parsed.
    pub fn images(&self) -> &IdxImages {
        &self.images
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.count
    }

    /// Whether there are no images (a parsed IDX file never is).
    pub fn is_empty(&self) -> bool {
        self.images.count == 0
    }

    /// The raw pixels of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        self.images.image(index)
    }

    /// The images an imported dataset trains on, and those held out for its score: every
    /// [`HELD_OUT_EVERY`]th image (the 10th, the 20th, …), so a folder sorted by class holds
    /// out some of each. Labels stay with their images.
    pub fn hold_out(self) -> (Dataset, IdxImages) {
        let held = |i: usize| i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1;
        let pick = |keep: bool| -> Vec<u8> {
            (0..self.len())
                .filter(|&i| held(i) != keep)
                .flat_map(|i| self.image(i).iter().copied())
                .collect()
        };
        let (training, held_out) = (pick(true), pick(false));
        let count = training_count(self.len());
        let labels = self.labels.as_ref().map(|labels| {
            labels
                .iter()
                .enumerate()
                .filter(|&(i, _)| !held(i))
                .map(|(_, &l)| l)
                .collect()
        });
        let held_out = IdxImages {
            count: self.len() - count,
            pixels: held_out,
        };
        let training = Dataset {
            images: IdxImages {
                count,
                pixels: training,
            },
            labels,
        };
        (training, held_out)
    }

    /// Batches per epoch: `ceil(len / batch_size)` (the last one may be smaller).
    pub fn batches_per_epoch(&self, batch_size: usize) -> usize {
        self.len().div_ceil(batch_size)
    }

    /// The images of batch `batch` of an epoch whose order is `order`, scaled, as a flat
    /// `[n, 784]` row-major buffer (n = batch size, or the remainder for the last batch).
    pub fn batch(&self, order: &[u32], batch: usize, batch_size: usize) -> Vec<f32> {
        let start = batch * batch_size;
        let end = (start + batch_size).min(order.len());
        let mut out = Vec::with_capacity((end - start) * IMAGE_PIXELS);
        for &index in &order[start..end] {
            out.extend(self.image(index as usize).iter().map(|&p| scale_pixel(p)));
        }
        out
    }

    /// The labels of batch `batch` of an epoch whose order is `order` (as [`Dataset::batch`]),
    /// if the data has labels.
    pub fn batch_labels(&self, order: &[u32], batch: usize, batch_size: usize) -> Option<Vec<u8>> {
        let labels = self.labels.as_ref()?;
        let start = batch * batch_size;
        let end = (start + batch_size).min(order.len());
        Some(
            order[start..end]
                .iter()
                .map(|&i| labels[i as usize])
                .collect(),
        )
    }
}

/// The digits asked of the fakes of optimizer step `stream`: `rows` uniform draws from
/// 0..10, from the ChaCha stream `stream` of `seed`.
pub fn uniform_labels(seed: u64, stream: u64, rows: usize) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    (0..rows)
        .map(|_| rng.random_range(0..DIGITS as u8))
        .collect()
}

/// The order in which epoch `epoch` (0-based) visits `len` images: a full Fisher–Yates shuffle
/// from the ChaCha stream `epoch` of `seed`. The same seed and epoch give the same order.
pub fn epoch_order(seed: u64, epoch: usize, len: usize) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    let mut order: Vec<u32> = (0..len as u32).collect();
    order.shuffle(&mut rng);
    order
}

/// `rows × dim` standard-normal values from the ChaCha stream `stream` of `seed`: the quality
/// score's samples, the grid's and the snapshots' (the training steps' noise is
/// [`step_noise_rows`]).
pub fn normal_noise(seed: u64, stream: u64, rows: usize, dim: usize) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    let mut values = Vec::with_capacity(rows * dim);
    normals(&mut NoiseRng::Stream(rng), rows * dim, &mut values);
    values
}

/// Rows `rows` (each `dim` standard-normal values) of the noise of training step `step` drawn
/// from `seed`. Each row has its own Xoshiro256++ generator, seeded from `seed`, `step` and the
/// row's number, so a replica draws only its shard's rows and gets exactly what the whole batch
/// holds there. (One ChaCha8 stream for the whole batch took ~1 ms of a CPU worker's step in
/// wasm, where ChaCha has no SIMD, on every replica.)
pub fn step_noise_rows(seed: u64, step: u64, rows: Range<usize>, dim: usize) -> Vec<f32> {
    let mut values = Vec::with_capacity(rows.len() * dim);
    for row in rows {
        let rng = Xoshiro256PlusPlus::seed_from_u64(mix(mix(mix(seed) ^ step) ^ row as u64));
        normals(&mut NoiseRng::Row(rng), dim, &mut values);
    }
    values
}

/// The noise's two generators as one type: rand_distr's normal sampler (its ziggurat, inlined
/// where it is used) is then in the wasm once (~650 B gzipped for each generator type).
// One short-lived value per call on the stack: a box would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum NoiseRng {
    /// The score's, the grid's and the snapshots' stream.
    Stream(ChaCha8Rng),
    /// One row of a training step's noise.
    Row(Xoshiro256PlusPlus),
}

impl RngCore for NoiseRng {
    fn next_u32(&mut self) -> u32 {
        match self {
            Self::Stream(rng) => rng.next_u32(),
            Self::Row(rng) => rng.next_u32(),
        }
    }

    fn next_u64(&mut self) -> u64 {
        match self {
            Self::Stream(rng) => rng.next_u64(),
            Self::Row(rng) => rng.next_u64(),
        }
    }

    fn fill_bytes(&mut self, bytes: &mut [u8]) {
        match self {
            Self::Stream(rng) => rng.fill_bytes(bytes),
            Self::Row(rng) => rng.fill_bytes(bytes),
        }
    }
}

/// Appends `count` standard-normal values drawn from `rng`.
#[inline(never)]
fn normals(rng: &mut NoiseRng, count: usize, values: &mut Vec<f32>) {
    values.extend((0..count).map(|_| -> f32 { rng.sample(StandardNormal) }));
}

/// SplitMix64's finaliser: a bijection of `u64` that spreads every input bit over the output.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Which data: its name and, for an imported dataset, the SHA-256 of its pixels and labels (in
/// hex). MNIST's is `None`; runs saved before there were datasets are MNIST's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataRef {
    /// The name it had when the run began.
    pub name: String,
    /// Its SHA-256, `None` for MNIST.
    pub sha256: Option<String>,
}

impl Default for DataRef {
    fn default() -> Self {
        Self::mnist()
    }
}

impl DataRef {
    /// MNIST, built in.
    pub fn mnist() -> Self {
        Self {
            name: "MNIST".into(),
            sha256: None,
        }
    }

    /// Whether this is MNIST.
    pub fn is_mnist(&self) -> bool {
        self.sha256.is_none()
    }

    /// Whether a tenth of this data is held out from training to score it ([`Dataset::hold_out`]):
    /// all data but MNIST, which is scored against its own test set.
    pub fn holds_out(&self) -> bool {
        !self.is_mnist()
    }

    /// How many of this data's `count` images it trains on.
    pub fn trained_count(&self, count: usize) -> usize {
        if self.holds_out() {
            training_count(count)
        } else {
            count
        }
    }

    /// Whether `other` is the same data (whatever either is called).
    pub fn same_data(&self, other: &DataRef) -> bool {
        self.sha256 == other.sha256
    }
}
