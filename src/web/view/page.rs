//! The page's root (its phase and path as data attributes, the test hooks' figures), the path
//! bar ("Train on"), and the tab's visibility.

use web_sys::{Element, HtmlElement, HtmlSelectElement};

use super::on;
use crate::app::{Event, Model, RunPhase};
use crate::path::{ComputePath, CpuWorkers, PathPreference};
use crate::web::dispatch::Dispatch;
use crate::web::dom::{
    Listener, MissingElement, by_id, document, set_attribute, set_class, set_flag, set_text,
};

pub struct PageView {
    root: HtmlElement,
    gpu_status: Element,
    compute_path: HtmlSelectElement,
    cpu_workers: HtmlSelectElement,
    measure_again: HtmlElement,
    listeners: Vec<Listener>,
}

impl PageView {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            root: by_id("app")?,
            gpu_status: by_id("gpu-status")?,
            compute_path: by_id("compute-path")?,
            cpu_workers: by_id("cpu-workers")?,
            measure_again: by_id("measure-again")?,
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch) {
        let select = self.compute_path.clone();
        let workers = self.cpu_workers.clone();
        self.listeners = vec![
            on(&self.compute_path, "change", dispatch, move |_| {
                PathPreference::parse(&select.value()).map(Event::PathPicked)
            }),
            on(&self.cpu_workers, "change", dispatch, move |_| {
                CpuWorkers::parse(&workers.value()).map(Event::WorkersPicked)
            }),
            on(&self.measure_again, "click", dispatch, |_| {
                Some(Event::MeasureAgainClicked)
            }),
            on(&document(), "visibilitychange", dispatch, |_| {
                Some(Event::VisibilityChanged {
                    hidden: document().hidden(),
                })
            }),
        ];
    }

    pub fn render(&self, model: &Model) {
        let root = &self.root;
        set_attribute(root, "data-phase", Some(model.phase.name()));
        let path = model.run.as_ref().map(|run| run.path).or(model.path.active);
        set_attribute(root, "data-path", path.map(|p| p.name()));
        let measuring = model.path.measure.measuring.is_some();
        let status = match (&model.phase, model.path.active) {
            (RunPhase::Unavailable(reason), _) => format!("Training cannot start: {reason}"),
            _ if measuring => {
                "Measuring WebGPU and the CPU on this machine (a few seconds)…".into()
            }
            (_, Some(path)) => format!(
                "Training on {path} {}: {}.",
                workers_in_words(path, model),
                model.path.reason
            ),
            _ => model.path.reason.clone(),
        };
        set_text(&self.gpu_status, &status);
        set_class(
            &self.gpu_status,
            "error",
            matches!(model.phase, RunPhase::Unavailable(_)),
        );
        if self.compute_path.value() != model.path.preference.name() {
            self.compute_path.set_value(model.path.preference.name());
        }
        let busy = matches!(
            model.phase,
            RunPhase::Running | RunPhase::Switching { .. } | RunPhase::Recovering { .. }
        );
        set_flag(&self.compute_path, "disabled", busy);
        let choice = model.path.workers.choice_name();
        if self.cpu_workers.value() != choice {
            self.cpu_workers.set_value(&choice);
        }
        set_flag(&self.cpu_workers, "disabled", busy);
        set_flag(
            &self.measure_again,
            "hidden",
            model.calibration_key().is_none(),
        );
        set_flag(&self.measure_again, "disabled", !model.can_measure_again());
        set_attribute(root, "data-measuring", measuring.then_some("true"));
        set_attribute(
            root,
            "data-workers",
            model.path.group.map(|n| n.to_string()).as_deref(),
        );
        #[cfg(feature = "test-hooks")]
        self.render_hooks(model);
    }

    /// Figures the end-to-end test and the benchmark wait for.
    #[cfg(feature = "test-hooks")]
    fn render_hooks(&self, model: &Model) {
        let root = &self.root;
        let in_flight = model.run.as_ref().map_or(0, |run| run.in_flight);
        set_attribute(root, "data-in-flight", Some(&in_flight.to_string()));
        let shown = model.run.as_ref().and_then(|run| run.grid.shown.as_ref());
        if let Some((step, _)) = shown {
            set_attribute(root, "data-grid-step", Some(&step.to_string()));
            if !root.has_attribute("data-first-grid-ms") {
                let now = format!("{:.0}", crate::web::dom::now_ms());
                set_attribute(root, "data-first-grid-ms", Some(&now));
            }
        }
        if let Some(memory) = &model.display.memory {
            let figures = serde_json::json!({
                "page_wasm": memory.page_wasm,
                "page_js_heap": memory.page_js_heap,
                "worker_wasm": memory.worker.wasm_bytes,
                "device_in_use": memory.worker.device_in_use,
                "device_reserved": memory.worker.device_reserved,
            });
            set_attribute(root, "data-memory", Some(&figures.to_string()));
        }
    }
}

/// "in 2 Web Workers (2 of 4 cores)": how many workers train a run on `path`.
fn workers_in_words(path: ComputePath, model: &Model) -> String {
    let cores = model.path.workers.cores;
    match (path, model.path.group.unwrap_or(1)) {
        (ComputePath::WebGpu, _) => "in a Web Worker".into(),
        (ComputePath::Cpu, 1) => format!("in a Web Worker (1 of {cores} cores)"),
        (ComputePath::Cpu, n) => format!("in {n} Web Workers ({n} of {cores} cores)"),
    }
}
