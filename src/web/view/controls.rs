//! The training controls: Train/Pause/Continue, Reset, the weights file out and in (picker or
//! drag and drop), and the networks out as ONNX.

use std::rc::Rc;

use web_sys::{Element, File, HtmlButtonElement, HtmlElement, HtmlInputElement};

use super::{drop_zone, on};
use crate::app::{Event, Model, RunPhase};
use crate::onnx::Network;
use crate::web::dispatch::Dispatch;
use crate::web::dom::{Listener, MissingElement, by_id, js_message, set_flag, set_text};

pub struct ControlsPanel {
    train: HtmlButtonElement,
    reset: HtmlButtonElement,
    download: HtmlButtonElement,
    /// "Download as ONNX": the generator, then the discriminator.
    onnx: [HtmlButtonElement; 2],
    /// "Download 10,000 samples" and, for a conditional model, "Download their labels".
    samples: [HtmlButtonElement; 2],
    load: HtmlInputElement,
    status: Element,
    drop_zone: HtmlElement,
    listeners: Vec<Listener>,
}

/// Reads a chosen file and sends its bytes (the model never sees a browser `File`).
fn read_file(file: File, dispatch: &Dispatch) {
    let dispatch = dispatch.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let name = file.name();
        let bytes = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
            .await
            .map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec())
            .map_err(|e| js_message(&e));
        dispatch.send(Event::WeightsChosen { name, bytes });
    });
}

impl ControlsPanel {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            train: by_id("train")?,
            reset: by_id("reset")?,
            download: by_id("download-weights")?,
            onnx: [
                by_id("download-onnx")?,
                by_id("download-onnx-discriminator")?,
            ],
            samples: [by_id("download-samples")?, by_id("download-sample-labels")?],
            load: by_id("load-weights")?,
            status: by_id("weights-status")?,
            drop_zone: by_id("drop-zone")?,
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch) {
        let picker = self.load.clone();
        let for_picker = Rc::new(dispatch.clone());
        let for_drop = dispatch.clone();
        self.listeners = vec![
            on(&self.train, "click", dispatch, |_| {
                Some(Event::TrainClicked)
            }),
            on(&self.reset, "click", dispatch, |_| {
                Some(Event::ResetClicked)
            }),
            on(&self.download, "click", dispatch, |_| {
                Some(Event::DownloadWeights)
            }),
            on(&self.onnx[0], "click", dispatch, |_| {
                Some(Event::DownloadOnnx(Network::Generator))
            }),
            on(&self.onnx[1], "click", dispatch, |_| {
                Some(Event::DownloadOnnx(Network::Discriminator))
            }),
            on(&self.samples[0], "click", dispatch, |_| {
                Some(Event::DownloadSamples)
            }),
            on(&self.samples[1], "click", dispatch, |_| {
                Some(Event::DownloadSampleLabels)
            }),
            on(&self.load, "change", dispatch, move |_| {
                if let Some(file) = picker.files().and_then(|list| list.get(0)) {
                    read_file(file, &for_picker);
                }
                picker.set_value("");
                None
            }),
        ];
        self.listeners
            .extend(drop_zone(&self.drop_zone, dispatch, move |transfer| {
                if let Some(file) = transfer.files().and_then(|list| list.get(0)) {
                    read_file(file, &for_drop);
                }
                None
            }));
    }

    pub fn render(&self, model: &Model) {
        let label = match model.phase {
            RunPhase::Running => "Pause",
            RunPhase::Finished => "Finished",
            RunPhase::Paused(_) => "Continue",
            _ => "Train",
        };
        set_text(&self.train, label);
        let enabled = model.phase == RunPhase::Running || model.can_train();
        set_flag(&self.train, "disabled", !enabled);
        let started = model.run.as_ref().is_some_and(|run| run.started);
        set_flag(&self.reset, "disabled", !started || !model.can_install());
        set_flag(&self.download, "disabled", model.run.is_none());
        for button in self.onnx.iter().chain(&self.samples) {
            set_flag(button, "disabled", model.run.is_none());
        }
        let conditional = model
            .run
            .as_ref()
            .is_some_and(|run| run.config.model.labels() > 0);
        set_flag(&self.samples[1], "hidden", !conditional);
        set_flag(&self.load, "disabled", !model.can_install());
        set_text(&self.status, &model.status.weights);
    }
}
