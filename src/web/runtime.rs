//! The page's loop: every [`Event`] goes through [`Model::update`], the views render once from
//! the new model, then the effects run. Events that arrive meanwhile (a listener fired by an
//! effect) wait in a queue, so updates never nest.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use super::calibrations;
use super::dispatch::Dispatch;
use super::dom::{MissingElement, document, now_ms, window};
use super::effects::Effects;
use super::frame::FrameLoop;
use super::picked::Picked;
use super::view::Views;
use crate::app::timing::FrameWork;
use crate::app::{Effect, Event, Model};
use crate::path::{CpuWorkers, PathPreference};

/// The model, the views and the effects.
pub struct Runtime {
    model: RefCell<Model>,
    views: Views,
    effects: Effects,
    frames: Rc<FrameLoop>,
    queue: RefCell<VecDeque<Event>>,
    busy: Cell<bool>,
    /// What the last animation frame's steps cost, for the next frame's budget.
    last_frame: Cell<FrameWork>,
}

impl Runtime {
    /// Finds the page's elements, wires them, and starts: probe WebGPU, load MNIST, look for a
    /// saved run.
    pub fn boot() -> Result<Rc<Self>, MissingElement> {
        let views = Views::find()?;
        let (model, effects) = Model::boot(
            initial_preference(),
            cpu_workers(),
            calibrations::load(),
            &tab_id(),
        );
        let runtime = Rc::new_cyclic(|weak: &Weak<Self>| {
            let dispatch = {
                let weak = weak.clone();
                Dispatch::new(move |event| {
                    if let Some(runtime) = weak.upgrade() {
                        runtime.dispatch(event);
                    }
                })
            };
            let frames = {
                let weak = weak.clone();
                FrameLoop::new(move |_| {
                    if let Some(runtime) = weak.upgrade() {
                        runtime.frame();
                    }
                    false // an `Effect::ScheduleFrame` asks for the next one
                })
            };
            let picked = Picked::default();
            let mut views = views;
            views.listen(&dispatch, &picked);
            Self {
                model: RefCell::new(model),
                views,
                effects: Effects::new(dispatch, frames.clone(), picked),
                frames,
                queue: RefCell::new(VecDeque::new()),
                busy: Cell::new(false),
                last_frame: Cell::new(FrameWork::default()),
            }
        });
        runtime.views.render(&runtime.model.borrow());
        for effect in effects {
            runtime.effects.run(effect);
        }
        if document().hidden() {
            runtime.dispatch(Event::VisibilityChanged { hidden: true });
        }
        // `?model=conditional` chooses the model of the first run, as the menu would.
        if let Some(text) = url_parameter("model") {
            runtime.dispatch(Event::SettingEdited {
                field: "model",
                text,
            });
        }
        Ok(runtime)
    }

    /// Updates the model with `event`, renders, runs the effects; then the events queued
    /// meanwhile, in order. Returns how many steps were enqueued.
    fn dispatch(&self, event: Event) -> usize {
        self.queue.borrow_mut().push_back(event);
        if self.busy.replace(true) {
            return 0;
        }
        let mut steps = 0;
        loop {
            let next = self.queue.borrow_mut().pop_front();
            let Some(event) = next else { break };
            let effects = self.model.borrow_mut().update(event, now_ms());
            self.views.render(&self.model.borrow());
            for effect in effects {
                steps += usize::from(matches!(effect, Effect::Step { .. }));
                self.effects.run(effect);
            }
        }
        self.busy.set(false);
        steps
    }

    /// One animation frame, timed for the next frame's budget.
    fn frame(&self) {
        let started = now_ms();
        let enqueued = self.dispatch(Event::Frame(self.last_frame.get()));
        self.last_frame.set(FrameWork {
            spent_ms: now_ms() - started,
            enqueued,
        });
    }

    /// The effects (for the test hooks).
    pub fn effects(&self) -> &Effects {
        &self.effects
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.frames.cancel();
    }
}

/// A random id for this tab: the prefix of the keys of the runs it starts, so two tabs never
/// pick the same key.
fn tab_id() -> String {
    let random = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    format!("{:x}-{random:08x}", js_sys::Date::now() as u64)
}

/// A parameter of the page's URL.
fn url_parameter(name: &str) -> Option<String> {
    let search = window().location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

/// The path asked for in the page's URL (`?path=cpu`, `webgpu` or `auto`), else automatic.
fn initial_preference() -> PathPreference {
    url_parameter("path")
        .and_then(|text| PathPreference::parse(&text))
        .unwrap_or_default()
}

/// The machine's cores, and the CPU workers asked for in the URL (`?workers=2`), else
/// automatic.
fn cpu_workers() -> CpuWorkers {
    let cores = window().navigator().hardware_concurrency() as usize;
    CpuWorkers {
        chosen: url_parameter("workers")
            .and_then(|text| CpuWorkers::parse(&text))
            .flatten(),
        ..CpuWorkers::new(cores)
    }
}
