//! The quality panel: FID and IS per epoch beside the reference run, the histogram of the
//! latest score's digits, the scoring interval, and what the scores say.

use std::cell::Cell;

use web_sys::{Element, HtmlCanvasElement, HtmlInputElement};

use super::on;
use crate::app::{Event, Model, RunId};
use crate::web::dispatch::Dispatch;
use crate::web::dom::{
    Listener, MissingElement, by_id, js_message, set_attribute, set_flag, set_text,
};
use crate::web::quality_chart::{draw_histogram, draw_quality_chart};

pub struct QualityPanel {
    chart: HtmlCanvasElement,
    histogram: HtmlCanvasElement,
    caption: Element,
    /// The histogram and its caption.
    figure: Element,
    every: HtmlInputElement,
    status: Element,
    /// The run and chart version drawn.
    drawn: Cell<Option<(RunId, u64)>>,
    listeners: Vec<Listener>,
}

impl QualityPanel {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            chart: by_id("quality-chart")?,
            histogram: by_id("digit-histogram")?,
            caption: by_id("digit-histogram-caption")?,
            figure: by_id("digit-histogram-figure")?,
            every: by_id("score-every")?,
            status: by_id("quality-status")?,
            drawn: Cell::new(None),
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch) {
        let field = self.every.clone();
        self.listeners = vec![on(&self.every, "input", dispatch, move |_| {
            Some(Event::ScoreEveryEdited(field.value()))
        })];
    }

    pub fn render(&self, model: &Model) {
        if self.every.value() != model.quality.every_text {
            self.every.set_value(&model.quality.every_text);
        }
        set_text(&self.status, &model.quality.status);
        let scores = model.run.as_ref().map_or(&[][..], |run| &run.record.scores);
        // What the end-to-end test reads: how many scores the chart shows.
        set_attribute(&self.chart, "data-points", Some(&scores.len().to_string()));
        let key = (
            model.run.as_ref().map_or(0, |run| run.id),
            model.display.chart_version,
        );
        if self.drawn.replace(Some(key)) == Some(key) {
            return;
        }
        // The reference runs and the classifier's digits are MNIST's: other data shows its
        // distance to its held-out images alone.
        let mnist = model
            .run
            .as_ref()
            .is_none_or(|run| run.label.data.is_mnist());
        set_flag(&self.figure, "hidden", !mnist);
        let reference = model
            .run
            .as_ref()
            .filter(|_| mnist)
            .and_then(|run| model.quality.reference(run.config.model))
            .map_or(&[][..], |curve| &curve.points);
        if let Err(e) = draw_quality_chart(&self.chart, scores, reference, mnist) {
            log::warn!("quality chart: {}", js_message(&e));
        }
        // A conditional model's latest score: how often each digit asked for is drawn; else
        // which digits the samples are taken for.
        let latest = scores.last().map(|s| &s.score);
        let (bars, caption) = match latest.and_then(|s| s.requested.as_ref()) {
            Some(requested) => (
                requested
                    .per_digit
                    .iter()
                    .map(|share| share * 100.0)
                    .collect(),
                "samples taken for the digit asked for, per digit (%)",
            ),
            None => (
                latest.map_or_else(Vec::new, |s| {
                    s.histogram.iter().map(|&count| f64::from(count)).collect()
                }),
                "digits the classifier sees in the latest score (%)",
            ),
        };
        set_text(&self.caption, caption);
        let shares = latest.is_some_and(|s| s.requested.is_some());
        if let Err(e) = draw_histogram(&self.histogram, &bars, shares) {
            log::warn!("histogram: {}", js_message(&e));
        }
    }
}
