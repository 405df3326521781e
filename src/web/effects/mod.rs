//! The one place where the page acts on the world: the worker ([`worker`]), the saved runs
//! ([`library`]), downloads, animation frames. Each [`Effect`] runs here, and what comes of it
//! returns as an [`Event`] through the [`Dispatch`] (always later, never inside the update that
//! asked for it).

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

mod data;
mod library;
mod worker;

use super::calibrations;
use super::client::{Requests, TrainerWorker};
use super::dispatch::Dispatch;
use super::downloads::{download_bytes, download_canvas};
use super::frame::FrameLoop;
use super::gpu;
use super::group::TrainerGroup;
use super::library::RunLibrary;
use super::picked::Picked;
use crate::app::{Effect, Event};
use crate::data::{DataRef, Dataset};
use crate::protocol::{Command, Reply, TrainerError};

/// Bytes reserved in the page's wasm memory at load for the autosave's copies of the weights.
const AUTOSAVE_HEADROOM: usize = 16 << 20;

fn spawn(future: impl Future<Output = ()> + 'static) {
    wasm_bindgen_futures::spawn_local(future);
}

/// A value the effects keep, shared with the tasks they start.
type Slot<T> = Rc<RefCell<Option<T>>>;

/// What the effects keep between calls: the worker, the images for each new worker, frames.
pub struct Effects {
    dispatch: Dispatch,
    frames: Rc<FrameLoop>,
    /// The workers (shared with the task that loads MNIST, which hands them the images).
    worker: Rc<RefCell<Option<Rc<TrainerGroup>>>>,
    /// The images in use, for every worker started once they are loaded.
    images: Slot<(DataRef, Rc<Dataset>)>,
    /// MNIST, once loaded (to switch back to it).
    mnist: Slot<Rc<Dataset>>,
    /// The dataset stored last, and its SHA-256 (put to use without reading it back).
    kept: Slot<(String, Rc<Dataset>)>,
    /// The files picked for an import (collected by the views).
    picked: Picked,
    /// The import worker, while an import is open (its memory goes with it).
    import: Slot<Rc<TrainerWorker>>,
    /// The quality classifier's file, for every worker started once it is loaded.
    classifier: Rc<RefCell<Option<Rc<Vec<u8>>>>>,
    /// The saved runs, the runs this tab holds, the channel to other tabs.
    library: Rc<RunLibrary>,
}

impl Effects {
    /// Effects that report through `dispatch`, schedule `frames` and import the files
    /// `picked` holds.
    pub fn new(dispatch: Dispatch, frames: Rc<FrameLoop>, picked: Picked) -> Self {
        let library = {
            let dispatch = dispatch.clone();
            RunLibrary::new(move || dispatch.send(Event::LibraryChanged))
        };
        Self {
            dispatch,
            frames,
            worker: Rc::new(RefCell::new(None)),
            images: Rc::new(RefCell::new(None)),
            mnist: Rc::new(RefCell::new(None)),
            kept: Rc::new(RefCell::new(None)),
            picked,
            import: Rc::new(RefCell::new(None)),
            classifier: Rc::new(RefCell::new(None)),
            library: Rc::new(library),
        }
    }

    /// The group of workers, when one runs.
    pub fn worker(&self) -> Option<Rc<TrainerGroup>> {
        self.worker.borrow().clone()
    }

    /// Sends `request`'s outcome back as an event, once it arrives.
    fn reply<T: 'static>(
        &self,
        request: impl Future<Output = T> + 'static,
        event: impl FnOnce(T) -> Event + 'static,
    ) {
        let dispatch = self.dispatch.clone();
        spawn(async move { dispatch.send(event(request.await)) });
    }

    /// Asks the worker; without one, the answer is an error.
    fn ask(&self, command: Command) -> impl Future<Output = Result<Reply, TrainerError>> + 'static {
        let reply = self.worker().map(|worker| worker.request(command));
        async move {
            match reply {
                Some(reply) => reply.await,
                None => Err(TrainerError::Worker("no worker is running".into())),
            }
        }
    }

    /// Runs one effect.
    pub fn run(&self, effect: Effect) {
        match effect {
            Effect::ProbeGpu => self.reply(gpu::probe(), Event::GpuProbed),
            Effect::StartPath {
                path,
                workers,
                products,
            } => self.start_path(path, workers, products),
            Effect::DropWorker => drop(self.worker.borrow_mut().take()),
            Effect::LoadData => self.load_data(),
            Effect::LoadReferences => {
                self.reply(super::dataset::load_references(), Event::ReferencesLoaded);
            }
            Effect::Download { name, bytes } => {
                if let Err(e) = download_bytes(&bytes, &name, "application/octet-stream") {
                    self.dispatch.send_later(Event::DownloadFailed(e));
                }
            }
            Effect::DownloadCanvas { id, name } => {
                if let Err(e) = download_canvas(id, &name) {
                    self.dispatch.send_later(Event::DownloadFailed(e));
                }
            }
            Effect::StoreCalibrations(json) => calibrations::store(&json),
            Effect::ScheduleFrame => self.frames.schedule(),
            Effect::CancelFrame => self.frames.cancel(),
            library @ (Effect::ListRuns
            | Effect::ClaimRun { .. }
            | Effect::ReleaseRun { .. }
            | Effect::DeleteRuns { .. }
            | Effect::RenameRun { .. }
            | Effect::DownloadRun { .. }
            | Effect::PersistStorage
            | Effect::Save { .. }) => self.run_library(library),
            data @ (Effect::ReadImport
            | Effect::Import { .. }
            | Effect::KeepImport { .. }
            | Effect::CloseImport
            | Effect::ListDatasets
            | Effect::SwitchData { .. }
            | Effect::DeleteDataset { .. }
            | Effect::RenameDataset { .. }) => self.run_data(data),
            worker => self.run_worker(worker),
        }
    }
}
