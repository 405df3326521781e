//! Other images than MNIST's, converted to what the models train on: 28 × 28 grey levels with
//! bright strokes on a dark background, as MNIST's are.
//!
//! Two kinds of source: an IDX pair (Fashion-MNIST, KMNIST, EMNIST and the like: [`import_idx`])
//! and a set of image files — a folder or a zip ([`import_files`], [`FileImport`], [`Archive`]) — whose
//! sub-folders name their labels. Both go through one conversion ([`Converter`]): each image is
//! resampled by area to fit 28 × 28 keeping its aspect ratio (padded with the background) or to
//! fill it (the centre cropped); images drawn dark on light are inverted (detected from the
//! border pixels, or as asked); EMNIST's transposed images are turned back.
//!
//! The core takes bytes; decoding images and inflating compressed files is the thread's
//! ([`Decoders`]): the page's worker uses the browser's own, native code the `image` crate and
//! flate2 ([`native`]).

mod archive;
mod convert;
mod decoders;
mod files;
mod header;
mod idx;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
mod png;
mod sources;

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::data::Dataset;
use crate::idx::IdxError;
use crate::model::DIGITS;

pub use archive::{Archive, Member, Method};
pub use convert::{Converter, convert, dark_on_light, grey_from_rgba};
pub use decoders::{Decoders, Decoding, InflateError, Packing};
pub use files::{FileImport, ImageFormat, Rgba, SkipReason, Skipped, check_size, is_ignored};
pub use idx::import_idx;
pub use png::Png;
pub use sources::{SourceFile, import_files, import_files_now, is_zip};

/// The most images one dataset may hold.
pub const MAX_IMAGES: usize = 250_000;
/// The most bytes of source files one dataset may come from (and a zip may expand to).
pub const MAX_SOURCE_BYTES: u64 = 400_000_000;
/// The most files a zip may hold (twice the images a dataset may hold: room for what is not
/// an image).
pub const MAX_FILES: usize = 2 * MAX_IMAGES;
/// The most pixels one image may have (an 8K frame fits), so a small file that promises a huge
/// image is skipped before it is decoded.
pub const MAX_IMAGE_PIXELS: u64 = 1 << 25;

/// How an image that is not square meets the 28 × 28 frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fit {
    /// The whole image, its longer side 28 pixels, centred on the background.
    #[default]
    Pad,
    /// Its shorter side 28 pixels, the centre kept.
    Crop,
}

/// Whether the grey levels are turned over (255 − level).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Invert {
    /// When the images' borders are light ([`dark_on_light`]).
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How to convert.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvertOptions {
    /// Pad or crop.
    pub fit: Fit,
    /// Invert or not.
    pub invert: Invert,
    /// Swap rows and columns (EMNIST).
    pub transpose: bool,
}

/// Why images could not be imported. Nothing is kept from an import that fails.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImportError {
    /// The images file or the labels file is not a valid IDX file.
    #[error("{file}: {error}")]
    Idx {
        /// Which file.
        file: &'static str,
        /// What is wrong with it.
        error: IdxError,
    },
    /// More images than a dataset may hold.
    #[error("{0} images: a dataset holds at most {MAX_IMAGES}")]
    TooMany(usize),
    /// More bytes of source files than a dataset may come from.
    #[error(
        "more than {} MB of files: a dataset comes from at most {} MB",
        MAX_SOURCE_BYTES / 1_000_000,
        MAX_SOURCE_BYTES / 1_000_000
    )]
    TooLarge,
    /// A zip whose files expand past the limit (a zip bomb, or simply too much).
    #[error(
        "the zip expands to more than {} MB: a dataset comes from at most {} MB",
        MAX_SOURCE_BYTES / 1_000_000,
        MAX_SOURCE_BYTES / 1_000_000
    )]
    Expanded,
    /// Not a zip file, or a broken one.
    #[error("not a readable zip file: {0}")]
    Zip(String),
    /// A gzipped file that does not decompress.
    #[error("{file}: not a valid gzip file: {error}")]
    Gzip {
        /// Which file.
        file: String,
        /// What the decompressor said.
        error: String,
    },
    /// A file or folder that cannot be read.
    #[error("{path}: {error}")]
    Read {
        /// Which one.
        path: String,
        /// What the system said.
        error: String,
    },
    /// A file that is none of what `train --data` reads.
    #[error("{0}: not an IDX file, a zip or a folder of images")]
    Unknown(String),
    /// The labels do not pair with the images.
    #[error("{images} images but {labels} labels")]
    CountMismatch {
        /// Images.
        images: usize,
        /// Labels.
        labels: usize,
    },
    /// A zip of more files than a dataset may come from.
    #[error("the zip holds more than {MAX_FILES} files: a dataset comes from at most {MAX_FILES}")]
    TooManyFiles,
    /// A decoder that did not answer at once, given to [`import_files_now`].
    #[error("a decoder answered later than a synchronous import can wait")]
    Deferred,
    /// No file was an image (what was skipped says why).
    #[error("no images found{}", skipped_clause(.0))]
    NoImages(Vec<Skipped>),
}

