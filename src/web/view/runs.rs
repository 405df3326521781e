//! The "Saved runs" panel: one row per run (thumbnail, name to rename, epoch, last save, size,
//! settings that differ from the reference's) with Resume, Download and Delete (asked first);
//! the storage used and whether the browser keeps it; the runs to delete when storage is full.
//! Rows are rebuilt only when the list changes; one listener per kind of DOM event serves them
//! all (each control names its action and run in `data-*`).

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlButtonElement, HtmlCanvasElement, HtmlElement, HtmlInputElement};

use super::{append, element, on};
use crate::app::library::{Library, RunSummary, megabytes};
use crate::app::{Event, Model, RunPhase};
use crate::web::dispatch::Dispatch;
use crate::web::dom::{Listener, MissingElement, by_id, js_message, set_flag, set_text};
use crate::web::render;

/// What the rows show, beyond the library's version: drawn again only when it changes.
#[derive(Clone, PartialEq)]
struct Drawn {
    version: u64,
    on_screen: Option<String>,
    resumable: bool,
}

pub struct RunsPanel {
    list: Element,
    empty: HtmlElement,
    storage: Element,
    prune_offer: HtmlElement,
    prune: HtmlButtonElement,
    drawn: RefCell<Option<Drawn>>,
    listeners: Vec<Listener>,
}

/// The action and run a control in a row names.
fn action_of(event: &web_sys::Event) -> Option<(String, String, Element)> {
    let target: Element = event.target()?.dyn_into().ok()?;
    let control = target.closest("[data-action]").ok()??;
    let action = control.get_attribute("data-action")?;
    let key = control.get_attribute("data-key")?;
    Some((action, key, control))
}

impl RunsPanel {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            list: by_id("runs")?,
            empty: by_id("runs-empty")?,
            storage: by_id("storage-status")?,
            prune_offer: by_id("prune-offer")?,
            prune: by_id("prune")?,
            drawn: RefCell::new(None),
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch) {
        self.listeners = vec![
            on(&self.list, "click", dispatch, |event| {
                let (action, key, _) = action_of(event)?;
                match action.as_str() {
                    "resume" => Some(Event::ResumeRun(key)),
                    "download" => Some(Event::DownloadRun(key)),
                    "delete" => Some(Event::DeleteRun(key)),
                    "confirm-delete" => Some(Event::DeleteAnswered {
                        key,
                        confirmed: true,
                    }),
                    "keep" => Some(Event::DeleteAnswered {
                        key,
                        confirmed: false,
                    }),
                    _ => None,
                }
            }),
            on(&self.list, "change", dispatch, |event| {
                let (action, key, control) = action_of(event)?;
                let field = control.dyn_into::<HtmlInputElement>().ok()?;
                (action == "rename").then(|| Event::RenameRun {
                    key,
                    name: field.value(),
                })
            }),
            on(&self.prune, "click", dispatch, |_| {
                Some(Event::PruneClicked)
            }),
        ];
    }

    pub fn render(&self, model: &Model) {
        let library = &model.saved.library;
        let drawn = Drawn {
            version: library.version,
            on_screen: model.on_screen_key().map(str::to_string),
            resumable: model.can_install()
                && model.phase != RunPhase::Running
                && model.pending.is_none()
                && matches!(model.data, crate::app::DataState::Ready(_)),
        };
        if self.drawn.borrow().as_ref() == Some(&drawn) {
            return;
        }
        if let Err(e) = self.draw_rows(model) {
            log::warn!("the saved runs: {}", js_message(&e));
        }
        set_flag(&self.empty, "hidden", !library.runs.is_empty());
        set_text(&self.storage, &storage_text(library));
        set_flag(&self.prune_offer, "hidden", library.prune_offer.is_empty());
        let count = library.prune_offer.len();
        set_text(
            &self.prune,
            &format!(
                "Delete the {} oldest run{} ({})",
                count,
                if count == 1 { "" } else { "s" },
                megabytes(library.bytes_of(&library.prune_offer))
            ),
        );
        *self.drawn.borrow_mut() = Some(drawn);
    }

    fn draw_rows(&self, model: &Model) -> Result<(), JsValue> {
        self.list.set_text_content(None);
        for run in &model.saved.library.runs {
            append(&self.list, row(model, run))?;
        }
        Ok(())
    }
}

