//! The grid of generated digits (8 × 8, or a column per digit picked for a conditional model),
//! the latent explorer's picks outlined on it, and the digit picker.

use std::cell::RefCell;

use web_sys::{Element, HtmlButtonElement, HtmlCanvasElement, HtmlInputElement};

use super::on;
use crate::app::{Event, Model, RunId};
use crate::model::DIGITS;
use crate::session::GRID_SIDE;
use crate::web::dispatch::Dispatch;
use crate::web::dom::{Listener, MissingElement, by_id, set_flag};
use crate::web::render;

pub struct SamplesPanel {
    grid: HtmlCanvasElement,
    download: HtmlButtonElement,
    picker: Element,
    /// The picker's boxes, digit 0 first.
    digits: Vec<HtmlInputElement>,
    /// The run, grid read and picks of the grid drawn.
    drawn: RefCell<Option<(RunId, u64, Vec<usize>)>>,
    listeners: Vec<Listener>,
}

impl SamplesPanel {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            grid: by_id("grid")?,
            download: by_id("download-grid")?,
            picker: by_id("digit-picker")?,
            digits: (0..DIGITS)
                .map(|d| by_id(&format!("digit-{d}")))
                .collect::<Result<_, _>>()?,
            drawn: RefCell::new(None),
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch) {
        let mut listeners = vec![on(&self.download, "click", dispatch, |_| {
            Some(Event::DownloadGrid)
        })];
        for (digit, input) in (0u8..).zip(&self.digits) {
            listeners.push(on(input, "change", dispatch, move |_| {
                Some(Event::DigitToggled(digit))
            }));
        }
        self.listeners = listeners;
    }

    pub fn render(&self, model: &Model) {
        let conditional = model
            .run
            .as_ref()
            .is_some_and(|run| run.config.model.labels() > 0);
        set_flag(&self.picker, "hidden", !conditional);
        for (digit, input) in (0u8..).zip(&self.digits) {
            let on = model.quality.digits.contains(&digit);
            if input.checked() != on {
                input.set_checked(on);
            }
            set_flag(input, "disabled", model.quality.explorer.pending);
        }
        let Some(run) = &model.run else { return };
        let Some((_, pixels)) = &run.grid.shown else {
            return;
        };
        let key = (run.id, run.grid.reads, model.quality.explorer.picks.clone());
        if self.drawn.borrow().as_ref() == Some(&key) {
            return;
        }
        // Always 8 rows; the columns are as many as the grid read has cells for.
        let columns = (pixels.len() / crate::idx::IMAGE_PIXELS / GRID_SIDE).max(1);
        if let Err(e) = render::draw_images(&self.grid, pixels, columns, GRID_SIDE)
            .and_then(|()| render::outline_cells(&self.grid, &key.2, columns))
        {
            log::warn!("grid: {}", crate::web::dom::js_message(&e));
        }
        *self.drawn.borrow_mut() = Some(key);
    }
}
