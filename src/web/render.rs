//! Drawing on canvases: generated digits, and the training chart.

use wasm_bindgen::{Clamped, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use crate::app::chart::{downsample, label_left, nice_max, x_ticks};
use crate::data::unscale_pixel;
use crate::idx::IMAGE_SIDE;
use crate::train::StepValues;

/// The 2D context of `canvas`.
pub fn context(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, JsValue> {
    use wasm_bindgen::JsCast;
    canvas
        .get_context("2d")?
        .ok_or_else(|| JsValue::from_str("no 2d context"))?
        .dyn_into()
        .map_err(JsValue::from)
}

/// RGBA pixels of `columns × rows` 28×28 images in [−1, 1] (white digits on black, like MNIST).
pub fn tile_rgba(images: &[f32], columns: usize, rows: usize) -> Vec<u8> {
    let width = columns * IMAGE_SIDE;
    let mut rgba = vec![0u8; width * rows * IMAGE_SIDE * 4];
    for (index, image) in images
        .chunks_exact(IMAGE_SIDE * IMAGE_SIDE)
        .take(columns * rows)
        .enumerate()
    {
        let (tile_x, tile_y) = (index % columns, index / columns);
        for (p, &value) in image.iter().enumerate() {
            let x = tile_x * IMAGE_SIDE + p % IMAGE_SIDE;
            let y = tile_y * IMAGE_SIDE + p / IMAGE_SIDE;
            let level = unscale_pixel(value);
            let at = (y * width + x) * 4;
            rgba[at..at + 4].copy_from_slice(&[level, level, level, 255]);
        }
    }
    rgba
}

/// Draws images as a `columns × rows` grid at one canvas pixel per image pixel (CSS scales it).
pub fn draw_images(
    canvas: &HtmlCanvasElement,
    images: &[f32],
    columns: usize,
    rows: usize,
) -> Result<(), JsValue> {
    let (width, height) = ((columns * IMAGE_SIDE) as u32, (rows * IMAGE_SIDE) as u32);
    canvas.set_width(width);
    canvas.set_height(height);
    let rgba = tile_rgba(images, columns, rows);
    let data = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), width, height)?;
    context(canvas)?.put_image_data(&data, 0.0, 0.0)
}

/// Outlines images `cells` of a grid `columns` wide drawn by [`draw_images`].
pub fn outline_cells(
    canvas: &HtmlCanvasElement,
    cells: &[usize],
    columns: usize,
) -> Result<(), JsValue> {
    let ctx = context(canvas)?;
    ctx.set_stroke_style_str("#2a9df4");
    ctx.set_line_width(1.0);
    let side = IMAGE_SIDE as f64;
    for &cell in cells {
        let (x, y) = (
            (cell % columns) as f64 * side,
            (cell / columns) as f64 * side,
        );
        ctx.stroke_rect(x + 0.5, y + 0.5, side - 1.0, side - 1.0);
    }
    Ok(())
}

/// Draws raw MNIST bytes (0–255) as one image.
pub fn draw_bytes(canvas: &HtmlCanvasElement, pixels: &[u8]) -> Result<(), JsValue> {
    let scaled: Vec<f32> = pixels
        .iter()
        .map(|&p| crate::data::scale_pixel(p))
        .collect();
    draw_images(canvas, &scaled, 1, 1)
}

/// One series of the chart.
struct Series {
    label: &'static str,
    color: &'static str,
    value: fn(&StepValues) -> f32,
}

const LOSSES: [Series; 2] = [
    Series {
        label: "D loss",
        color: "#e4572e",
        value: |v| v.d_loss,
    },
    Series {
        label: "G loss",
        color: "#2a9df4",
        value: |v| v.g_loss,
    },
];
const PROBABILITIES: [Series; 2] = [
    Series {
        label: "mean D(x)",
        color: "#5aa02c",
        value: |v| v.d_real,
    },
    Series {
        label: "mean D(G(z))",
        color: "#c9a000",
        value: |v| v.d_fake,
    },
];