/// ": 3 files skipped: a.txt: not an image; …" — empty when nothing was skipped.
fn skipped_clause(skipped: &[Skipped]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    format!(": {}", skipped_list(skipped))
}

/// "2 files skipped: a.txt: …; b.png: …" (the first three, then how many more).
fn skipped_list(skipped: &[Skipped]) -> String {
    const SHOWN: usize = 3;
    let noun = if skipped.len() == 1 { "file" } else { "files" };
    let named: Vec<String> = skipped.iter().take(SHOWN).map(Skipped::to_string).collect();
    let more = skipped.len().saturating_sub(SHOWN);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "{} {noun} skipped: {}{more}",
        skipped.len(),
        named.join("; ")
    )
}

/// The smallest and largest source images (rows × columns, by area).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// The smallest.
    pub smallest: (usize, usize),
    /// The largest.
    pub largest: (usize, usize),
}

impl Sizes {
    /// One size.
    pub fn one(rows: usize, cols: usize) -> Self {
        Self {
            smallest: (rows, cols),
            largest: (rows, cols),
        }
    }

    /// These sizes and one more.
    pub fn with(self, rows: usize, cols: usize) -> Self {
        let area = |(r, c): (usize, usize)| r * c;
        Self {
            smallest: if rows * cols < area(self.smallest) {
                (rows, cols)
            } else {
                self.smallest
            },
            largest: if rows * cols > area(self.largest) {
                (rows, cols)
            } else {
                self.largest
            },
        }
    }
}

impl fmt::Display for Sizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ((r0, c0), (r1, c1)) = (self.smallest, self.largest);
        if self.smallest == self.largest {
            write!(f, "{r0} × {c0}")
        } else {
            write!(f, "{r0} × {c0} to {r1} × {c1}")
        }
    }
}

/// Images converted, with what the conversion found.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The converted images and, when they have at most ten classes, their labels.
    pub dataset: Dataset,
    /// The sizes of the source images.
    pub sizes: Sizes,
    /// Whether the grey levels were turned over.
    pub inverted: bool,
    /// The classes found, in the order of their labels (0, 1, …): the labels file's values or
    /// the sub-folders' names. Empty without labels.
    pub classes: Vec<String>,
    /// Why the images were imported without labels although classes were found.
    pub unlabelled: Option<String>,
    /// The files that were not images, or not readable ones.
    pub skipped: Vec<Skipped>,
}

impl Imported {
    /// What was read: "600 images (32 × 32, inverted), 10 labels, 2 files skipped: …", and why
    /// labels were left out when they were.
    pub fn summary(&self) -> String {
        let inverted = if self.inverted { ", inverted" } else { "" };
        let classes = self.classes.len();
        let noun = if classes == 1 { "label" } else { "labels" };
        let labels = match (&self.unlabelled, classes) {
            (_, 0) => "no labels".to_string(),
            (None, _) => format!("{classes} {noun}"),
            (Some(why), _) => format!("{classes} {noun}, {why}: imported without labels"),
        };
        let count = self.dataset.len();
        let images = if count == 1 { "image" } else { "images" };
        let mut summary = format!("{count} {images} ({}{inverted}), {labels}", self.sizes);
        if !self.skipped.is_empty() {
            summary.push_str(", ");
            summary.push_str(&skipped_list(&self.skipped));
        }
        summary
    }
}

/// Labels from class keys (one per image): each different key, in `order`, becomes 0, 1, … if
/// there are at most ten; the classes' names in that order; and why labels were left out.
fn labels_from_keys<K: Ord + Clone + fmt::Display>(
    keys: &[K],
) -> (Option<Vec<u8>>, Vec<String>, Option<String>) {
    let mut classes: Vec<K> = keys.to_vec();
    classes.sort();
    classes.dedup();
    let names = classes.iter().map(K::to_string).collect();
    if classes.len() > DIGITS {
        let why = format!("more than the {DIGITS} a conditional model takes");
        return (None, names, Some(why));
    }
    let labels = keys
        .iter()
        .map(|key| classes.binary_search(key).map_or(0, |i| i as u8))
        .collect();
    (Some(labels), names, None)
}
