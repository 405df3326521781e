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

/// The powers of ten that bound `values` on a log axis: (10^a, 10^b), a < b (1 to 10 when
/// there is nothing positive to show).
pub fn log_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values
        .into_iter()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if high <= 0.0 {
        return (1.0, 10.0);
    }
    let a = low.log10().floor();
    let b = high.log10().ceil().max(a + 1.0);
    (10f64.powf(a), 10f64.powf(b))
}

/// The epochs the quality chart spans: the latest scored epoch, at least 10.
pub fn epoch_span(latest: usize) -> usize {
    latest.max(10)
}
