//! The 8×8 grid of generated digits, the latent explorer's picks outlined on it.

use std::cell::RefCell;

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
    /// The run, step and picks of the grid drawn.
    drawn: RefCell<Option<(RunId, u64, Vec<usize>)>>,
    listeners: Vec<Listener>,
}

impl SamplesPanel {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            grid: by_id("grid")?,
            download: by_id("download-grid")?,
            drawn: RefCell::new(None),
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
        let key = (run.id, *step, model.quality.explorer.picks.clone());
        if self.drawn.borrow().as_ref() == Some(&key) {
            return;
        }
        if let Err(e) = render::draw_images(&self.grid, pixels, GRID_SIDE, GRID_SIDE)
            .and_then(|()| render::outline_cells(&self.grid, &key.2, GRID_SIDE))
        {
            log::warn!("grid: {}", crate::web::dom::js_message(&e));
        }
        *self.drawn.borrow_mut() = Some(key);
    }
}
