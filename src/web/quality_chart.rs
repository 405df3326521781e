//! Drawing the quality panel: FID (log scale) and Inception Score per epoch, the reference
//! run dashed beside them, and the histogram of predicted digits.

use wasm_bindgen::JsValue;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use super::render::context;
use crate::app::chart::{epoch_span, label_left, log_range, x_ticks};
use crate::quality::EpochScore;
use crate::quality::reference::CurvePoint;

const RUN_COLOR: &str = "#2a9df4";
const REFERENCE_COLOR: &str = "#888";

struct Plot {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

/// One series: (epoch, value) points, its colour, dashed or not.
fn line(
    ctx: &CanvasRenderingContext2d,
    points: &[(usize, f64)],
    x_of: &dyn Fn(usize) -> f64,
    y_of: &dyn Fn(f64) -> f64,
    color: &str,
    dashed: bool,
) {
    let dash = js_sys::Array::new();
    if dashed {
        dash.push(&JsValue::from(5.0));
        dash.push(&JsValue::from(4.0));
    }
    let _ = ctx.set_line_dash(&dash);
    ctx.set_stroke_style_str(color);
    ctx.set_fill_style_str(color);
    ctx.begin_path();
    for (i, &(epoch, value)) in points.iter().enumerate() {
        if i == 0 {
            ctx.move_to(x_of(epoch), y_of(value));
        } else {
            ctx.line_to(x_of(epoch), y_of(value));
        }
    }
    ctx.stroke();
    if !dashed {
        for &(epoch, value) in points {
            ctx.fill_rect(x_of(epoch) - 2.5, y_of(value) - 2.5, 5.0, 5.0);
        }
    }
    let _ = ctx.set_line_dash(&js_sys::Array::new());
}

/// One plot: its axes, ticks (`ticks`: value and label), the run's points and the reference.
#[allow(clippy::too_many_arguments)]
fn plot(
    ctx: &CanvasRenderingContext2d,
    plot: &Plot,
    span: usize,
    run: &[(usize, f64)],
    reference: &[(usize, f64)],
    y_of: &dyn Fn(f64) -> f64,
    ticks: &[(f64, String)],
    title: &str,
) {
    let x_of = |epoch: usize| plot.left + plot.width * epoch as f64 / span as f64;
    ctx.set_stroke_style_str("#8884");
    ctx.set_fill_style_str("#666");
    ctx.set_font("11px system-ui, sans-serif");
    ctx.set_line_width(1.0);
    for (value, label) in ticks {
        let y = y_of(*value);
        ctx.begin_path();
        ctx.move_to(plot.left, y);
        ctx.line_to(plot.left + plot.width, y);
        ctx.stroke();
        let _ = ctx.fill_text(label, 2.0, y + 4.0);
    }
    let right = plot.left + plot.width + 8.0;
    for epoch in x_ticks(span, 5) {
        let label = epoch.to_string();
        let width = ctx.measure_text(&label).map_or(20.0, |m| m.width());
        let x = label_left(x_of(epoch), width, 0.0, right);
        let _ = ctx.fill_text(&label, x, plot.top + plot.height + 13.0);
    }
    let _ = ctx.fill_text(title, plot.left + 4.0, plot.top - 6.0);
    ctx.set_line_width(1.5);
    line(ctx, reference, &x_of, y_of, REFERENCE_COLOR, true);
    line(ctx, run, &x_of, y_of, RUN_COLOR, false);
}

/// FID (top, log scale) and IS of `scores` per epoch and, when they have it (a conditional
/// model), the share of samples taken for the digit asked for; `reference` dashed.
pub fn draw_quality_chart(
    canvas: &HtmlCanvasElement,
    scores: &[EpochScore],
    reference: &[CurvePoint],
    mnist: bool,
) -> Result<(), JsValue> {
    // A third plot (a conditional model's digits drawn as asked) makes the canvas taller. Data
    // other than MNIST has its FID alone: the MNIST classifier's Inception Score and digits
    // say nothing of it.
    let asked = mnist && scores.iter().any(|s| s.score.requested.is_some());
    let tall = if asked { 420 } else { 300 };
    if canvas.height() != tall {
        canvas.set_height(tall);
    }
    let ctx = context(canvas)?;
    let (width, height) = (canvas.width() as f64, canvas.height() as f64);
    ctx.clear_rect(0.0, 0.0, width, height);
    let span = epoch_span(scores.last().map_or(0, |s| s.epoch));
    let reference: Vec<&CurvePoint> = reference.iter().filter(|p| p.epoch <= span).collect();
    let run_fid: Vec<(usize, f64)> = scores.iter().map(|s| (s.epoch, s.score.fid)).collect();
    let run_is: Vec<(usize, f64)> = scores
        .iter()
        .map(|s| (s.epoch, s.score.inception))
        .collect();
    let run_asked: Vec<(usize, f64)> = scores
        .iter()
        .filter(|_| asked)
        .filter_map(|s| Some((s.epoch, 100.0 * s.score.requested.as_ref()?.share)))
        .collect();
    let reference_fid: Vec<(usize, f64)> = reference.iter().map(|p| (p.epoch, p.fid)).collect();
    let reference_is: Vec<(usize, f64)> =
        reference.iter().map(|p| (p.epoch, p.inception)).collect();
    let reference_asked: Vec<(usize, f64)> = reference
        .iter()
        .filter_map(|p| Some((p.epoch, 100.0 * p.requested?)))
        .collect();

    let left = 44.0;
    let plot_width = width - left - 10.0;
    // 22 px above the first plot for its title, 28 between plots (ticks, the next title), 30
    // below the last (its ticks and "epoch").
    let plots = match (mnist, run_asked.is_empty()) {
        (false, _) => 1.0,
        (true, true) => 2.0,
        (true, false) => 3.0,
    };
    let each = (height - 22.0 - 28.0 * (plots - 1.0) - 30.0) / plots;
    let area = |i: f64| Plot {
        left,
        top: 22.0 + i * (each + 28.0),
        width: plot_width,
        height: each,
    };
    let top = area(0.0);
    let (low, high) = log_range(run_fid.iter().chain(&reference_fid).map(|&(_, v)| v));
    let (log_low, log_high) = (low.log10(), high.log10());
    let y_fid = |v: f64| {
        let t = ((v.max(low).log10() - log_low) / (log_high - log_low)).clamp(0.0, 1.0);
        top.top + top.height * (1.0 - t)
    };
    let fid_ticks: Vec<(f64, String)> = (log_low as i32..=log_high as i32)
        .map(|p| {
            let v = 10f64.powi(p);
            (v, format!("{v}"))
        })
        .collect();
    plot(
        &ctx,
        &top,
        span,
        &run_fid,
        &reference_fid,
        &y_fid,
        &fid_ticks,
        if mnist {
            "FID (log scale, lower is better)"
        } else {
            "Distance to your held-out images (FID, log scale, lower is better)"
        },
    );
    if !mnist {
        legend(&ctx, width)?;
        return ctx.fill_text("epoch", width / 2.0, height - 2.0);
    }
    let middle = area(1.0);
    let y_is = |v: f64| middle.top + middle.height * (1.0 - ((v - 1.0) / 9.0).clamp(0.0, 1.0));
    let is_ticks: Vec<(f64, String)> = [1.0, 4.0, 7.0, 10.0]
        .iter()
        .map(|&v| (v, format!("{v}")))
        .collect();
    plot(
        &ctx,
        &middle,
        span,
        &run_is,
        &reference_is,
        &y_is,
        &is_ticks,
        "Inception Score (1 to 10, higher is better)",
    );
    if !run_asked.is_empty() {
        let bottom = area(2.0);
        let y_asked = |v: f64| bottom.top + bottom.height * (1.0 - (v / 100.0).clamp(0.0, 1.0));
        let asked_ticks: Vec<(f64, String)> = [0.0, 50.0, 100.0]
            .iter()
            .map(|&v| (v, format!("{v}")))
            .collect();
        plot(
            &ctx,
            &bottom,
            span,
            &run_asked,
            &reference_asked,
            &y_asked,
            &asked_ticks,
            "Samples taken for the digit asked for (%)",
        );
    }
    legend(&ctx, width)?;
    ctx.fill_text("epoch", width / 2.0, height - 2.0)
}

/// The legend: this run's colour and the reference run's.
fn legend(ctx: &CanvasRenderingContext2d, width: f64) -> Result<(), JsValue> {
    ctx.set_font("11px system-ui, sans-serif");
    for (i, (label, color)) in [("this run", RUN_COLOR), ("reference run", REFERENCE_COLOR)]
        .iter()
        .enumerate()
    {
        let x = width - 200.0 + 100.0 * i as f64;
        ctx.set_fill_style_str(color);
        ctx.fill_rect(x, 8.0, 12.0, 4.0);
        ctx.set_fill_style_str("#444");
        ctx.fill_text(label, x + 16.0, 14.0)?;
    }
    ctx.set_fill_style_str("#666");
    Ok(())
}

/// Bars per digit: how many samples the classifier takes for each (labelled with their share
/// of all), or, with `percent`, a percentage each (labelled with it, on a 0–100 scale).
pub fn draw_histogram(
    canvas: &HtmlCanvasElement,
    histogram: &[f64],
    percent: bool,
) -> Result<(), JsValue> {
    let ctx = context(canvas)?;
    let (width, height) = (canvas.width() as f64, canvas.height() as f64);
    ctx.clear_rect(0.0, 0.0, width, height);
    let total: f64 = if percent {
        100.0
    } else {
        histogram.iter().sum()
    };
    let highest = if percent {
        100.0
    } else {
        histogram.iter().copied().fold(1.0, f64::max)
    };
    let bar = width / histogram.len().max(1) as f64;
    let base = height - 16.0;
    ctx.set_font("11px system-ui, sans-serif");
    for (digit, &count) in histogram.iter().enumerate() {
        let h = (base - 14.0) * count / highest;
        let x = digit as f64 * bar;
        ctx.set_fill_style_str(RUN_COLOR);
        ctx.fill_rect(x + 2.0, base - h, bar - 4.0, h);
        ctx.set_fill_style_str("#666");
        ctx.fill_text(&digit.to_string(), x + bar / 2.0 - 3.0, height - 3.0)?;
        if total > 0.0 {
            let share = format!("{:.0}", 100.0 * count / total);
            ctx.fill_text(&share, x + bar / 2.0 - 6.0, base - h - 3.0)?;
        }
    }
    Ok(())
}
