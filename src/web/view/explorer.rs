//! The latent explorer: clicks on the grid pick two digits; the generator's walk between them
//! shows as a strip and as an animation (an owned interval timer steps its frames); "New
//! noise" redraws the grid; the strip downloads as a PNG.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlButtonElement, HtmlCanvasElement, MouseEvent};

use super::on;
use crate::app::quality::WALK_FRAMES;
use crate::app::{Event, Model};
use crate::idx::IMAGE_PIXELS;
use crate::session::GRID_SIDE;
use crate::web::dispatch::Dispatch;
use crate::web::dom::{
    Listener, MissingElement, by_id, js_message, set_attribute, set_flag, window,
};
use crate::web::render;

/// Milliseconds per frame of the animation.
const FRAME_MS: i32 = 120;

/// A `setInterval` timer, cleared when dropped (the owner of its closure).
struct Ticker {
    id: i32,
    _closure: Closure<dyn FnMut()>,
}

impl Ticker {
    fn start(every_ms: i32, tick: impl FnMut() + 'static) -> Option<Self> {
        let closure = Closure::<dyn FnMut()>::new(tick);
        let id = window()
            .set_interval_with_callback_and_timeout_and_arguments_0(
                closure.as_ref().unchecked_ref(),
                every_ms,
            )
            .ok()?;
        Some(Self {
            id,
            _closure: closure,
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        window().clear_interval_with_handle(self.id);
    }
}

/// The grid digit under a click on the grid canvas, a grid of `columns` columns.
fn cell_of(event: &web_sys::Event, grid: &HtmlCanvasElement, columns: usize) -> Option<usize> {
    let click: &MouseEvent = event.dyn_ref()?;
    let (width, height) = (grid.client_width(), grid.client_height());
    if width <= 0 || height <= 0 {
        return None;
    }
    let columns = columns.max(1) as i32;
    let column = (click.offset_x() * columns / width).clamp(0, columns - 1);
    let row = (click.offset_y() * GRID_SIDE as i32 / height).clamp(0, GRID_SIDE as i32 - 1);
    Some(row as usize * columns as usize + column as usize)
}

pub struct ExplorerPanel {
    grid: HtmlCanvasElement,
    strip: HtmlCanvasElement,
    animation: HtmlCanvasElement,
    new_noise: HtmlButtonElement,
    download: HtmlButtonElement,
    /// The walk shown (its ends), and its frames for the animation.
    shown: RefCell<Option<(usize, usize)>>,
    /// The grid's columns as last rendered, for the clicks.
    columns: Rc<Cell<usize>>,
    frames: Rc<RefCell<(Vec<f32>, usize)>>,
    ticker: RefCell<Option<Ticker>>,
    listeners: Vec<Listener>,
}

impl ExplorerPanel {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            grid: by_id("grid")?,
            strip: by_id("walk-strip")?,
            animation: by_id("walk-animation")?,
            new_noise: by_id("new-noise")?,
            download: by_id("download-walk")?,
            shown: RefCell::new(None),
            columns: Rc::new(Cell::new(GRID_SIDE)),
            frames: Rc::new(RefCell::new((Vec::new(), 0))),
            ticker: RefCell::new(None),
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch) {
        let grid = self.grid.clone();
        let columns = self.columns.clone();
        self.listeners = vec![
            on(&self.grid, "click", dispatch, move |event| {
                cell_of(event, &grid, columns.get()).map(Event::GridClicked)
            }),
            on(&self.new_noise, "click", dispatch, |_| {
                Some(Event::NewNoiseClicked)
            }),
            on(&self.download, "click", dispatch, |_| {
                Some(Event::DownloadWalk)
            }),
        ];
    }

    pub fn render(&self, model: &Model) {
        // The columns of the grid drawn (8 rows), which clicks land on.
        if let Some((_, pixels)) = model.run.as_ref().and_then(|run| run.grid.shown.as_ref()) {
            self.columns
                .set((pixels.len() / IMAGE_PIXELS / GRID_SIDE).max(1));
        }
        let explorer = &model.quality.explorer;
        let busy = explorer.pending || model.run.is_none();
        set_flag(&self.new_noise, "disabled", busy);
        set_flag(&self.download, "disabled", explorer.walk.is_none());
        let picks: Vec<String> = explorer.picks.iter().map(ToString::to_string).collect();
        set_attribute(&self.grid, "data-picks", Some(&picks.join(",")));
        let ends = explorer.walk.as_ref().map(|(from, to, _)| (*from, *to));
        if *self.shown.borrow() == ends {
            return;
        }
        *self.shown.borrow_mut() = ends;
        set_attribute(
            &self.strip,
            "data-walk",
            ends.map(|(from, to)| format!("{from}-{to}")).as_deref(),
        );
        let Some((_, _, pixels)) = &explorer.walk else {
            self.ticker.borrow_mut().take();
            return;
        };
        if let Err(e) = render::draw_images(&self.strip, pixels, WALK_FRAMES, 1) {
            log::warn!("walk: {}", js_message(&e));
        }
        *self.frames.borrow_mut() = (pixels.clone(), 0);
        let frames = self.frames.clone();
        let canvas = self.animation.clone();
        // Back and forth along the walk.
        let tick = move || {
            let mut state = frames.borrow_mut();
            let count = state.0.len() / IMAGE_PIXELS;
            if count == 0 {
                return;
            }
            let step = state.1 % (2 * count - 2).max(1);
            let frame = if step < count {
                step
            } else {
                2 * count - 2 - step
            };
            let image = &state.0[frame * IMAGE_PIXELS..(frame + 1) * IMAGE_PIXELS];
            if let Err(e) = render::draw_images(&canvas, image, 1, 1) {
                log::warn!("walk animation: {}", js_message(&e));
            }
            state.1 += 1;
        };
        *self.ticker.borrow_mut() = Ticker::start(FRAME_MS, tick);
    }
}
