//! One view per panel. Each finds its elements once ([`Views::find`]), owns its listeners,
//! which turn DOM events into [`crate::app::Event`]s, and renders from the model after every
//! update (writing to the DOM only what changed).

mod chart;
mod controls;
mod counters;
mod data;
mod explorer;
mod page;
mod quality;
mod runs;
mod samples;
mod saved;
mod settings;
mod timeline;

use super::dispatch::Dispatch;
use super::dom::{Listener, MissingElement};
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

/// Every panel of the page.
pub struct Views {
    page: page::PageView,
    data: data::DataPanel,
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

    /// Connects every control to `dispatch`; the listeners live as long as the views.
    pub fn listen(&mut self, dispatch: &Dispatch) {
        self.page.listen(dispatch);
        self.data.listen(dispatch);
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
