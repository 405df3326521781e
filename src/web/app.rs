//! The page: it loads MNIST, has the worker train on WebGPU or the CPU, paced by
//! requestAnimationFrame, draws what the generator makes, and moves weights in and out.
//!
//! Each frame enqueues as many steps as fit a small main-thread budget, but never more than
//! [`MAX_IN_FLIGHT`] steps whose statistics have not come back yet: the asynchronous read-back
//! (the worker answers once the GPU or the CPU is done) is the back-pressure that keeps the queue short.
//! Async tasks carry the run's `generation`, so results of a run that was reset or replaced
//! are dropped.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    Blob, BlobPropertyBag, DragEvent, Element, HtmlAnchorElement, HtmlButtonElement,
    HtmlCanvasElement, HtmlElement, HtmlInputElement, HtmlProgressElement, HtmlSelectElement, Url,
};

use super::dataset::{self, LoadError};
use super::dom::{Listener, by_id, document, js_message, now_ms, set_text};
use super::engine::{Backend, Engine, EngineError, GRID_SIDE, Pending, StepReport};
use super::frame::FrameLoop;
use super::gpu;
use super::render;
use super::worker::TrainerWorker;
use crate::config::{ConfigError, TrainingConfig};
use crate::data::Dataset;
use crate::idx::IMAGE_PIXELS;
use crate::path::{ComputePath, GpuProbe, PathPreference, choose_path};
use crate::train::StepValues;
use crate::weights::Checkpoint;

/// Steps enqueued whose statistics have not been read back yet, at most.
pub const MAX_IN_FLIGHT: usize = 3;
/// How often the sample grid and the chart are redrawn while training.
const REDRAW_MS: f64 = 250.0;
/// Bounds of the adaptive per-frame budget for enqueueing steps.
const BUDGET_MS: (f64, f64) = (2.0, 10.0);

/// Why the app could not start.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// `index.html` lacks an element.
    #[error(transparent)]
    Page(#[from] super::dom::MissingElement),
}

/// Every form field of the settings, by its config name.
const SETTINGS: [&str; 17] = [
    "epochs",
    "batch_size",
    "noise_dim",
    "generator_lr",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "discriminator_lr",
    "rmsprop_rho",
    "rmsprop_epsilon",
    "k",
    "real_label",
    "snapshot_every",
    "init_seed",
    "shuffle_seed",
    "noise_seed",
    "sample_seed",
];
/// Settings that may change while a run is under way.
const LIVE_SETTINGS: [&str; 2] = ["epochs", "snapshot_every"];

/// Where the app is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Loading,
    Ready,
    Running,
    Paused,
    Finished,
    Unavailable,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Loading => "loading",
            Phase::Ready => "ready",
            Phase::Running => "running",
            Phase::Paused => "paused",
            Phase::Finished => "finished",
            Phase::Unavailable => "unavailable",
        }
    }
}

/// A stopwatch that runs only while training is running and the tab is visible.
#[derive(Debug, Default)]
struct ActiveClock {
    accumulated: f64,
    since: Option<f64>,
}

impl ActiveClock {
    fn resume(&mut self, now: f64) {
        self.since.get_or_insert(now);
    }
    fn pause(&mut self, now: f64) {
        if let Some(since) = self.since.take() {
            self.accumulated += now - since;
        }
    }
    fn lap(&mut self, now: f64) -> f64 {
        let total = self.accumulated + self.since.map_or(0.0, |s| now - s);
        self.accumulated = 0.0;
        if self.since.is_some() {
            self.since = Some(now);
        }
        total
    }
}

/// The page's elements.
struct Ui {
    root: HtmlElement,
    gpu_status: Element,
    compute_path: HtmlSelectElement,
    data_progress: HtmlProgressElement,
    data_status: Element,
    data_retry: HtmlButtonElement,
    train_image: HtmlCanvasElement,
    train_label: Element,
    untrained: HtmlCanvasElement,
    train: HtmlButtonElement,
    reset: HtmlButtonElement,
    download_weights: HtmlButtonElement,
    load_weights: HtmlInputElement,
    weights_status: Element,
    drop_zone: HtmlElement,
    epoch: Element,
    step: Element,
    speed: Element,
    eta: Element,
    latest: Element,
    grid: HtmlCanvasElement,
    download_grid: HtmlButtonElement,
    chart: HtmlCanvasElement,
    snapshots: Element,
    epoch_log: Element,
    settings_status: Element,
}

