//! Other images than MNIST's, converted to what the models train on: 28 × 28 grey levels with
//! bright strokes on a dark background, as MNIST's are.
//!
//! Each image is resampled by area (every source pixel weighs by how much of a target pixel it
//! covers, so shrinking averages and enlarging repeats) to fit 28 × 28 keeping its aspect ratio
//! (padded with the background) or to fill it (the centre cropped). Images drawn dark on light
//! are inverted: detected from the border pixels, or as asked. EMNIST stores its images
//! transposed; `transpose` turns them back.
//!
//! This module takes bytes already decompressed: the page and the native `train` gunzip them.

use thiserror::Error;

use crate::data::Dataset;
use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE, IdxError, IdxImages, RawImages};
use crate::idx::{parse_any_images, parse_any_labels};
use crate::model::DIGITS;

/// The most images one dataset may hold.
pub const MAX_IMAGES: usize = 250_000;

/// How an image that is not square meets the 28 × 28 frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fit {
    /// The whole image, its longer side 28 pixels, centred on the background.
    #[default]
    Pad,
    /// Its shorter side 28 pixels, the centre kept.
    Crop,
}

/// Whether the grey levels are turned over (255 − level).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConvertOptions {
    /// Pad or crop.
    pub fit: Fit,
    /// Invert or not.
    pub invert: Invert,
    /// Swap rows and columns (EMNIST).
    pub transpose: bool,
}

/// Why images could not be imported.
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
    /// The labels do not pair with the images.
    #[error("{images} images but {labels} labels")]
    CountMismatch {
        /// Images.
        images: usize,
        /// Labels.
        labels: usize,
    },
}

/// Images converted, with what the conversion found.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The converted images and, when they are digits, their labels.
    pub dataset: Dataset,
    /// The size of the source images, `(rows, cols)`.
    pub source: (usize, usize),
    /// Whether the grey levels were turned over.
    pub inverted: bool,
    /// Different labels in the labels file (0 without one).
    pub classes: usize,
}

impl Imported {
    /// What was read: "600 images (32 × 32, inverted), 10 labels", and why labels were left
    /// out when they were.
    pub fn summary(&self) -> String {
        let (rows, cols) = self.source;
        let inverted = if self.inverted { ", inverted" } else { "" };
        let labels = match (self.dataset.labels(), self.classes) {
            (Some(_), classes) => format!("{classes} labels"),
            (None, 0) => "no labels".to_string(),
            (None, classes) => format!(
                "{classes} labels, more than the {DIGITS} a conditional model takes: imported without labels"
            ),
        };
        format!(
            "{} images ({rows} × {cols}{inverted}), {labels}",
            self.dataset.len()
        )
    }
}

/// Whether `images` are drawn dark on light: the mean of every image's border pixels (of up
/// to the first 1,000 images) is above mid-grey.
pub fn dark_on_light(images: &RawImages) -> bool {
    let (rows, cols) = (images.rows, images.cols);
    let (mut sum, mut count) = (0u64, 0u64);
    for index in 0..images.count.min(1000) {
        let image = images.image(index);
        for y in 0..rows {
            for x in 0..cols {
                if y == 0 || x == 0 || y + 1 == rows || x + 1 == cols {
                    sum += u64::from(image[y * cols + x]);
                    count += 1;
                }
            }
        }
    }
    count > 0 && sum * 2 > 255 * count
}

/// The overlap of `[a0, a1)` and `[b0, b1)`.
fn overlap(a0: f64, a1: f64, b0: f64, b1: f64) -> f64 {
    (a1.min(b1) - a0.max(b0)).max(0.0)
}