fn button(action: &str, key: &str, text: &str, enabled: bool) -> Result<Element, JsValue> {
    let button = element("button", "")?;
    button.set_attribute("type", "button")?;
    button.set_attribute("data-action", action)?;
    button.set_attribute("data-key", key)?;
    if action == "delete" || action == "confirm-delete" {
        button.set_class_name("danger");
    }
    button.set_text_content(Some(text));
    set_flag(&button, "disabled", !enabled);
    Ok(button)
}

/// One run's row.
fn row(model: &Model, run: &RunSummary) -> Result<Element, JsValue> {
    let library = &model.saved.library;
    let elsewhere = library.is_elsewhere(&run.key);
    let here = model.on_screen_key() == Some(run.key.as_str());
    let item = element("li", "run")?;
    item.set_attribute("data-key", &run.key)?;
    item.set_attribute("data-epoch", &run.epoch.to_string())?;
    let state = match (here, elsewhere) {
        (true, _) => "here",
        (_, true) => "elsewhere",
        _ => "saved",
    };
    item.set_attribute("data-state", state)?;

    let thumb: HtmlCanvasElement = element("canvas", "digit thumb")?.unchecked_into();
    thumb.set_attribute("role", "img")?;
    thumb.set_attribute(
        "aria-label",
        &format!("the latest snapshot of {}", run.name),
    )?;
    if let Some(pixels) = &run.thumbnail {
        render::draw_bytes(&thumb, pixels)?;
    }
    item.append_child(&thumb)?;

    let text = element("div", "run-text")?;
    let name: HtmlInputElement = element("input", "run-name")?.unchecked_into();
    name.set_value(&run.name);
    name.set_attribute("data-action", "rename")?;
    name.set_attribute("data-key", &run.key)?;
    name.set_attribute("aria-label", "Run name")?;
    name.set_attribute(
        "maxlength",
        &crate::app::library::MAX_NAME_CHARS.to_string(),
    )?;
    set_flag(&name, "disabled", elsewhere);
    text.append_child(&name)?;
    let when = js_sys::Date::new(&run.saved_at.into());
    let meta = element("p", "run-meta")?;
    meta.set_text_content(Some(&format!(
        "{} on {} · epoch {} / {} · step {} · saved {} {} · {} · {}",
        run.model,
        run.dataset.name,
        run.epoch,
        run.epochs,
        run.step,
        String::from(when.to_locale_date_string("default", &JsValue::UNDEFINED)),
        String::from(when.to_locale_time_string("default")),
        megabytes(run.bytes),
        run.settings_text(),
    )));
    text.append_child(&meta)?;
    let note = match (here, elsewhere) {
        (true, _) => "on screen",
        (_, true) => "training in another tab",
        _ => "",
    };
    if !note.is_empty() {
        let state = element("p", "run-state")?;
        state.set_text_content(Some(note));
        text.append_child(&state)?;
    }
    item.append_child(&text)?;

    let actions = element("div", "run-actions")?;
    let free = !here && !elsewhere;
    if library.confirming.as_deref() == Some(run.key.as_str()) {
        let question = element("span", "confirm")?;
        question.set_text_content(Some(&format!("Delete “{}” for good?", run.name)));
        actions.append_child(&question)?;
        append(&actions, button("confirm-delete", &run.key, "Delete", true))?;
        append(&actions, button("keep", &run.key, "Keep", true))?;
    } else {
        let resumable = free && model.can_resume(&run.key);
        let label = format!("Resume from epoch {}", run.epoch);
        append(&actions, button("resume", &run.key, &label, resumable))?;
        append(&actions, button("download", &run.key, "Download", true))?;
        append(&actions, button("delete", &run.key, "Delete…", free))?;
    }
    item.append_child(&actions)?;
    Ok(item)
}

/// "Saved runs use 59.3 MB of 10.2 GB; the browser keeps them."
fn storage_text(library: &Library) -> String {
    let Some(storage) = library.storage else {
        return String::new();
    };
    let kept = match storage.persisted {
        Some(true) => "; the browser keeps them (persistent storage granted).",
        Some(false) => {
            "; the browser may clear them when the disk runs low (persistent storage not granted)."
        }
        None => ".",
    };
    format!(
        "This site uses {} of {}{kept}",
        megabytes(storage.usage as u64),
        gigabytes(storage.quota),
    )
}

fn gigabytes(bytes: f64) -> String {
    format!("{:.1} GB", bytes / 1e9)
}