impl Ui {
    fn find() -> Result<Self, BootError> {
        Ok(Self {
            root: by_id("app")?,
            gpu_status: by_id("gpu-status")?,
            compute_path: by_id("compute-path")?,
            data_progress: by_id("data-progress")?,
            data_status: by_id("data-status")?,
            data_retry: by_id("data-retry")?,
            train_image: by_id("train-image")?,
            train_label: by_id("train-label")?,
            untrained: by_id("untrained-sample")?,
            train: by_id("train")?,
            reset: by_id("reset")?,
            download_weights: by_id("download-weights")?,
            load_weights: by_id("load-weights")?,
            weights_status: by_id("weights-status")?,
            drop_zone: by_id("drop-zone")?,
            epoch: by_id("epoch")?,
            step: by_id("step")?,
            speed: by_id("steps-per-second")?,
            eta: by_id("eta")?,
            latest: by_id("latest")?,
            grid: by_id("grid")?,
            download_grid: by_id("download-grid")?,
            chart: by_id("chart")?,
            snapshots: by_id("snapshots")?,
            epoch_log: by_id("epoch-log")?,
            settings_status: by_id("settings-status")?,
        })
    }

    fn input(field: &str) -> Option<HtmlInputElement> {
        by_id(&format!("setting-{field}")).ok()
    }

    fn field_error(field: &str) -> Option<Element> {
        by_id(&format!("error-{field}")).ok()
    }
}

/// Everything that changes while the page runs.
struct State {
    phase: Phase,
    /// What asking for WebGPU gave, once asked.
    probe: Option<GpuProbe>,
    preference: PathPreference,
    /// Where training runs, once chosen.
    backend: Option<Backend>,
    /// The worker that trains, kept once started (its images are sent once).
    worker: Option<Rc<TrainerWorker>>,
    /// A change of path is under way.
    switching: bool,
    dataset: Option<Rc<Dataset>>,
    /// The settings in the form, when valid.
    config: TrainingConfig,
    engine: Option<Engine>,
    /// Once a run has taken a step (or weights were loaded) its settings are locked.
    run_started: bool,
    generation: u64,
    in_flight: usize,
    history: Vec<StepValues>,
    clock: ActiveClock,
    /// Times of recently completed steps, for steps/s.
    completions: VecDeque<f64>,
    grid_pending: bool,
    last_redraw: f64,
    budget_ms: f64,
    message: Option<String>,
}

struct Shared {
    ui: Ui,
    state: RefCell<State>,
}

/// The running page. Dropping it cancels the frame loop and removes every listener.
pub struct App {
    _shared: Rc<Shared>,
    _frames: Rc<FrameLoop>,
    _listeners: Vec<Listener>,
}

impl App {
    /// Finds the page's elements, wires the controls, then probes WebGPU and loads MNIST.
    pub async fn boot() -> Result<Self, BootError> {
        let ui = Ui::find()?;
        let shared = Rc::new(Shared {
            ui,
            state: RefCell::new(State {
                phase: Phase::Loading,
                probe: None,
                preference: initial_preference(),
                backend: None,
                worker: None,
                switching: false,
                dataset: None,
                config: TrainingConfig::default(),
                engine: None,
                run_started: false,
                generation: 0,
                in_flight: 0,
                history: Vec::new(),
                clock: ActiveClock::default(),
                completions: VecDeque::new(),
                grid_pending: false,
                last_redraw: 0.0,
                budget_ms: 4.0,
                message: None,
            }),
        });
        let frames = {
            let weak = Rc::downgrade(&shared);
            FrameLoop::new(move |now| weak.upgrade().is_some_and(|s| s.tick(now, &weak)))
        };
        shared.fill_settings(&TrainingConfig::default());
        shared
            .ui
            .compute_path
            .set_value(shared.state.borrow().preference.name());
        let listeners = wire(&shared, &frames);
        shared.render_controls();
        shared.render_chart();

        let boot = shared.clone();
        let boot_frames = frames.clone();
        wasm_bindgen_futures::spawn_local(async move {
            boot.start_backend(&boot_frames).await;
            boot.load_data().await;
        });
        Ok(Self {
            _shared: shared,
            _frames: frames,
            _listeners: listeners,
        })
    }
}