struct Panel {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

fn draw_panel(
    ctx: &CanvasRenderingContext2d,
    panel: &Panel,
    history: &[StepValues],
    series: &[Series],
    y_max: Option<f32>,
    title: &str,
) {
    let steps = history.len().max(1);
    let buckets = panel.width as usize;
    let lines: Vec<Vec<(usize, f32)>> = series
        .iter()
        .map(|s| downsample(history, buckets, s.value))
        .collect();
    let top = y_max.unwrap_or_else(|| {
        nice_max(
            lines
                .iter()
                .flatten()
                .map(|&(_, v)| v)
                .filter(|v| v.is_finite())
                .fold(0.0, f32::max),
        )
    });
    let x_of = |step: usize| panel.left + panel.width * step as f64 / steps as f64;
    let y_of = |v: f32| panel.top + panel.height * (1.0 - (v / top).clamp(0.0, 1.0)) as f64;

    // Axes, ticks and grid.
    ctx.set_stroke_style_str("#8884");
    ctx.set_fill_style_str("#666");
    ctx.set_font("11px system-ui, sans-serif");
    ctx.set_line_width(1.0);
    for i in 0..=4 {
        let v = top * i as f32 / 4.0;
        let y = y_of(v);
        ctx.begin_path();
        ctx.move_to(panel.left, y);
        ctx.line_to(panel.left + panel.width, y);
        ctx.stroke();
        let _ = ctx.fill_text(&format!("{v:.2}"), 2.0, y + 4.0);
    }
    let right = panel.left + panel.width + 8.0;
    for step in x_ticks(steps, 4) {
        let label = step.to_string();
        let width = ctx.measure_text(&label).map_or(30.0, |m| m.width());
        let _ = ctx.fill_text(
            &label,
            label_left(x_of(step), width, 0.0, right),
            panel.top + panel.height + 13.0,
        );
    }
    let _ = ctx.fill_text(title, panel.left + 4.0, panel.top - 6.0);

    // Series.
    ctx.set_line_width(1.5);
    for (s, points) in series.iter().zip(&lines) {
        ctx.set_stroke_style_str(s.color);
        ctx.begin_path();
        for (i, &(step, v)) in points.iter().enumerate() {
            if i == 0 {
                ctx.move_to(x_of(step), y_of(v));
            } else {
                ctx.line_to(x_of(step), y_of(v));
            }
        }
        ctx.stroke();
    }

    // Legend.
    let mut x = panel.left + panel.width - 10.0;
    for s in series.iter().rev() {
        let width = ctx.measure_text(s.label).map(|m| m.width()).unwrap_or(60.0);
        x -= width + 22.0;
        ctx.set_fill_style_str(s.color);
        ctx.fill_rect(x, panel.top - 14.0, 12.0, 4.0);
        ctx.set_fill_style_str("#444");
        let _ = ctx.fill_text(s.label, x + 16.0, panel.top - 8.0);
    }
}

/// Draws the losses (top) and the discriminator's mean outputs (bottom) over the steps so far.
pub fn draw_chart(canvas: &HtmlCanvasElement, history: &[StepValues]) -> Result<(), JsValue> {
    let ctx = context(canvas)?;
    let (width, height) = (canvas.width() as f64, canvas.height() as f64);
    ctx.clear_rect(0.0, 0.0, width, height);
    let left = 40.0;
    let plot_width = width - left - 10.0;
    let half = (height - 60.0) / 2.0;
    draw_panel(
        &ctx,
        &Panel {
            left,
            top: 22.0,
            width: plot_width,
            height: half - 10.0,
        },
        history,
        &LOSSES,
        None,
        "loss",
    );
    draw_panel(
        &ctx,
        &Panel {
            left,
            top: 40.0 + half,
            width: plot_width,
            height: half - 10.0,
        },
        history,
        &PROBABILITIES,
        Some(1.0),
        "discriminator output",
    );
    ctx.set_fill_style_str("#666");
    ctx.fill_text("step", width / 2.0, height - 2.0)
}
