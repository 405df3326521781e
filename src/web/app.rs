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
use super::store::{self, SavedRun};
use super::worker::TrainerWorker;
use crate::config::{ConfigError, TrainingConfig};
use crate::data::Dataset;
use crate::idx::IMAGE_PIXELS;
use crate::path::{ComputePath, GpuProbe, PathPreference, choose_path};
use crate::train::{Progress, StepValues};
use crate::weights::Checkpoint;
use serde_bytes::ByteBuf;

/// Steps enqueued whose statistics have not been read back yet, at most.
pub const MAX_IN_FLIGHT: usize = 3;
/// How often the sample grid and the chart are redrawn while training.
const REDRAW_MS: f64 = 250.0;
/// Bytes reserved in the page's wasm memory at load for the autosave's copies of the weights.
const AUTOSAVE_HEADROOM: usize = 16 << 20;
/// Workers the page starts after one stopped before it gives up.
const MAX_RESTARTS: u32 = 3;
/// How often the memory figures are refreshed while training.
const MEMORY_MS: f64 = 2000.0;
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
    memory: Element,
    settings_status: Element,
    saved_run: HtmlElement,
    saved_status: Element,
    resume: HtmlButtonElement,
    forget: HtmlButtonElement,
    rollback: HtmlButtonElement,
    autosave_every: HtmlInputElement,
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
            memory: by_id("memory")?,
            settings_status: by_id("settings-status")?,
            saved_run: by_id("saved-run")?,
            saved_status: by_id("saved-status")?,
            resume: by_id("resume")?,
            forget: by_id("forget")?,
            rollback: by_id("rollback")?,
            autosave_every: by_id("autosave-every")?,
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
    last_memory: f64,
    budget_ms: f64,
    message: Option<String>,
    /// Snapshots of G(seed) so far: epoch and pixels (they go into the autosave).
    snapshots: Vec<(usize, Vec<f32>)>,
    /// Autosave after every this many epochs; 0 turns it off.
    autosave_every: usize,
    /// The last good save (from IndexedDB at start, then each autosave): resume and roll back.
    saved: Option<SavedRun>,
    /// The run produced a non-finite loss or weight; it may be rolled back.
    diverged: bool,
    /// A new worker is being started after the last one stopped.
    recovering: bool,
    /// Workers started after one stopped, since the page loaded.
    restarts: u32,
}

struct Shared {
    ui: Ui,
    state: RefCell<State>,
    /// The frame loop, for work that starts outside an event (recovering from a lost worker).
    frames: RefCell<Weak<FrameLoop>>,
    /// This, for callbacks that must not keep it alive.
    weak: RefCell<Weak<Shared>>,
}

/// The running page. Dropping it cancels the frame loop and removes every listener.
pub struct App {
    shared: Rc<Shared>,
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
                last_memory: 0.0,
                budget_ms: 4.0,
                message: None,
                snapshots: Vec::new(),
                autosave_every: 1,
                saved: None,
                diverged: false,
                recovering: false,
                restarts: 0,
            }),
            frames: RefCell::new(Weak::new()),
            weak: RefCell::new(Weak::new()),
        });
        let frames = {
            let weak = Rc::downgrade(&shared);
            FrameLoop::new(move |now| weak.upgrade().is_some_and(|s| s.tick(now, &weak)))
        };
        *shared.frames.borrow_mut() = Rc::downgrade(&frames);
        *shared.weak.borrow_mut() = Rc::downgrade(&shared);
        shared.fill_settings(&TrainingConfig::default());
        shared.ui.autosave_every.set_value("1");
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
            boot.check_saved_run().await;
        });
        Ok(Self {
            shared,
            _frames: frames,
            _listeners: listeners,
        })
    }
}

