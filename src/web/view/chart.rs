//! The chart of the losses and the discriminator's mean outputs.

use std::cell::Cell;

use web_sys::HtmlCanvasElement;

use crate::app::{Model, RunId};
use crate::web::dom::{MissingElement, by_id, js_message};
use crate::web::render;

pub struct ChartPanel {
    canvas: HtmlCanvasElement,
    /// The run and chart version drawn.
    drawn: Cell<Option<(RunId, u64)>>,
}

impl ChartPanel {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            canvas: by_id("chart")?,
            drawn: Cell::new(None),
        })
    }

    pub fn render(&self, model: &Model) {
        let history = model
            .run
            .as_ref()
            .map_or(&[][..], |run| &run.record.history);
        let key = (
            model.run.as_ref().map_or(0, |run| run.id),
            model.display.chart_version,
        );
        if self.drawn.replace(Some(key)) == Some(key) {
            return;
        }
        if let Err(e) = render::draw_chart(&self.canvas, history) {
            log::warn!("chart: {}", js_message(&e));
        }
    }
}
