//! The data panel: MNIST's download, its first image, and the untrained generator's sample.

use std::cell::{Cell, RefCell};

use web_sys::{Element, HtmlButtonElement, HtmlCanvasElement, HtmlProgressElement};

use super::on;
use crate::app::{DataState, Event, Model};
use crate::web::dispatch::Dispatch;
use crate::web::dom::{Listener, MissingElement, by_id, set_class, set_flag, set_text};
use crate::web::render;

pub struct DataPanel {
    progress: HtmlProgressElement,
    status: Element,
    retry: HtmlButtonElement,
    train_image: HtmlCanvasElement,
    train_label: Element,
    untrained: HtmlCanvasElement,
    image_drawn: Cell<bool>,
    untrained_drawn: RefCell<Option<Vec<f32>>>,
    listeners: Vec<Listener>,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

impl DataPanel {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            progress: by_id("data-progress")?,
            status: by_id("data-status")?,
            retry: by_id("data-retry")?,
            train_image: by_id("train-image")?,
            train_label: by_id("train-label")?,
            untrained: by_id("untrained-sample")?,
            image_drawn: Cell::new(false),
            untrained_drawn: RefCell::new(None),
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch) {
        self.listeners = vec![on(&self.retry, "click", dispatch, |_| {
            Some(Event::RetryData)
        })];
    }

    pub fn render(&self, model: &Model) {
        let failed = matches!(model.data, DataState::Failed(_));
        set_class(&self.status, "error", failed);
        set_flag(&self.retry, "hidden", !failed);
        match &model.data {
            DataState::Waiting => set_text(&self.status, "Waiting to download MNIST…"),
            DataState::Downloading(received, total) => {
                if *total > 0 {
                    self.progress.set_max(*total as f64);
                    self.progress.set_value((*received).min(*total) as f64);
                } else {
                    self.progress.set_value(0.0);
                }
                let text = if *total > 0 {
                    format!(
                        "Downloading MNIST… {:.1} of {:.1} MiB",
                        mib(*received),
                        mib(*total)
                    )
                } else {
                    "Downloading MNIST…".to_string()
                };
                set_text(&self.status, &text);
                self.image_drawn.set(false);
            }
            DataState::Ready(data) => {
                if self.progress.value() != self.progress.max() {
                    self.progress.set_value(self.progress.max());
                }
                let text = format!(
                    "MNIST ready: {} training images, checksums verified.",
                    data.count
                );
                set_text(&self.status, &text);
                if !self.image_drawn.replace(true) {
                    let _ = render::draw_bytes(&self.train_image, &data.first_image);
                    set_text(&self.train_label, &format!("label {}", data.first_label));
                }
            }
            DataState::Failed(message) => set_text(&self.status, message),
        }
        let untrained = &model.display.untrained;
        if *self.untrained_drawn.borrow() != *untrained
            && let Some(pixels) = untrained
        {
            let _ = render::draw_images(&self.untrained, pixels, 1, 1);
            *self.untrained_drawn.borrow_mut() = Some(pixels.clone());
        }
    }
}
