//! The settings form: each field's text and message, locked during a run but for the live
//! ones.

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use web_sys::{Element, EventTarget, HtmlInputElement, HtmlSelectElement};

use super::on;
use crate::app::settings::{SETTINGS, SettingsForm, is_editable};
use crate::app::{Event, Model};
use crate::model::ModelKind;
use crate::web::dispatch::Dispatch;
use crate::web::dom::{Listener, MissingElement, by_id, set_flag, set_text};

/// A field's control: a number field, or the model's menu.
#[derive(Clone)]
enum Control {
    Input(HtmlInputElement),
    Select(HtmlSelectElement),
}

impl Control {
    /// The control `#id`; a menu is given the models as its options.
    fn find(id: &str) -> Result<Self, MissingElement> {
        let element: Element = by_id(id)?;
        match element.dyn_into::<HtmlSelectElement>() {
            Ok(select) => {
                for model in ModelKind::ALL {
                    let text = format!("{} — {}", model.name(), model.summary());
                    if let Ok(option) =
                        web_sys::HtmlOptionElement::new_with_text_and_value(&text, model.name())
                    {
                        let _ = select.add_with_html_option_element(&option);
                    }
                }
                Ok(Self::Select(select))
            }
            Err(element) => element
                .dyn_into::<HtmlInputElement>()
                .map(Self::Input)
                .map_err(|_| MissingElement(id.to_string())),
        }
    }

    fn element(&self) -> &Element {
        match self {
            Self::Input(input) => input,
            Self::Select(select) => select,
        }
    }

    fn value(&self) -> String {
        match self {
            Self::Input(input) => input.value(),
            Self::Select(select) => select.value(),
        }
    }

    fn set_value(&self, value: &str) {
        match self {
            Self::Input(input) => input.set_value(value),
            Self::Select(select) => select.set_value(value),
        }
    }
}

struct Field {
    name: &'static str,
    input: Control,
    error: Element,
}

pub struct SettingsPanel {
    form: EventTarget,
    fields: Vec<Field>,
    status: Element,
    /// The form and lock state last shown: the fields are written only when these change
    /// (an edit, an install), not on every step report.
    shown: RefCell<Option<(SettingsForm, bool)>>,
    listeners: Vec<Listener>,
}

impl SettingsPanel {
    pub fn find() -> Result<Self, MissingElement> {
        let fields = SETTINGS
            .iter()
            .map(|&name| {
                Ok(Field {
                    name,
                    input: Control::find(&format!("setting-{name}"))?,
                    error: by_id(&format!("error-{name}"))?,
                })
            })
            .collect::<Result<_, MissingElement>>()?;
        Ok(Self {
            form: by_id("settings")?,
            fields,
            status: by_id("settings-status")?,
            shown: RefCell::new(None),
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch) {
        let mut listeners: Vec<Listener> = self
            .fields
            .iter()
            .map(|field| {
                let (name, input) = (field.name, field.input.clone());
                on(field.input.element(), "input", dispatch, move |_| {
                    Some(Event::SettingEdited {
                        field: name,
                        text: input.value(),
                    })
                })
            })
            .collect();
        // Enter in a field submits the form: that must not navigate away from the run.
        listeners.push(on(&self.form, "submit", dispatch, |event| {
            event.prevent_default();
            None
        }));
        self.listeners = listeners;
    }

    pub fn render(&self, model: &Model) {
        let started = model.run.as_ref().is_some_and(|run| run.started);
        let status = model.status.run.as_ref().unwrap_or(&model.status.settings);
        set_text(&self.status, status);
        let current = (model.settings.clone(), started);
        if self.shown.borrow().as_ref() == Some(&current) {
            return;
        }
        for field in &self.fields {
            let text = model.settings.text(field.name);
            if field.input.value() != text {
                field.input.set_value(text);
            }
            set_flag(
                field.input.element(),
                "disabled",
                !is_editable(field.name, started),
            );
            set_text(&field.error, model.settings.error(field.name));
        }
        *self.shown.borrow_mut() = Some(current);
    }
}
