//! The counters: epoch, step, steps/s, time left, the latest losses, memory.

use std::cell::Cell;

use web_sys::Element;

use crate::app::timing::format_duration;
use crate::app::{Model, RunId, RunPhase};
use crate::web::dom::{MissingElement, by_id, set_text};

pub struct Counters {
    epoch: Element,
    step: Element,
    speed: Element,
    eta: Element,
    latest: Element,
    memory: Element,
    /// While training: the run and counters version shown (`Display::counters_version`).
    shown: Cell<Option<(RunId, u64)>>,
}

fn megabytes(bytes: f64) -> String {
    format!("{:.0} MB", bytes / 1e6)
}

impl Counters {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            epoch: by_id("epoch")?,
            step: by_id("step")?,
            speed: by_id("steps-per-second")?,
            eta: by_id("eta")?,
            latest: by_id("latest")?,
            memory: by_id("memory")?,
            shown: Cell::new(None),
        })
    }

    pub fn render(&self, model: &Model) {
        let Some(run) = &model.run else { return };
        self.render_memory(model);
        // While training, the figures change at every step: shown at the model's pace.
        let key = (run.id, model.display.counters_version);
        let running = model.phase == RunPhase::Running;
        if running && self.shown.get() == Some(key) {
            return;
        }
        self.shown.set(running.then_some(key));
        let epochs = format!("{} / {}", run.progress.epoch, run.config.epochs);
        set_text(&self.epoch, &epochs);
        set_text(&self.step, &run.steps_done().to_string());
        let rate = run.timing.rate.per_second();
        set_text(
            &self.speed,
            &rate.map_or_else(|| "—".into(), |r| format!("{r:.1}")),
        );
        let left = run.seconds_left(model.batches_per_epoch());
        set_text(&self.eta, &format_duration(left));
        let latest = run.record.history.last().map_or_else(String::new, |v| {
            format!(
                "D loss {:.4} · G loss {:.4} · D(x) {:.3} · D(G(z)) {:.3}",
                v.d_loss, v.g_loss, v.d_real, v.d_fake
            )
        });
        set_text(&self.latest, &latest);
    }

    fn render_memory(&self, model: &Model) {
        if let Some(memory) = &model.display.memory {
            let device = memory
                .worker
                .device_reserved
                .map_or_else(|| "—".to_string(), megabytes);
            let page = megabytes(memory.page_wasm + memory.page_js_heap.unwrap_or(0.0));
            let text = format!(
                "{} · {device} · {page}",
                megabytes(memory.worker.wasm_bytes)
            );
            set_text(&self.memory, &text);
        }
    }
}
