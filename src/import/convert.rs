//! One image at a time to 28 × 28: area resampling, the border statistics that decide the
//! inversion, and the inversion itself once every image (or the first thousand) has been seen.
//!
//! Each target pixel covers a rectangle of the source; its value is the mean of the source
//! pixels under it, weighted by how much of each it covers, times the share of the target
//! pixel the source covers at all (1 inside the image, less at a padded edge, 0 outside).
//! Inverted, the same mean is turned over first: `round(coverage × (255 − mean))`, so padding
//! is background (0) either way.

use std::collections::HashMap;

use super::{ConvertOptions, Fit, Invert};
use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE, IdxImages, RawImages};

/// Images whose borders decide an automatic inversion.
const BORDER_SAMPLE: usize = 1000;

/// Converts images one by one and finishes with the dataset's pixels.
#[derive(Debug, Clone)]
pub struct Converter {
    options: ConvertOptions,
    /// Per image, 784 covered means (not inverted).
    means: Vec<u8>,
    /// Per image, its coverage (an index into `coverages`), or `None` where it covers all.
    frames: Vec<Option<u32>>,
    coverages: Vec<Vec<f32>>,
    coverage_of: HashMap<(usize, usize), u32>,
    /// The sum and count of the border pixels of the first [`BORDER_SAMPLE`] images.
    border: (u64, u64),
}

impl Converter {
    /// Nothing converted yet.
    pub fn new(options: ConvertOptions) -> Self {
        Self {
            options,
            means: Vec::new(),
            frames: Vec::new(),
            coverages: Vec::new(),
            coverage_of: HashMap::new(),
            border: (0, 0),
        }
    }

    /// The images converted so far.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether none has been.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Converts one image of `rows × cols` grey levels as stored (transposed if asked); an
    /// image without pixels, or with fewer than its size says, is background.
    pub fn add(&mut self, image: &[u8], rows: usize, cols: usize) {
        if rows == 0 || cols == 0 || rows.checked_mul(cols) != Some(image.len()) {
            self.means.extend([0; IMAGE_PIXELS]);
            self.frames.push(None);
            return;
        }
        if self.frames.len() < BORDER_SAMPLE {
            let (sum, count) = border(image, rows, cols);
            self.border.0 += sum;
            self.border.1 += count;
        }
        let (image, rows, cols) = if self.options.transpose {
            let mut turned = vec![0u8; rows * cols];
            for y in 0..rows {
                for x in 0..cols {
                    turned[x * rows + y] = image[y * cols + x];
                }
            }
            (std::borrow::Cow::Owned(turned), cols, rows)
        } else {
            (std::borrow::Cow::Borrowed(image), rows, cols)
        };
        let (means, coverage) = resample(&image, rows, cols, self.options.fit);
        self.means.extend(means);
        let frame = if coverage.iter().all(|&c| c == 1.0) {
            None
        } else {
            let next = self.coverages.len() as u32;
            let index = *self.coverage_of.entry((rows, cols)).or_insert(next);
            if index == next {
                self.coverages.push(coverage);
            }
            Some(index)
        };
        self.frames.push(frame);
    }

    /// Whether the images seen are drawn dark on light (their borders' mean is above mid-grey).
    pub fn dark_on_light(&self) -> bool {
        let (sum, count) = self.border;
        count > 0 && sum * 2 > 255 * count
    }

    /// The converted images, and whether they were inverted.
    pub fn finish(self) -> (IdxImages, bool) {
        let invert = match self.options.invert {
            Invert::Auto => self.dark_on_light(),
            Invert::Always => true,
            Invert::Never => false,
        };
        let mut pixels = self.means;
        for (image, frame) in pixels.chunks_exact_mut(IMAGE_PIXELS).zip(&self.frames) {
            match frame {
                None if invert => image.iter_mut().for_each(|p| *p = 255 - *p),
                None => {}
                Some(index) => {
                    for (p, &c) in image.iter_mut().zip(&self.coverages[*index as usize]) {
                        let mean = if invert { 255 - *p } else { *p };
                        *p = (c * f32::from(mean)).round() as u8;
                    }
                }
            }
        }
        let count = self.frames.len();
        (IdxImages { count, pixels }, invert)
    }
}

