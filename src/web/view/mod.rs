//! One view per panel. Each finds its elements once ([`Views::find`]), owns its listeners,
//! which turn DOM events into [`crate::app::Event`]s, and renders from the model after every
//! update (writing to the DOM only what changed).

mod chart;
mod controls;
mod counters;
mod data;
mod explorer;
mod import;
mod page;
mod quality;
mod runs;
mod samples;
mod saved;
mod settings;
mod timeline;

use wasm_bindgen::JsValue;

use super::dispatch::Dispatch;
use super::dom::{Listener, MissingElement};
use super::picked::Picked;
use crate::app::{Event, Model};

/// A listener that sends the event `to_event` makes of each DOM event (if any).
fn on(
    target: &web_sys::EventTarget,
    kind: &'static str,
    dispatch: &Dispatch,
    to_event: impl Fn(&web_sys::Event) -> Option<Event> + 'static,
) -> Listener {
    let dispatch = dispatch.clone();
    Listener::new(target, kind, move |event| {
        if let Some(event) = to_event(&event) {
            dispatch.send(event);
        }
    })
}

/// The listeners that make `zone` a drop target: outlined while something is dragged over it,
/// and `on_drop` given what was dropped.
fn drop_zone(
    zone: &web_sys::HtmlElement,
    dispatch: &Dispatch,
    on_drop: impl Fn(web_sys::DataTransfer) -> Option<Event> + 'static,
) -> [Listener; 3] {
    use wasm_bindgen::JsCast;
    let (over, leave, dropped) = (zone.clone(), zone.clone(), zone.clone());
    [
        on(zone, "dragover", dispatch, move |event| {
            event.prevent_default();
            super::dom::set_class(&over, "dragging", true);
            None
        }),
        on(zone, "dragleave", dispatch, move |_| {
            super::dom::set_class(&leave, "dragging", false);
            None
        }),
        on(zone, "drop", dispatch, move |event| {
            event.prevent_default();
            super::dom::set_class(&dropped, "dragging", false);
            let transfer = event.dyn_ref::<web_sys::DragEvent>()?.data_transfer()?;
            on_drop(transfer)
        }),
    ]
}

/// Appends `child` (if it was made) to `parent`.
fn append(
    parent: &web_sys::Element,
    child: Result<web_sys::Element, JsValue>,
) -> Result<(), JsValue> {
    let child = child?;
    parent.append_child(&child).map(drop)
}

/// A new `tag` element of class `class` (none if empty).
fn element(tag: &str, class: &str) -> Result<web_sys::Element, JsValue> {
    let element = super::dom::document().create_element(tag)?;
    if !class.is_empty() {
        element.set_class_name(class);
    }
    Ok(element)
}

/// Every panel of the page.
pub struct Views {
    page: page::PageView,
    data: data::DataPanel,
    import: import::ImportPanel,
    controls: controls::ControlsPanel,
    counters: counters::Counters,
    saved: saved::SavedPanel,
    runs: runs::RunsPanel,
    quality: quality::QualityPanel,
    explorer: explorer::ExplorerPanel,
    samples: samples::SamplesPanel,
    chart: chart::ChartPanel,
    timeline: timeline::Timeline,
    settings: settings::SettingsPanel,
}

impl Views {
    /// Finds every panel's elements.
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            page: page::PageView::find()?,
            data: data::DataPanel::find()?,
            import: import::ImportPanel::find()?,
            controls: controls::ControlsPanel::find()?,
            counters: counters::Counters::find()?,
            saved: saved::SavedPanel::find()?,
            runs: runs::RunsPanel::find()?,
            quality: quality::QualityPanel::find()?,
            explorer: explorer::ExplorerPanel::find()?,
            samples: samples::SamplesPanel::find()?,
            chart: chart::ChartPanel::find()?,
            timeline: timeline::Timeline::find()?,
            settings: settings::SettingsPanel::find()?,
        })
    }

    /// Connects every control to `dispatch` (files picked for an import go to `picked`); the
    /// listeners live as long as the views.
    pub fn listen(&mut self, dispatch: &Dispatch, picked: &Picked) {
        self.page.listen(dispatch);
        self.data.listen(dispatch);
        self.import.listen(dispatch, picked);
        self.controls.listen(dispatch);
        self.saved.listen(dispatch);
        self.runs.listen(dispatch);
        self.quality.listen(dispatch);
        self.explorer.listen(dispatch);
        self.samples.listen(dispatch);
        self.settings.listen(dispatch);
    }

    /// Shows `model`.
    pub fn render(&self, model: &Model) {
        self.page.render(model);
        self.data.render(model);
        self.import.render(model);
        self.controls.render(model);
        self.counters.render(model);
        self.saved.render(model);
        self.runs.render(model);
        self.quality.render(model);
        self.explorer.render(model);
        self.samples.render(model);
        self.chart.render(model);
        self.timeline.render(model);
        self.settings.render(model);
    }
}
