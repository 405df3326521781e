//! Samples to take away: the generator's images for fixed noise as numpy files anyone can score
//! with their own tools — `samples.npy`, float32 `[n, 28, 28]` in [−1, 1], and for a
//! conditional model `labels.npy`, uint8 `[n]`, the digit each sample was asked for.
//!
//! The noise is the quality score's ([`quality::SCORE_SEED`]) and the digits its
//! ([`quality::requested_labels`]): the first 2,000 samples are the ones the page scores, and
//! every run's samples come from the same noise.
//!
//! The numpy format is written here: a fixed ASCII header and the raw little-endian values
//! (format version 1.0), which no dependency is needed for.

use burn::tensor::Tensor;

use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::quality::{self, ScoreError};
use crate::train::Gan;

/// Samples in a download.
pub const TAKEAWAY_SAMPLES: usize = 10_000;

/// The generator's samples, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// `[n, 784]` in [−1, 1], row-major.
    pub images: Vec<f32>,
    /// The digit each was asked for, for a model that takes labels.
    pub labels: Option<Vec<u8>>,
}

impl Samples {
    /// `count` samples of `gan`'s generator, enqueued now on its device; the future reads them
    /// back and borrows nothing.
    pub fn take(
        gan: &Gan,
        count: usize,
    ) -> impl std::future::Future<Output = Result<Self, ScoreError>> + 'static {
        let dim = gan.generator.noise_dim();
        let tensors: Vec<Tensor<2>> =
            quality::generate_tensors(|noise, labels| gan.generate_for(noise, labels), dim, count);
        let labels = (gan.labels() > 0).then(|| quality::requested_labels(count));
        async move {
            let images = quality::read_all(tensors).await?;
            Ok(Self { images, labels })
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.images.len() / IMAGE_PIXELS
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// `samples.npy`: float32 `[n, 28, 28]`.
    pub fn images_npy(&self) -> Vec<u8> {
        let data: Vec<u8> = self.images.iter().flat_map(|v| v.to_le_bytes()).collect();
        images_file(&data)
    }

    /// `labels.npy`: uint8 `[n]`, for a model that takes labels.
    pub fn labels_npy(&self) -> Option<Vec<u8>> {
        self.labels.as_deref().map(labels_file)
    }
}

/// `samples.npy` of images given as little-endian float32 bytes, 784 values each: float32
/// `[n, 28, 28]`.
pub fn images_file(bytes: &[u8]) -> Vec<u8> {
    let count = bytes.len() / (4 * IMAGE_PIXELS);
    npy("<f4", &[count, IMAGE_SIDE, IMAGE_SIDE], bytes)
}

/// `labels.npy` of digits: uint8 `[n]`.
pub fn labels_file(labels: &[u8]) -> Vec<u8> {
    npy("|u1", &[labels.len()], labels)
}

/// A numpy file (format 1.0) of `data`, already in the `descr` dtype's bytes, of `shape`.
pub fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape = match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6), version (2) and length (2), then the header padded with spaces and ended by a
    // newline so that the data starts at a multiple of 64 bytes.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}