impl App {
    /// Destroys the worker's WebGPU device (see [`super::lose_gpu_device`]).
    pub fn lose_gpu_device(&self) {
        if let Some(worker) = &self.shared.state.borrow().worker {
            worker.lose_gpu_device();
        }
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
    listeners.push(on(&ui.resume, "click", |s, f, _| s.resume_saved(f)));
    listeners.push(on(&ui.rollback, "click", |s, f, _| s.resume_saved(f)));
    listeners.push(on(&ui.forget, "click", |s, _, _| {
        let s = s.clone();
        spawn(async move { s.forget_saved().await });
    }));
    listeners.push(on(&ui.autosave_every, "input", |s, _, _| {
        let text = s.ui.autosave_every.value();
        match text.trim().parse::<usize>() {
            Ok(every) => {
                s.state.borrow_mut().autosave_every = every;
                set_text(
                    &s.ui.saved_status,
                    &match every {
                        0 => "Autosave is off.".to_string(),
                        1 => "Autosave after every epoch.".to_string(),
                        n => format!("Autosave every {n} epochs."),
                    },
                );
            }
            Err(_) => set_text(
                &s.ui.saved_status,
                "Autosave: enter a whole number of epochs (0 turns it off).",
            ),
        }
    }));
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
    // Enter in a field submits the form: that must not navigate away from the run.
    if let Ok(form) = by_id::<web_sys::EventTarget>("settings") {
        listeners.push(on(&form, "submit", |_, _, event| event.prevent_default()));
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
                    let weak = self.weak.borrow().clone();
                    worker.set_on_stop(move |reason| {
                        if let Some(shared) = weak.upgrade() {
                            shared.device_failed(&EngineError::Worker(reason.to_string()));
                        }
                    });
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
                    let capture = engine.capture(false);
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
                // Grow the page's wasm memory now, while loading, by what an autosave passes
                // through it (a weights file, twice): growing it mid-training stalls a frame.
                drop(Vec::<u8>::with_capacity(AUTOSAVE_HEADROOM));
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
        let every = state.autosave_every;
        while state.in_flight < MAX_IN_FLIGHT && now_ms() - started < budget {
            let generation = state.generation;
            let Some(engine) = state.engine.as_mut() else {
                break;
            };
            if engine.is_finished() {
                break;
            }
            let epoch_before = engine.progress().epoch;
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
            // The model right after an epoch, captured before the next step is enqueued.
            let epoch = engine.progress().epoch;
            let save =
                (epoch > epoch_before && every > 0 && (epoch % every == 0 || engine.is_finished()))
                    .then(|| (engine.progress(), engine.capture(true)));
            state.in_flight += 1;
            enqueued += 1;
            spawn(read_step(weak.clone(), generation, report));
            if let Some((progress, capture)) = save {
                spawn(autosave(weak.clone(), generation, progress, capture));
            }
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
        let memory_due = now - state.last_memory >= MEMORY_MS;
        if memory_due {
            state.last_memory = now;
        }
        drop(state);
        if redraw {
            self.refresh_samples(false);
            self.render_chart();
        }
        if memory_due {
            self.refresh_memory();
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

    /// Shows the memory of the page (wasm, JS heap) and of the worker (wasm, device pool); the
    /// soak benchmark reads the same figures from `data-memory`.
    fn refresh_memory(self: &Rc<Self>) {
        let Some(stats) = self.state.borrow().engine.as_ref().map(Engine::stats) else {
            return;
        };
        let weak = Rc::downgrade(self);
        spawn(async move {
            let Ok(stats) = stats.await else { return };
            let Some(shared) = weak.upgrade() else { return };
            let js_heap = super::dom::window()
                .performance()
                .and_then(|p| js_sys::Reflect::get(&p, &"memory".into()).ok())
                .and_then(|m| js_sys::Reflect::get(&m, &"usedJSHeapSize".into()).ok())
                .and_then(|v| v.as_f64());
            let page_wasm = super::worker::wasm_memory_bytes();
            let mb = |bytes: f64| format!("{:.0} MB", bytes / 1e6);
            let device = stats.device_reserved.map_or_else(|| "—".to_string(), mb);
            let page = mb(page_wasm + js_heap.unwrap_or(0.0));
            let text = format!("{} · {device} · {page}", mb(stats.wasm_bytes));
            set_text(&shared.ui.memory, &text);
            let figures = serde_json::json!({
                "page_wasm": page_wasm,
                "page_js_heap": js_heap,
                "worker_wasm": stats.wasm_bytes,
                "device_in_use": stats.device_in_use,
                "device_reserved": stats.device_reserved,
            });
            let _ = shared
                .ui
                .root
                .set_attribute("data-memory", &figures.to_string());
        });
    }

    fn device_failed(self: &Rc<Self>, error: &EngineError) {
        log::error!("{error}");
        let mut state = self.state.borrow_mut();
        state.phase = Phase::Paused;
        state.message = Some(format!("Training is paused: {error}."));
        let lost = state.worker.as_ref().is_some_and(|w| w.failure().is_some());
        if lost && !state.recovering {
            // A worker that cannot run at all would stop again at once: give up after a few.
            state.restarts += 1;
            if state.restarts > MAX_RESTARTS {
                state.message = Some(format!(
                    "The trainer keeps stopping ({error}). Reload the page to try again."
                ));
            } else {
                state.recovering = true;
                let shared = self.clone();
                spawn(async move { shared.recover().await });
            }
        }
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
            state.snapshots.clear();
            state.diverged = false;
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
        let capture = engine.capture(false);
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
        self.install(name, bytes, None, frames);
    }

    /// Installs a weights file, with the chart and snapshots of a saved run when resuming one.
    fn install(
        self: &Rc<Self>,
        name: &str,
        bytes: &[u8],
        saved: Option<&SavedRun>,
        frames: &Rc<FrameLoop>,
    ) {
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
            state.history = saved.map(SavedRun::history_values).unwrap_or_default();
            state.snapshots.clear();
            state.completions.clear();
            state.engine = Some(engine);
            state.config = config.clone();
            state.run_started = true;
            state.message = None;
            state.diverged = false;
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
        for (epoch, pixels) in saved.map_or(&[][..], |run| &run.snapshots[..]) {
            self.record_snapshot(*epoch, store::bytes_to_floats(pixels));
        }
        set_text(
            &self.ui.weights_status,
            &format!(
                "Loaded {name}: epoch {}, step {}. Press Continue to train on from here, or just look at its samples.",
                progress.epoch, progress.step
            ),
        );
        self.render_saved();
        self.refresh_samples(false);
        self.render_chart();
        self.render_controls();
        self.render_progress();
    }

    // ----- autosave, roll-back and recovery -------------------------------------------------

    /// Offers the run saved in IndexedDB, if there is one.
    async fn check_saved_run(self: &Rc<Self>) {
        match store::load().await {
            Ok(saved) => self.state.borrow_mut().saved = saved,
            Err(e) => set_text(
                &self.ui.saved_status,
                &format!("Autosave unavailable: {e}."),
            ),
        }
        self.render_saved();
        self.render_controls();
    }

    fn render_saved(&self) {
        let state = self.state.borrow();
        self.ui.saved_run.set_hidden(state.saved.is_none());
        if let Some(saved) = &state.saved {
            let when = js_sys::Date::new(&JsValue::from_f64(saved.saved_at));
            set_text(
                &self.ui.resume,
                &format!("Resume from epoch {}", saved.epoch),
            );
            let _ = self
                .ui
                .saved_run
                .set_attribute("data-epoch", &saved.epoch.to_string());
            let text = format!(
                "Saved run: epoch {}, step {}, saved {}.",
                saved.epoch,
                saved.step,
                String::from(when.to_locale_time_string("default"))
            );
            if let Some(line) = self
                .ui
                .saved_run
                .query_selector(".saved-summary")
                .ok()
                .flatten()
            {
                set_text(&line, &text);
            }
        }
    }

    /// Goes back to the last save: the weights, optimizer state, position, chart and snapshots.
    fn resume_saved(self: &Rc<Self>, frames: &Rc<FrameLoop>) {
        let Some(saved) = self.state.borrow().saved.clone() else {
            return;
        };
        let fallback = self.state.borrow().config.clone();
        if let Err(e) = Checkpoint::from_bytes(&saved.weights, "", &fallback) {
            set_text(
                &self.ui.saved_status,
                &format!("The saved run cannot be resumed: {e}."),
            );
            return;
        }
        self.install("the saved run", &saved.weights, Some(&saved), frames);
        set_text(
            &self.ui.saved_status,
            &format!("Resumed at epoch {}, step {}.", saved.epoch, saved.step),
        );
    }

    async fn forget_saved(self: &Rc<Self>) {
        match store::forget().await {
            Ok(()) => {
                self.state.borrow_mut().saved = None;
                set_text(&self.ui.saved_status, "The saved run is forgotten.");
            }
            Err(e) => set_text(
                &self.ui.saved_status,
                &format!("Could not forget the saved run: {e}."),
            ),
        }
        self.render_saved();
        self.render_controls();
    }

    /// The worker stopped (its GPU device was lost, or it crashed): a new one takes over from
    /// the last save.
    async fn recover(self: &Rc<Self>) {
        let Some(frames) = self.frames.borrow().upgrade() else {
            return;
        };
        frames.cancel();
        {
            let mut state = self.state.borrow_mut();
            state.worker = None; // terminates the stopped worker
            state.backend = None;
            state.engine = None;
            state.generation += 1;
            state.in_flight = 0;
            state.grid_pending = false;
        }
        set_text(
            &self.ui.saved_status,
            "The trainer stopped; starting a new one…",
        );
        self.choose_backend(&frames).await;
        let saved = self.state.borrow().saved.clone();
        let text = match saved {
            Some(saved) => {
                self.install("the last save", &saved.weights, Some(&saved), &frames);
                format!(
                    "The trainer stopped and was restarted from the last save (epoch {}, step {}). Press Continue.",
                    saved.epoch, saved.step
                )
            }
            None => "The trainer stopped and was restarted; with no save yet, the run starts over."
                .to_string(),
        };
        let mut state = self.state.borrow_mut();
        state.recovering = false;
        state.message = Some(text.clone());
        drop(state);
        set_text(&self.ui.saved_status, &text);
        self.render_controls();
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
        let rollback = state.saved.as_ref().filter(|_| state.diverged);
        ui.rollback.set_hidden(rollback.is_none());
        if let Some(saved) = rollback {
            set_text(
                &ui.rollback,
                &format!("Roll back to epoch {} (step {})", saved.epoch, saved.step),
            );
        }
        ui.resume.set_disabled(
            state.backend.is_none()
                || state.dataset.is_none()
                || state.switching
                || state.phase == Phase::Running,
        );
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

    fn record_snapshot(&self, epoch: usize, pixels: Vec<f32>) {
        if let Err(e) = self.add_snapshot(epoch, &pixels) {
            log::warn!("snapshot: {}", js_message(&e));
        }
        self.state.borrow_mut().snapshots.push((epoch, pixels));
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
        if !values.is_finite() && !state.diverged {
            state.phase = Phase::Paused;
            state.diverged = true;
            state.message = Some(format!(
                "Training diverged (a loss is not a finite number: {values:?}) and stopped. {}",
                rollback_hint(&state)
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
    if let Some((epoch, pixels)) = snapshot {
        shared.record_snapshot(epoch, pixels);
    }
    shared.render_progress();
    let phase = shared.state.borrow().phase;
    if phase != Phase::Running {
        shared.render_controls();
        shared.render_chart();
        shared.refresh_samples(false);
    }
}

fn rollback_hint(state: &State) -> String {
    match &state.saved {
        Some(saved) => format!(
            "Roll back to the last save (epoch {}), or Reset.",
            saved.epoch
        ),
        None => "There is no save to roll back to: Reset to start over.".to_string(),
    }
}

/// Saves the run as it was right after an epoch (`capture` was taken then), unless it diverged.
async fn autosave(
    weak: Weak<Shared>,
    generation: u64,
    progress: Progress,
    capture: Pending<Result<Vec<u8>, EngineError>>,
) {
    let bytes = capture.await;
    let Some(shared) = weak.upgrade() else { return };
    let run = {
        let state = shared.state.borrow();
        if state.generation != generation {
            return;
        }
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(EngineError::Diverged(e)) => {
                drop(state);
                let mut state = shared.state.borrow_mut();
                state.phase = Phase::Paused;
                state.diverged = true;
                state.message = Some(format!(
                    "Training diverged (the weights are no longer finite numbers: {e}) and stopped. {}",
                    rollback_hint(&state)
                ));
                drop(state);
                shared.render_controls();
                return;
            }
            Err(e) => {
                drop(state);
                let text = format!("Autosave failed: {e}. The previous save is kept.");
                set_text(&shared.ui.saved_status, &text);
                return;
            }
        };
        let batches = state
            .dataset
            .as_ref()
            .map_or(0, |d| d.batches_per_epoch(state.config.batch_size));
        let recorded = (progress.epoch * batches + progress.batch).min(state.history.len());
        let history = &state.history[..recorded];
        if state.diverged || !history.iter().all(StepValues::is_finite) {
            return; // never replace a good save with a diverged run
        }
        SavedRun {
            weights: ByteBuf::from(bytes),
            epoch: progress.epoch,
            step: progress.step,
            history: SavedRun::encode_history(history),
            snapshots: state
                .snapshots
                .iter()
                .filter(|(epoch, _)| *epoch <= progress.epoch)
                .map(|(epoch, pixels)| (*epoch, store::floats_to_bytes(pixels)))
                .collect(),
            saved_at: js_sys::Date::now(),
        }
    };
    let text = match store::save(&run).await {
        Ok(()) => {
            let text = format!("Autosaved at epoch {}, step {}.", run.epoch, run.step);
            shared.state.borrow_mut().saved = Some(run);
            text
        }
        Err(e) => format!("Autosave failed: {e}. Training goes on; the previous save is kept."),
    };
    shared.render_saved();
    set_text(&shared.ui.saved_status, &text);
}