/// Connects every control to the shared state; the listeners own their closures.
fn wire(shared: &Rc<Shared>, frames: &Rc<FrameLoop>) -> Vec<Listener> {
    let ui = &shared.ui;
    let mut listeners = Vec::new();
    let on = |target: &web_sys::EventTarget,
              kind: &'static str,
              handler: fn(&Rc<Shared>, &Rc<FrameLoop>, web_sys::Event)| {
        let (weak, frames) = (Rc::downgrade(shared), frames.clone());
        Listener::new(target, kind, move |event| {
            if let Some(shared) = weak.upgrade() {
                handler(&shared, &frames, event);
            }
        })
    };
    listeners.push(on(&ui.train, "click", |s, f, _| s.toggle(f)));
    listeners.push(on(&ui.reset, "click", |s, f, _| s.reset(f)));
    listeners.push(on(&ui.compute_path, "change", |s, f, _| {
        let Some(preference) = PathPreference::parse(&s.ui.compute_path.value()) else {
            return;
        };
        s.state.borrow_mut().preference = preference;
        let (s, f) = (s.clone(), f.clone());
        spawn(async move { s.choose_backend(&f).await });
    }));
    listeners.push(on(&ui.data_retry, "click", |s, _, _| {
        let s = s.clone();
        wasm_bindgen_futures::spawn_local(async move { s.load_data().await });
    }));
    listeners.push(on(&ui.download_weights, "click", |s, _, _| {
        s.download_weights()
    }));
    listeners.push(on(&ui.download_grid, "click", |s, _, _| {
        download_canvas(&s.ui.grid, "samples.png");
    }));
    listeners.push(on(&ui.load_weights, "change", |s, f, _| {
        let files = s.ui.load_weights.files();
        if let Some(file) = files.and_then(|list| list.get(0)) {
            s.load_weights(file, f);
        }
        s.ui.load_weights.set_value("");
    }));
    listeners.push(on(&ui.drop_zone, "dragover", |s, _, event| {
        event.prevent_default();
        let _ = s.ui.drop_zone.class_list().add_1("dragging");
    }));
    listeners.push(on(&ui.drop_zone, "dragleave", |s, _, _| {
        let _ = s.ui.drop_zone.class_list().remove_1("dragging");
    }));
    listeners.push(on(&ui.drop_zone, "drop", |s, f, event| {
        event.prevent_default();
        let _ = s.ui.drop_zone.class_list().remove_1("dragging");
        let file = event
            .dyn_ref::<DragEvent>()
            .and_then(DragEvent::data_transfer)
            .and_then(|t| t.files())
            .and_then(|list| list.get(0));
        if let Some(file) = file {
            s.load_weights(file, f);
        }
    }));
    listeners.push(on(&document(), "visibilitychange", |s, f, _| {
        s.visibility_changed(f)
    }));
    for field in SETTINGS {
        if let Some(input) = Ui::input(field) {
            listeners.push(on(&input, "input", |s, _, _| s.settings_changed()));
        }
    }
    listeners
}

fn spawn(future: impl std::future::Future<Output = ()> + 'static) {
    wasm_bindgen_futures::spawn_local(future);
}

/// The path asked for in the page's URL (`?path=cpu`, `webgpu` or `auto`), else automatic.
fn initial_preference() -> PathPreference {
    super::dom::window()
        .location()
        .search()
        .ok()
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok())
        .and_then(|params| params.get("path"))
        .and_then(|text| PathPreference::parse(&text))
        .unwrap_or_default()
}

/// Offers `bytes` as a file download.
fn download_bytes(bytes: &[u8], name: &str, mime: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    let url = Url::create_object_url_with_blob(&blob)?;
    let result = click_link(&url, name);
    Url::revoke_object_url(&url)?;
    result
}

fn click_link(href: &str, name: &str) -> Result<(), JsValue> {
    let link: HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    link.set_href(href);
    link.set_download(name);
    link.click();
    Ok(())
}

/// Offers a canvas as a PNG download.
fn download_canvas(canvas: &HtmlCanvasElement, name: &str) {
    if let Err(e) = canvas.to_data_url().and_then(|url| click_link(&url, name)) {
        log::error!("could not save {name}: {}", js_message(&e));
    }
}

fn format_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "—".into();
    }
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

impl Shared {
    // ----- start-up -------------------------------------------------------------------

    async fn start_backend(self: &Rc<Self>, frames: &Rc<FrameLoop>) {
        set_text(&self.ui.gpu_status, "Looking for a WebGPU adapter…");
        let probe = gpu::probe().await;
        self.state.borrow_mut().probe = Some(probe);
        self.choose_backend(frames).await;
    }

    /// Picks the path by the rules and the user's preference, starts it, and moves the run
    /// onto it (a run under way keeps its weights, optimizer state and position).
    async fn choose_backend(self: &Rc<Self>, frames: &Rc<FrameLoop>) {
        let (probe, preference) = {
            let state = self.state.borrow();
            match &state.probe {
                Some(probe) if !state.switching => (probe.clone(), state.preference),
                _ => return,
            }
        };
        let choice = choose_path(&probe, preference);
        let mut reason = choice.reason;
        let mut backend = self.start_path(choice.path).await;
        if let (Err(e), ComputePath::WebGpu) = (&backend, choice.path) {
            reason = format!("{e}; training on the CPU instead");
            backend = self.start_path(ComputePath::Cpu).await;
        }
        match backend {
            Ok(backend) => {
                let _ = self.ui.gpu_status.class_list().remove_1("error");
                set_text(
                    &self.ui.gpu_status,
                    &format!("Training in a Web Worker on {}: {reason}.", backend.path),
                );
                let _ = self.ui.root.set_attribute("data-path", backend.path.name());
                self.switch_to(backend, frames).await;
            }
            Err(e) => {
                set_text(&self.ui.gpu_status, &format!("Training cannot start: {e}"));
                let _ = self.ui.gpu_status.class_list().add_1("error");
                self.state.borrow_mut().phase = Phase::Unavailable;
            }
        }
        self.render_controls();
    }

