//! The chart's arithmetic: bucketed series, the y-axis scale, and the x-axis ticks.

use crate::train::StepValues;

/// Bucket means of `value` over `history` in at most `buckets` points: (step, mean).
pub fn downsample(
    history: &[StepValues],
    buckets: usize,
    value: fn(&StepValues) -> f32,
) -> Vec<(usize, f32)> {
    let per = history.len().div_ceil(buckets.max(1)).max(1);
    history
        .chunks(per)
        .enumerate()
        .map(|(i, chunk)| {
            let mean = chunk.iter().map(value).sum::<f32>() / chunk.len() as f32;
            (i * per + chunk.len() / 2, mean)
        })
        .collect()
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `value` (1 for nothing to show).
pub fn nice_max(value: f32) -> f32 {
    if !value.is_finite() || value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f32.powf(value.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&m| m >= value)
        .unwrap_or(10.0 * magnitude)
}

/// The steps labelled on the x axis: `count + 1` evenly spaced, from 0 to `steps`.
pub fn x_ticks(steps: usize, count: usize) -> Vec<usize> {
    (0..=count).map(|i| steps * i / count.max(1)).collect()
}

/// Where a label `width` wide, centred on `x`, starts so that it stays within `[min, max]`
/// (the last tick's label is right-aligned at the edge instead of being cut).
pub fn label_left(x: f64, width: f64, min: f64, max: f64) -> f64 {
    (x - width / 2.0).min(max - width).max(min)
}
