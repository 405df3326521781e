//! The saved run: Resume (only for a save that is not the run on screen), Forget, Roll back
//! after a divergence, and the autosave interval.

use web_sys::{Element, HtmlButtonElement, HtmlElement, HtmlInputElement};

use super::on;
use crate::app::{Event, Model, RunPhase};
use crate::web::dispatch::Dispatch;
use crate::web::dom::{Listener, MissingElement, by_id, set_attribute, set_flag, set_text};

pub struct SavedPanel {
    offer: HtmlElement,
    summary: Element,
    resume: HtmlButtonElement,
    forget: HtmlButtonElement,
    rollback: HtmlButtonElement,
    autosave_every: HtmlInputElement,
    status: Element,
    listeners: Vec<Listener>,
}

impl SavedPanel {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            offer: by_id("saved-run")?,
            summary: by_id("saved-summary")?,
            resume: by_id("resume")?,
            forget: by_id("forget")?,
            rollback: by_id("rollback")?,
            autosave_every: by_id("autosave-every")?,
            status: by_id("saved-status")?,
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch) {
        let field = self.autosave_every.clone();
        self.listeners = vec![
            on(&self.resume, "click", dispatch, |_| {
                Some(Event::ResumeClicked)
            }),
            on(&self.rollback, "click", dispatch, |_| {
                Some(Event::ResumeClicked)
            }),
            on(&self.forget, "click", dispatch, |_| {
                Some(Event::ForgetClicked)
            }),
            on(&self.autosave_every, "input", dispatch, move |_| {
                Some(Event::AutosaveEdited(field.value()))
            }),
        ];
    }

    pub fn render(&self, model: &Model) {
        let offer = model.resume_offer();
        set_flag(&self.offer, "hidden", offer.is_none());
        set_attribute(
            &self.offer,
            "data-epoch",
            offer.map(|saved| saved.epoch.to_string()).as_deref(),
        );
        if let Some(saved) = offer {
            set_text(&self.resume, &format!("Resume from epoch {}", saved.epoch));
            let when = js_sys::Date::new(&saved.saved_at.into());
            let text = format!(
                "Saved run: epoch {}, step {}, saved {}.",
                saved.epoch,
                saved.step,
                String::from(when.to_locale_time_string("default"))
            );
            set_text(&self.summary, &text);
        }
        let resumable = model.can_install()
            && model.phase != RunPhase::Running
            && matches!(model.data, crate::app::DataState::Ready(_));
        set_flag(&self.resume, "disabled", !resumable);
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