    /// The worker with `path` started: the one already running, or a new one given the images.
    async fn start_path(&self, path: ComputePath) -> Result<Backend, String> {
        let worker = {
            let mut state = self.state.borrow_mut();
            match state.worker.as_ref().filter(|w| w.failure().is_none()) {
                Some(worker) => worker.clone(),
                None => {
                    let worker = TrainerWorker::spawn().map_err(|e| e.to_string())?;
                    if let Some(data) = &state.dataset {
                        worker.send_dataset(data.images());
                    }
                    state.worker = Some(worker.clone());
                    worker
                }
            }
        };
        Backend::start(worker, path)
            .await
            .map_err(|e| e.to_string())
    }

    /// Makes `backend` the one that trains. A run that has started moves over through its
    /// weights file, exactly as a download and a load would.
    async fn switch_to(self: &Rc<Self>, backend: Backend, frames: &Rc<FrameLoop>) {
        let capture = {
            let mut state = self.state.borrow_mut();
            let run_started = state.run_started;
            match &state.engine {
                Some(engine) if run_started && engine.path() != backend.path => {
                    let capture = engine.capture();
                    frames.cancel();
                    if state.phase == Phase::Running {
                        state.phase = Phase::Paused;
                        state.clock.pause(now_ms());
                    }
                    state.switching = true;
                    Some(capture)
                }
                Some(engine) if engine.path() == backend.path => {
                    state.backend = Some(backend);
                    return;
                }
                _ => None,
            }
        };
        let Some(capture) = capture else {
            {
                let mut state = self.state.borrow_mut();
                state.backend = Some(backend);
                state.engine = None;
                state.generation += 1;
                state.grid_pending = false;
            }
            self.ensure_engine();
            return;
        };
        self.render_controls();
        let moved = capture.await.map_err(|e| e.to_string()).and_then(|bytes| {
            let fallback = self.state.borrow().config.clone();
            Checkpoint::from_bytes(&bytes, "", &fallback)
                .map(|checkpoint| backend.load(checkpoint, &bytes))
                .map_err(|e| e.to_string())
        });
        let mut state = self.state.borrow_mut();
        state.switching = false;
        match moved {
            Ok(engine) => {
                state.engine = Some(engine);
                state.backend = Some(backend);
                state.grid_pending = false;
                state.message = Some(format!(
                    "The run moved to {}; press Continue to go on.",
                    state.backend.as_ref().map_or(ComputePath::Cpu, |b| b.path)
                ));
            }
            Err(e) => {
                state.message = Some(format!(
                    "The run could not move: {e}. It stays where it was."
                ));
            }
        }
        drop(state);
        self.refresh_samples(false);
    }

    async fn load_data(self: &Rc<Self>) {
        self.ui.data_retry.set_hidden(true);
        let _ = self.ui.data_status.class_list().remove_1("error");
        set_text(&self.ui.data_status, "Downloading MNIST…");
        let progress = &self.ui.data_progress;
        progress.set_value(0.0);
        let mut on_progress = |received: u64, total: u64| {
            if total > 0 {
                progress.set_max(total as f64);
                progress.set_value(received.min(total) as f64);
            }
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            set_text(
                &self.ui.data_status,
                &format!(
                    "Downloading MNIST… {:.1} of {:.1} MiB",
                    mib(received),
                    mib(total)
                ),
            );
        };
        let base = format!("{}/", dataset::DATA_DIR);
        match dataset::load_mnist(&base, &mut on_progress).await {
            Ok(mnist) => {
                progress.set_value(progress.max());
                set_text(
                    &self.ui.data_status,
                    &format!(
                        "MNIST ready: {} training images, checksums verified.",
                        mnist.images.count
                    ),
                );
                let _ = render::draw_bytes(&self.ui.train_image, mnist.images.image(0));
                set_text(&self.ui.train_label, &format!("label {}", mnist.labels[0]));
                let mut state = self.state.borrow_mut();
                let dataset = Dataset::new(mnist.images);
                if let Some(worker) = &state.worker {
                    worker.send_dataset(dataset.images());
                }
                state.dataset = Some(Rc::new(dataset));
                if state.phase == Phase::Loading {
                    state.phase = Phase::Ready;
                }
            }
            Err(e) => self.data_failed(&e),
        }
        self.ensure_engine();
        self.render_controls();
        self.render_progress();
    }

