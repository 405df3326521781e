//! Roll back after a divergence, the autosave interval, and what the saves say.

use web_sys::{Element, HtmlButtonElement, HtmlInputElement};

use super::on;
use crate::app::{Event, Model};
use crate::web::dispatch::Dispatch;
use crate::web::dom::{Listener, MissingElement, by_id, set_flag, set_text};

pub struct SavedPanel {
    rollback: HtmlButtonElement,
    autosave_every: HtmlInputElement,
    status: Element,
    listeners: Vec<Listener>,
}

impl SavedPanel {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            rollback: by_id("rollback")?,
            autosave_every: by_id("autosave-every")?,
            status: by_id("saved-status")?,
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch) {
        let field = self.autosave_every.clone();
        self.listeners = vec![
            on(&self.rollback, "click", dispatch, |_| {
                Some(Event::RollBackClicked)
            }),
            on(&self.autosave_every, "input", dispatch, move |_| {
                Some(Event::AutosaveEdited(field.value()))
            }),
        ];
    }

    pub fn render(&self, model: &Model) {
        let rollback = model.rollback_offer();
        set_flag(&self.rollback, "hidden", rollback.is_none());
        if let Some(saved) = rollback {
            let text = format!("Roll back to epoch {} (step {})", saved.epoch, saved.step);
            set_text(&self.rollback, &text);
        }
        if self.autosave_every.value() != model.saved.autosave_text {
            self.autosave_every.set_value(&model.saved.autosave_text);
        }
        set_text(&self.status, &model.status.saved);
    }
}
