//! The data panel: MNIST's download, the data in use and its first image, the untrained
//! generator's sample, and the datasets stored in this browser (use, rename, delete).

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    Element, HtmlButtonElement, HtmlCanvasElement, HtmlInputElement, HtmlProgressElement,
};

use super::{append, element, on};
use crate::app::{DataRef, DataState, Event, Model};
use crate::web::dispatch::Dispatch;
use crate::web::dom::{
    Listener, MissingElement, by_id, js_message, set_class, set_flag, set_text, window,
};
use crate::web::render;

pub struct DataPanel {
    progress: HtmlProgressElement,
    status: Element,
    retry: HtmlButtonElement,
    train_image: HtmlCanvasElement,
    train_label: Element,
    untrained: HtmlCanvasElement,
    datasets: Element,
    datasets_status: Element,
    /// The data whose first image is drawn.
    image_drawn: RefCell<Option<DataRef>>,
    /// The list's version, whether its buttons were enabled, and the data in use, as drawn.
    list_drawn: RefCell<Option<(u64, bool, DataRef)>>,
    untrained_drawn: RefCell<Option<Vec<f32>>>,
    listeners: Vec<Listener>,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The action and dataset a control in the list names.
fn action_of(event: &web_sys::Event) -> Option<(String, String, Element)> {
    let target: Element = event.target()?.dyn_into().ok()?;
    let control = target.closest("[data-action]").ok()??;
    let action = control.get_attribute("data-action")?;
    let sha256 = control.get_attribute("data-sha256")?;
    Some((action, sha256, control))
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
            datasets: by_id("datasets")?,
            datasets_status: by_id("datasets-status")?,
            image_drawn: RefCell::new(None),
            list_drawn: RefCell::new(None),
            untrained_drawn: RefCell::new(None),
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch) {
        self.listeners = vec![
            on(&self.retry, "click", dispatch, |_| Some(Event::RetryData)),
            on(&self.datasets, "click", dispatch, |event| {
                let (action, sha256, _) = action_of(event)?;
                let data = |name: String| DataRef {
                    name,
                    sha256: (!sha256.is_empty()).then(|| sha256.clone()),
                };
                match action.as_str() {
                    "use" => Some(Event::UseData(data(String::new()))),
                    "delete" => {
                        let asked = window()
                            .confirm_with_message("Delete this dataset from the browser? Runs trained on it will ask for it again.")
                            .unwrap_or(false);
                        asked.then(|| Event::DeleteDataset(sha256.clone()))
                    }
                    _ => None,
                }
            }),
            on(&self.datasets, "change", dispatch, |event| {
                let (action, sha256, control) = action_of(event)?;
                let field = control.dyn_into::<HtmlInputElement>().ok()?;
                (action == "rename").then(|| Event::RenameDataset {
                    sha256,
                    name: field.value(),
                })
            }),
        ];
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
                self.image_drawn.borrow_mut().take();
            }
            DataState::Ready(data) => {
                if self.progress.value() != self.progress.max() {
                    self.progress.set_value(self.progress.max());
                }
                let text = if data.source.is_mnist() {
                    format!(
                        "MNIST ready: {} training images, checksums verified.",
                        data.count
                    )
                } else {
                    format!(
                        "Training on “{}”: {} images, {} held out for the score.",
                        data.source.name, data.count, data.held_out
                    )
                };
                set_text(&self.status, &text);
                if self.image_drawn.borrow().as_ref() != Some(&data.source) {
                    let _ = render::draw_bytes(&self.train_image, &data.first_image);
                    set_text(&self.train_label, &format!("label {}", data.first_label));
                    *self.image_drawn.borrow_mut() = Some(data.source.clone());
                }
            }
            DataState::Switching { to, .. } => {
                set_text(&self.status, &format!("Switching to “{}”…", to.name));
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
        set_text(&self.datasets_status, &model.datasets.status);
        let in_use = model.data_in_use();
        let state = (model.datasets.version, model.can_install(), in_use);
        if self.list_drawn.borrow().as_ref() != Some(&state) {
            if let Err(e) = self.draw_list(model, &state.2) {
                log::warn!("the datasets: {}", js_message(&e));
            }
            *self.list_drawn.borrow_mut() = Some(state);
        }
    }

    /// MNIST, then every stored dataset: its name (to rename), its counts, and Use / Delete.
    fn draw_list(&self, model: &Model, in_use: &DataRef) -> Result<(), JsValue> {
        self.datasets.set_text_content(None);
        let mnist = std::iter::once((
            DataRef::mnist(),
            "60000 images, 10 labels, built in".to_string(),
        ));
        let stored = model
            .datasets
            .stored
            .iter()
            .map(|info| (info.data_ref(), info.counts_text()));
        for (data, counts) in mnist.chain(stored) {
            let sha256 = data.sha256.clone().unwrap_or_default();
            let item = element("li", "dataset")?;
            item.set_attribute("data-sha256", &sha256)?;
            let here = data.same_data(in_use);
            if data.is_mnist() {
                let name = element("span", "dataset-name")?;
                name.set_text_content(Some(&data.name));
                item.append_child(&name)?;
            } else {
                let name: HtmlInputElement = element("input", "dataset-name")?.unchecked_into();
                name.set_value(&data.name);
                name.set_attribute("data-action", "rename")?;
                name.set_attribute("data-sha256", &sha256)?;
                name.set_attribute("aria-label", "Dataset name")?;
                name.set_attribute(
                    "maxlength",
                    &crate::app::library::MAX_NAME_CHARS.to_string(),
                )?;
                item.append_child(&name)?;
            }
            let meta = element("span", "dataset-meta")?;
            meta.set_text_content(Some(&counts));
            item.append_child(&meta)?;
            if here {
                let state = element("span", "dataset-state")?;
                state.set_text_content(Some("in use"));
                item.append_child(&state)?;
            } else {
                append(&item, control("use", &sha256, "Use", model.can_install()))?;
                if !data.is_mnist() {
                    append(&item, control("delete", &sha256, "Delete…", true))?;
                }
            }
            self.datasets.append_child(&item)?;
        }
        Ok(())
    }
}

fn control(action: &str, sha256: &str, text: &str, enabled: bool) -> Result<Element, JsValue> {
    let button = element("button", if action == "delete" { "danger" } else { "" })?;
    button.set_attribute("type", "button")?;
    button.set_attribute("data-action", action)?;
    button.set_attribute("data-sha256", sha256)?;
    button.set_text_content(Some(text));
    set_flag(&button, "disabled", !enabled);
    Ok(button)
}
