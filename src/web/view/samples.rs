//! The 8×8 grid of generated digits.

use std::cell::Cell;

use web_sys::{HtmlButtonElement, HtmlCanvasElement};

use super::on;
use crate::app::{Event, Model, RunId};
use crate::session::GRID_SIDE;
use crate::web::dispatch::Dispatch;
use crate::web::dom::{Listener, MissingElement, by_id};
use crate::web::render;

pub struct SamplesPanel {
    grid: HtmlCanvasElement,
    download: HtmlButtonElement,
    /// The run and step of the grid drawn.
    drawn: Cell<Option<(RunId, u64)>>,
    listeners: Vec<Listener>,
}

impl SamplesPanel {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            grid: by_id("grid")?,
            download: by_id("download-grid")?,
            drawn: Cell::new(None),
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch) {
        self.listeners = vec![on(&self.download, "click", dispatch, |_| {
            Some(Event::DownloadGrid)
        })];
    }

    pub fn render(&self, model: &Model) {
        let Some(run) = &model.run else { return };
        let Some((step, pixels)) = &run.grid.shown else {
            return;
        };
        if self.drawn.get() == Some((run.id, *step)) {
            return;
        }
        if let Err(e) = render::draw_images(&self.grid, pixels, GRID_SIDE, GRID_SIDE) {
            log::warn!("grid: {}", crate::web::dom::js_message(&e));
        }
        self.drawn.set(Some((run.id, *step)));
    }
}