/// The sum and count of an image's border pixels.
fn border(image: &[u8], rows: usize, cols: usize) -> (u64, u64) {
    let (mut sum, mut count) = (0u64, 0u64);
    for y in 0..rows {
        let row = &image[y * cols..(y + 1) * cols];
        if y == 0 || y + 1 == rows {
            sum += row.iter().map(|&p| u64::from(p)).sum::<u64>();
            count += cols as u64;
        } else {
            sum += u64::from(row[0]);
            count += 1;
            if cols > 1 {
                sum += u64::from(row[cols - 1]);
                count += 1;
            }
        }
    }
    (sum, count)
}

/// Whether `images` are drawn dark on light: the mean of the border pixels of (up to) the
/// first 1,000 images is above mid-grey.
pub fn dark_on_light(images: &RawImages) -> bool {
    let mut converter = Converter::new(ConvertOptions::default());
    for index in 0..images.count.min(BORDER_SAMPLE) {
        let (sum, count) = border(images.image(index), images.rows, images.cols);
        converter.border.0 += sum;
        converter.border.1 += count;
    }
    converter.dark_on_light()
}

/// Every image of `images` converted to 28 × 28 by `options`; also whether they were inverted.
pub fn convert(images: &RawImages, options: ConvertOptions) -> (IdxImages, bool) {
    let mut converter = Converter::new(options);
    for index in 0..images.count {
        converter.add(images.image(index), images.rows, images.cols);
    }
    converter.finish()
}

/// A pixel's grey level from its red, green, blue and alpha, composited over white paper (so
/// a transparent background counts as light, as in a drawing): Rec. 601 luma.
pub fn grey_from_rgba(rgba: [u8; 4]) -> u8 {
    let [r, g, b, a] = rgba.map(f32::from);
    let luma = 0.299 * r + 0.587 * g + 0.114 * b;
    let alpha = a / 255.0;
    (luma * alpha + 255.0 * (1.0 - alpha)).round() as u8
}

/// The overlap of `[a0, a1)` and `[b0, b1)`.
fn overlap(a0: f64, a1: f64, b0: f64, b1: f64) -> f64 {
    (a1.min(b1) - a0.max(b0)).max(0.0)
}

/// One image resampled by area into 28 × 28: each target pixel's covered mean (rounded) and
/// the share of it the source covers.
fn resample(image: &[u8], rows: usize, cols: usize, fit: Fit) -> (Vec<u8>, Vec<f32>) {
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
    let mut means = vec![0u8; IMAGE_PIXELS];
    let mut coverage = vec![0f32; IMAGE_PIXELS];
    for ty in 0..IMAGE_SIDE {
        // The target pixel's rows in source coordinates.
        let (y0, y1) = ((ty as f64 - dy) / scale, (ty as f64 + 1.0 - dy) / scale);
        let rows_under = (y0.floor().max(0.0) as usize)..(y1.ceil().min(rows as f64) as usize);
        for tx in 0..IMAGE_SIDE {
            let (x0, x1) = ((tx as f64 - dx) / scale, (tx as f64 + 1.0 - dx) / scale);
            let cols_under = (x0.floor().max(0.0) as usize)..(x1.ceil().min(cols as f64) as usize);
            let (mut sum, mut weight) = (0.0, 0.0);
            for sy in rows_under.clone() {
                let wy = overlap(y0, y1, sy as f64, sy as f64 + 1.0);
                let row = &image[sy * cols..(sy + 1) * cols];
                for sx in cols_under.clone() {
                    let w = wy * overlap(x0, x1, sx as f64, sx as f64 + 1.0);
                    sum += w * f64::from(row[sx]);
                    weight += w;
                }
            }
            let area = (y1 - y0) * (x1 - x0);
            let target = ty * IMAGE_SIDE + tx;
            if weight > 0.0 {
                means[target] = (sum / weight).round().clamp(0.0, 255.0) as u8;
                // Within rounding of the whole pixel: exactly covered.
                let share = weight / area;
                coverage[target] = if share > 1.0 - 1e-9 {
                    1.0
                } else {
                    share as f32
                };
            }
        }
    }
    (means, coverage)
}