    fn data_failed(&self, error: &LoadError) {
        log::error!("{error}");
        set_text(&self.ui.data_status, &error.to_string());
        let _ = self.ui.data_status.class_list().add_1("error");
        self.ui.data_retry.set_hidden(false);
    }

    /// With a backend, a fresh (untrained) engine for the current settings, and its samples.
    fn ensure_engine(self: &Rc<Self>) {
        let mut state = self.state.borrow_mut();
        if state.engine.is_some() {
            return;
        }
        let Some(backend) = state.backend.clone() else {
            return;
        };
        match backend.create(state.config.clone()) {
            Ok(engine) => state.engine = Some(engine),
            Err(e) => state.message = Some(e.to_string()),
        }
        drop(state);
        self.refresh_samples(true);
    }

    // ----- the frame loop -------------------------------------------------------------

    /// One animation frame: enqueue steps within the budget, redraw when due. Returns whether
    /// another frame is wanted.
    fn tick(self: &Rc<Self>, now: f64, weak: &Weak<Self>) -> bool {
        let mut state = self.state.borrow_mut();
        if state.phase != Phase::Running {
            return false;
        }
        let Some(data) = state.dataset.clone() else {
            return false;
        };
        let started = now_ms();
        let budget = state.budget_ms;
        let mut enqueued = 0;
        while state.in_flight < MAX_IN_FLIGHT && now_ms() - started < budget {
            let generation = state.generation;
            let Some(engine) = state.engine.as_mut() else {
                break;
            };
            if engine.is_finished() {
                break;
            }
            let report = match engine.step(&data) {
                Ok(report) => report,
                Err(e) => {
                    state.phase = Phase::Paused;
                    state.message = Some(format!("Training stopped: {e}"));
                    drop(state);
                    self.render_controls();
                    return false;
                }
            };
            state.in_flight += 1;
            enqueued += 1;
            spawn(read_step(weak.clone(), generation, report));
        }
        // Adapt the budget: shrink when a frame ran long, grow while there is room.
        let spent = now_ms() - started;
        state.budget_ms = if spent > 12.0 {
            (state.budget_ms * 0.7).max(BUDGET_MS.0)
        } else if enqueued > 0 && spent >= budget {
            (state.budget_ms * 1.1).min(BUDGET_MS.1)
        } else {
            state.budget_ms
        };
        let redraw = now - state.last_redraw >= REDRAW_MS;
        if redraw {
            state.last_redraw = now;
        }
        drop(state);
        if redraw {
            self.refresh_samples(false);
            self.render_chart();
        }
        true
    }

    /// Redraws the 8×8 grid from the current generator (once at a time), and with `untrained`
    /// also the single untrained sample.
    fn refresh_samples(self: &Rc<Self>, untrained: bool) {
        let mut state = self.state.borrow_mut();
        if state.grid_pending {
            return;
        }
        let Some(engine) = &state.engine else {
            return;
        };
        let grid = engine.grid();
        let step = engine.progress().step;
        state.grid_pending = true;
        let generation = state.generation;
        let weak = Rc::downgrade(self);
        spawn(async move {
            let pixels = grid.await;
            let Some(shared) = weak.upgrade() else { return };
            shared.state.borrow_mut().grid_pending = false;
            if shared.state.borrow().generation != generation {
                return;
            }
            match pixels {
                Ok(pixels) => {
                    let _ = render::draw_images(&shared.ui.grid, &pixels, GRID_SIDE, GRID_SIDE);
                    // For the benchmark: when the first generated grid appeared.
                    let root = &shared.ui.root;
                    if !root.has_attribute("data-first-grid-ms") {
                        let _ =
                            root.set_attribute("data-first-grid-ms", &format!("{:.0}", now_ms()));
                    }
                    let _ = shared
                        .ui
                        .root
                        .set_attribute("data-grid-step", &step.to_string());
                    if untrained {
                        let _ = render::draw_images(
                            &shared.ui.untrained,
                            &pixels[..IMAGE_PIXELS],
                            1,
                            1,
                        );
                    }
                    // Stopped, but the model moved on while this was drawn: draw it as it is.
                    let state = shared.state.borrow();
                    let behind = state.phase != Phase::Running
                        && state
                            .engine
                            .as_ref()
                            .is_some_and(|e| e.progress().step != step);
                    drop(state);
                    if behind {
                        shared.refresh_samples(false);
                    }
                }
                Err(e) => shared.device_failed(&e),
            }
        });
    }

    fn device_failed(&self, error: &EngineError) {
        log::error!("{error}");
        let mut state = self.state.borrow_mut();
        state.phase = Phase::Paused;
        state.message = Some(format!("Training is paused: {error}."));
        drop(state);
        self.render_controls();
    }

