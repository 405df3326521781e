//! The run's timeline: the snapshots of G(seed) (each downloadable as PNG) and the tutorial's
//! per-epoch wall-time log. Both only grow during a run, so new entries are appended.

use std::cell::Cell;

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlAnchorElement, HtmlCanvasElement};

use crate::app::{Model, Run, RunId};
use crate::web::dom::{MissingElement, by_id, document, js_message, set_text};
use crate::web::render;

pub struct Timeline {
    snapshots: Element,
    epoch_log: Element,
    /// The run shown, with its snapshots and log lines drawn.
    shown: Cell<(RunId, usize, usize)>,
}

fn snapshot_item(run: &Run, epoch: usize, pixels: &[f32]) -> Result<Element, JsValue> {
    let doc = document();
    let item = doc.create_element("li")?;
    let canvas: HtmlCanvasElement = doc.create_element("canvas")?.unchecked_into();
    canvas.set_class_name("digit");
    render::draw_images(&canvas, pixels, 1, 1)?;
    let label = run.snapshot_label(epoch);
    canvas.set_attribute("role", "img")?;
    canvas.set_attribute("aria-label", &format!("G(seed) after {label}"))?;
    let link: HtmlAnchorElement = doc.create_element("a")?.unchecked_into();
    link.set_href(&canvas.to_data_url()?);
    link.set_download(&format!("{epoch}.png"));
    set_text(&link, &format!("{label} (PNG)"));
    item.append_child(&canvas)?;
    item.append_child(&link)?;
    Ok(item)
}

impl Timeline {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            snapshots: by_id("snapshots")?,
            epoch_log: by_id("epoch-log")?,
            shown: Cell::new((0, 0, 0)),
        })
    }

    pub fn render(&self, model: &Model) {
        let Some(run) = &model.run else { return };
        let (id, mut snapshots, mut lines) = self.shown.get();
        if id != run.id
            || snapshots > run.record.snapshots.len()
            || lines > run.record.epoch_times.len()
        {
            self.snapshots.set_inner_html("");
            self.epoch_log.set_inner_html("");
            (snapshots, lines) = (0, 0);
        }
        for (epoch, pixels) in &run.record.snapshots[snapshots..] {
            let added = snapshot_item(run, *epoch, pixels)
                .and_then(|item| self.snapshots.append_child(&item));
            if let Err(e) = added {
                log::warn!("snapshot: {}", js_message(&e));
            }
        }
        for (epoch, seconds) in &run.record.epoch_times[lines..] {
            if let Ok(line) = document().create_element("li") {
                set_text(&line, &format!("epoch {epoch}: {seconds:.2} s"));
                let _ = self.epoch_log.append_child(&line);
            }
        }
        self.shown.set((
            run.id,
            run.record.snapshots.len(),
            run.record.epoch_times.len(),
        ));
    }
}