/// One image (`rows × cols` grey levels, inverted already) resampled by area into 28 × 28:
/// each target pixel covers a rectangle of the source scaled by `scale`, offset by `(dx, dy)`
/// target pixels; what lies outside the source is background (0).
fn resample(image: &[u8], rows: usize, cols: usize, fit: Fit) -> Vec<u8> {
    let side = IMAGE_SIDE as f64;
    let longest = rows.max(cols) as f64;
    let shortest = rows.min(cols) as f64;
    // Target pixels per source pixel.
    let scale = match fit {
        Fit::Pad => side / longest,
        Fit::Crop => side / shortest,
    };
    // Where the source's top-left corner lands, in target pixels.
    let dx = (side - cols as f64 * scale) / 2.0;
    let dy = (side - rows as f64 * scale) / 2.0;
    let mut out = vec![0u8; IMAGE_PIXELS];
    for ty in 0..IMAGE_SIDE {
        // The target pixel's rows in source coordinates.
        let (y0, y1) = ((ty as f64 - dy) / scale, (ty as f64 + 1.0 - dy) / scale);
        for tx in 0..IMAGE_SIDE {
            let (x0, x1) = ((tx as f64 - dx) / scale, (tx as f64 + 1.0 - dx) / scale);
            let mut sum = 0.0;
            for sy in (y0.floor().max(0.0) as usize)..(y1.ceil().min(rows as f64) as usize) {
                let wy = overlap(y0, y1, sy as f64, sy as f64 + 1.0);
                for sx in (x0.floor().max(0.0) as usize)..(x1.ceil().min(cols as f64) as usize) {
                    let wx = overlap(x0, x1, sx as f64, sx as f64 + 1.0);
                    sum += wx * wy * f64::from(image[sy * cols + sx]);
                }
            }
            // The target pixel's area in source pixels: the background counts as 0.
            let area = (y1 - y0) * (x1 - x0);
            out[ty * IMAGE_SIDE + tx] = (sum / area).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Every image of `images` converted to 28 × 28 by `options`; also whether they were inverted.
pub fn convert(images: &RawImages, options: ConvertOptions) -> (IdxImages, bool) {
    let invert = match options.invert {
        Invert::Auto => dark_on_light(images),
        Invert::Always => true,
        Invert::Never => false,
    };
    let (rows, cols) = if options.transpose {
        (images.cols, images.rows)
    } else {
        (images.rows, images.cols)
    };
    let mut pixels = Vec::with_capacity(images.count * IMAGE_PIXELS);
    let mut source = vec![0u8; rows * cols];
    for index in 0..images.count {
        let image = images.image(index);
        for y in 0..rows {
            for x in 0..cols {
                let value = if options.transpose {
                    image[x * images.cols + y]
                } else {
                    image[y * cols + x]
                };
                source[y * cols + x] = if invert { 255 - value } else { value };
            }
        }
        pixels.extend(resample(&source, rows, cols, options.fit));
    }
    (
        IdxImages {
            count: images.count,
            pixels,
        },
        invert,
    )
}

/// `labels` as digits: each different value, in ascending order, becomes 0, 1, … — if there
/// are at most ten of them.
fn as_digits(labels: &[u8]) -> Option<Vec<u8>> {
    let mut index = [None; 256];
    let mut seen: Vec<u8> = labels.to_vec();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() > DIGITS {
        return None;
    }
    for (digit, &value) in (0u8..).zip(&seen) {
        index[usize::from(value)] = Some(digit);
    }
    labels.iter().map(|&v| index[usize::from(v)]).collect()
}

/// An IDX pair (decompressed): the images, converted, and their labels when the file has them
/// and there are at most ten classes (numbered 0, 1, … in the order of their values; more are
/// left out, and [`Imported::summary`] says so).
pub fn import_idx(
    images: &[u8],
    labels: Option<&[u8]>,
    options: ConvertOptions,
) -> Result<Imported, ImportError> {
    let raw = parse_any_images(images).map_err(|error| ImportError::Idx {
        file: "the images file",
        error,
    })?;
    if raw.count > MAX_IMAGES {
        return Err(ImportError::TooMany(raw.count));
    }
    let labels = labels
        .map(|bytes| {
            parse_any_labels(bytes).map_err(|error| ImportError::Idx {
                file: "the labels file",
                error,
            })
        })
        .transpose()?;
    if let Some(labels) = labels
        && labels.len() != raw.count
    {
        return Err(ImportError::CountMismatch {
            images: raw.count,
            labels: labels.len(),
        });
    }
    let classes = labels.map_or(0, |labels| {
        let mut seen = [false; 256];
        for &label in labels {
            seen[usize::from(label)] = true;
        }
        seen.iter().filter(|&&s| s).count()
    });
    let (converted, inverted) = convert(&raw, options);
    let dataset = match labels.and_then(as_digits) {
        Some(labels) => Dataset::labelled(converted, labels).map_err(|error| ImportError::Idx {
            file: "the labels file",
            error,
        })?,
        None => Dataset::new(converted),
    };
    Ok(Imported {
        dataset,
        source: (raw.rows, raw.cols),
        inverted,
        classes,
    })
}