    // ----- controls ---------------------------------------------------------------------

    fn toggle(self: &Rc<Self>, frames: &Rc<FrameLoop>) {
        let now = now_ms();
        let mut state = self.state.borrow_mut();
        match state.phase {
            Phase::Ready | Phase::Paused => {
                if state.engine.is_none() || state.dataset.is_none() || state.switching {
                    return;
                }
                state.phase = Phase::Running;
                state.run_started = true;
                state.message = None;
                set_text(
                    &self.ui.settings_status,
                    "Locked during the run: only epochs and the snapshot interval can change.",
                );
                if !document().hidden() {
                    state.clock.resume(now);
                }
                drop(state);
                frames.schedule();
            }
            Phase::Running => {
                state.phase = Phase::Paused;
                state.clock.pause(now);
                drop(state);
                frames.cancel();
                // Show the model exactly as it is now.
                self.refresh_samples(false);
            }
            _ => return,
        }
        self.render_controls();
    }

    fn reset(self: &Rc<Self>, frames: &Rc<FrameLoop>) {
        frames.cancel();
        {
            let mut state = self.state.borrow_mut();
            if matches!(state.phase, Phase::Loading | Phase::Unavailable) {
                return;
            }
            state.generation += 1;
            state.phase = Phase::Ready;
            state.engine = None;
            state.run_started = false;
            state.in_flight = 0;
            state.history.clear();
            state.completions.clear();
            state.clock = ActiveClock::default();
            state.grid_pending = false;
            state.message = None;
        }
        self.ui.snapshots.set_inner_html("");
        self.ui.epoch_log.set_inner_html("");
        self.ensure_engine();
        self.render_chart();
        self.render_controls();
        self.render_progress();
    }

    fn visibility_changed(&self, frames: &Rc<FrameLoop>) {
        let now = now_ms();
        let mut state = self.state.borrow_mut();
        if document().hidden() {
            // The browser stops animation frames; the clock stops with them.
            state.clock.pause(now);
        } else if state.phase == Phase::Running {
            state.clock.resume(now);
            drop(state);
            frames.schedule();
        }
    }

    // ----- settings ---------------------------------------------------------------------

    fn fill_settings(&self, config: &TrainingConfig) {
        let Ok(values) = serde_json::to_value(config) else {
            return;
        };
        for field in SETTINGS {
            if let (Some(input), Some(value)) = (Ui::input(field), values.get(field)) {
                input.set_value(&value.to_string());
            }
            if let Some(error) = Ui::field_error(field) {
                set_text(&error, "");
            }
        }
    }

    /// Reads the form into a config, showing each field's problem next to it.
    fn read_settings(&self) -> Result<TrainingConfig, ConfigError> {
        let texts: Vec<(&'static str, String)> = SETTINGS
            .iter()
            .filter_map(|&field| Ui::input(field).map(|input| (field, input.value())))
            .collect();
        let result = TrainingConfig::from_fields(texts.iter().map(|(f, t)| (*f, t.as_str())));
        for field in SETTINGS {
            if let Some(error) = Ui::field_error(field) {
                let text = match &result {
                    Err(e) if e.field == field => e.message.clone(),
                    _ => String::new(),
                };
                set_text(&error, &text);
            }
        }
        result
    }

    fn settings_changed(self: &Rc<Self>) {
        let config = match self.read_settings() {
            Ok(config) => config,
            Err(e) => {
                set_text(&self.ui.settings_status, &format!("Not applied: {e}"));
                return;
            }
        };
        let mut state = self.state.borrow_mut();
        if state.run_started {
            // Only the live settings reach a run under way (the others are locked).
            if let Some(engine) = state.engine.as_mut() {
                engine.set_live_settings(config.epochs, config.snapshot_every);
                let more_to_do = !engine.is_finished();
                if state.phase == Phase::Finished && more_to_do {
                    state.phase = Phase::Paused;
                }
            }
            state.config = config;
            set_text(&self.ui.settings_status, "Applied to the current run.");
        } else {
            let rebuild = state.config != config;
            state.config = config;
            if rebuild {
                state.engine = None;
                state.generation += 1;
                state.grid_pending = false;
            }
            set_text(&self.ui.settings_status, "Settings apply to the next run.");
            drop(state);
            if rebuild {
                self.ensure_engine();
            }
        }
        self.render_progress();
        self.render_controls();
    }

    // ----- weights ----------------------------------------------------------------------

    fn download_weights(self: &Rc<Self>) {
        let state = self.state.borrow();
        let Some(engine) = &state.engine else {
            return;
        };
        let epoch = engine.progress().epoch;
        let capture = engine.capture();
        drop(state);
        set_text(&self.ui.weights_status, "Reading the weights…");
        let weak = Rc::downgrade(self);
        spawn(async move {
            let result = capture.await;
            let Some(shared) = weak.upgrade() else { return };
            let message = match result {
                Ok(bytes) => {
                    let name = format!("mnist-gan-epoch-{epoch}.safetensors");
                    match download_bytes(&bytes, &name, "application/octet-stream") {
                        Ok(()) => format!("Saved {name}."),
                        Err(e) => format!("The download failed: {}", js_message(&e)),
                    }
                }
                Err(e) => format!("Could not read the weights: {e}"),
            };
            set_text(&shared.ui.weights_status, &message);
        });
    }

    fn load_weights(self: &Rc<Self>, file: web_sys::File, frames: &Rc<FrameLoop>) {
        let name = file.name();
        set_text(&self.ui.weights_status, &format!("Reading {name}…"));
        let (weak, frames) = (Rc::downgrade(self), frames.clone());
        spawn(async move {
            let bytes = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
            let Some(shared) = weak.upgrade() else { return };
            let bytes = match bytes {
                Ok(buffer) => js_sys::Uint8Array::new(&buffer).to_vec(),
                Err(e) => {
                    let text = format!("Could not read {name}: {}", js_message(&e));
                    set_text(&shared.ui.weights_status, &text);
                    return;
                }
            };
            shared.apply_weights(&name, &bytes, &frames);
        });
    }

    /// Replaces the model with a parsed weights file; a bad file changes nothing.
    fn apply_weights(self: &Rc<Self>, name: &str, bytes: &[u8], frames: &Rc<FrameLoop>) {
        let fallback = self.state.borrow().config.clone();
        let checkpoint = match Checkpoint::from_bytes(bytes, "", &fallback) {
            Ok(checkpoint) => checkpoint,
            Err(e) => {
                set_text(
                    &self.ui.weights_status,
                    &format!("{name} was not loaded: {e}. The current model is unchanged."),
                );
                return;
            }
        };
        let Some(backend) = self.state.borrow().backend.clone() else {
            set_text(
                &self.ui.weights_status,
                "Weights need a device to load onto.",
            );
            return;
        };
        frames.cancel();
        let config = checkpoint.config.clone();
        let progress = checkpoint.progress;
        let engine = backend.load(checkpoint, bytes);
        {
            let mut state = self.state.borrow_mut();
            state.clock = ActiveClock::default();
            state.generation += 1;
            state.in_flight = 0;
            state.grid_pending = false;
            state.history.clear();
            state.completions.clear();
            state.engine = Some(engine);
            state.config = config.clone();
            state.run_started = true;
            state.message = None;
            if state.phase != Phase::Loading {
                state.phase = if progress.epoch >= config.epochs {
                    Phase::Finished
                } else {
                    Phase::Paused
                };
            }
        }
        self.fill_settings(&config);
        self.ui.snapshots.set_inner_html("");
        self.ui.epoch_log.set_inner_html("");
        set_text(
            &self.ui.weights_status,
            &format!(
                "Loaded {name}: epoch {}, step {}. Press Continue to train on from here, or just look at its samples.",
                progress.epoch, progress.step
            ),
        );
        self.refresh_samples(false);
        self.render_chart();
        self.render_controls();
        self.render_progress();
    }

    // ----- rendering ----------------------------------------------------------------------

    fn render_controls(&self) {
        let state = self.state.borrow();
        let ui = &self.ui;
        let _ = ui.root.set_attribute("data-phase", state.phase.name());
        let ready = state.engine.is_some() && state.dataset.is_some() && !state.switching;
        let (label, enabled) = match state.phase {
            Phase::Loading => ("Train", false),
            Phase::Ready => ("Train", ready),
            Phase::Running => ("Pause", true),
            Phase::Paused => ("Continue", ready),
            Phase::Finished => ("Finished", false),
            Phase::Unavailable => ("Train", false),
        };
        set_text(&ui.train, label);
        ui.train.set_disabled(!enabled);
        ui.reset.set_disabled(!state.run_started);
        ui.download_weights.set_disabled(state.engine.is_none());
        ui.load_weights
            .set_disabled(state.backend.is_none() || state.switching);
        ui.compute_path
            .set_disabled(state.switching || state.phase == Phase::Running);
        for field in SETTINGS {
            if let Some(input) = Ui::input(field) {
                input.set_disabled(state.run_started && !LIVE_SETTINGS.contains(&field));
            }
        }
        if let Some(message) = &state.message {
            set_text(&ui.settings_status, message);
        }
    }

    fn render_progress(&self) {
        let state = self.state.borrow();
        let ui = &self.ui;
        let Some(engine) = &state.engine else {
            return;
        };
        let (config, progress) = (engine.config(), engine.progress());
        let steps_per_epoch = state
            .dataset
            .as_ref()
            .map_or(0, |d| d.batches_per_epoch(config.batch_size));
        // Steps whose statistics are back; the ones still in flight are not counted yet.
        let done = progress
            .step
            .saturating_sub((state.in_flight * config.k) as u64);
        set_text(
            &ui.epoch,
            &format!("{} / {}", progress.epoch, config.epochs),
        );
        set_text(&ui.step, &done.to_string());
        let _ = ui
            .root
            .set_attribute("data-in-flight", &state.in_flight.to_string());
        let rate = match (state.completions.front(), state.completions.back()) {
            (Some(first), Some(last)) if state.completions.len() > 1 && last > first => {
                (state.completions.len() - 1) as f64 / ((last - first) / 1000.0)
            }
            _ => 0.0,
        };
        set_text(
            &ui.speed,
            &if rate > 0.0 {
                format!("{rate:.1}")
            } else {
                "—".into()
            },
        );
        let total_batches = (config.epochs * steps_per_epoch) as f64;
        let done_batches = (progress.epoch * steps_per_epoch + progress.batch) as f64;
        let remaining = (total_batches - done_batches).max(0.0) * config.k as f64;
        let eta = if rate > 0.0 {
            format_duration(remaining / rate)
        } else {
            "—".into()
        };
        set_text(&ui.eta, &eta);
        if let Some(v) = state.history.last() {
            set_text(
                &ui.latest,
                &format!(
                    "D loss {:.4} · G loss {:.4} · D(x) {:.3} · D(G(z)) {:.3}",
                    v.d_loss, v.g_loss, v.d_real, v.d_fake
                ),
            );
        }
    }

    fn render_chart(&self) {
        let state = self.state.borrow();
        if let Err(e) = render::draw_chart(&self.ui.chart, &state.history) {
            log::warn!("chart: {}", js_message(&e));
        }
    }

    fn add_snapshot(&self, epoch: usize, pixels: &[f32]) -> Result<(), JsValue> {
        let doc = document();
        let item = doc.create_element("li")?;
        let canvas: HtmlCanvasElement = doc.create_element("canvas")?.unchecked_into();
        canvas.set_class_name("digit");
        render::draw_images(&canvas, pixels, 1, 1)?;
        canvas.set_attribute("role", "img")?;
        canvas.set_attribute("aria-label", &format!("G(seed) after epoch {epoch}"))?;
        let link: HtmlAnchorElement = doc.create_element("a")?.unchecked_into();
        link.set_href(&canvas.to_data_url()?);
        link.set_download(&format!("{epoch}.png"));
        set_text(&link, &format!("epoch {epoch} (PNG)"));
        item.append_child(&canvas)?;
        item.append_child(&link)?;
        self.ui.snapshots.append_child(&item)?;
        Ok(())
    }
}

/// Waits for one step's results and records them, with the snapshot taken after its epoch.
async fn read_step(
    weak: Weak<Shared>,
    generation: u64,
    report: Pending<Result<StepReport, EngineError>>,
) {
    let report = report.await;
    let Some(shared) = weak.upgrade() else { return };
    let now = now_ms();
    let snapshot = {
        let mut state = shared.state.borrow_mut();
        if state.generation != generation {
            return;
        }
        state.in_flight = state.in_flight.saturating_sub(1);
        let StepReport {
            values,
            finished_epoch,
            snapshot,
        } = match report {
            Ok(report) => report,
            Err(e) => {
                drop(state);
                shared.device_failed(&e);
                return;
            }
        };
        state.history.push(values);
        state.completions.push_back(now);
        while state.completions.len() > 2 && now - state.completions[0] > 5000.0 {
            state.completions.pop_front();
        }
        if !values.is_finite() {
            state.phase = Phase::Paused;
            state.message = Some(format!(
                "Training diverged (a loss is not a finite number: {values:?}); paused."
            ));
        }
        if let Some(epoch) = finished_epoch {
            let seconds = state.clock.lap(now) / 1000.0;
            let line = document().create_element("li").ok();
            if let Some(line) = line {
                set_text(&line, &format!("epoch {epoch}: {seconds:.2} s"));
                let _ = shared.ui.epoch_log.append_child(&line);
            }
            let finished = state.engine.as_ref().is_some_and(Engine::is_finished);
            if finished && state.in_flight == 0 {
                state.phase = Phase::Finished;
                state.clock.pause(now);
            }
        }
        snapshot
    };
    if let Some((epoch, pixels)) = snapshot
        && let Err(e) = shared.add_snapshot(epoch, &pixels)
    {
        log::warn!("snapshot: {}", js_message(&e));
    }
    shared.render_progress();
    let phase = shared.state.borrow().phase;
    if phase != Phase::Running {
        shared.render_controls();
        shared.render_chart();
        shared.refresh_samples(false);
    }
}
