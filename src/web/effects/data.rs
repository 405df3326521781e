//! The effects on data: the import worker (the visitor's files staged in it, converted, the
//! result kept), the stored datasets (`web::datasets`), and switching the data the workers
//! train on.

use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::{Effects, spawn};
use crate::app::{DataRef, DataSummary, DatasetInfo, Effect, Event, SharedImport};
use crate::data::Dataset;
use crate::protocol::{Command, Reply};
use crate::web::client::{Requests, TrainerWorker};
use crate::web::datasets;
use crate::web::dom::js_message;
use crate::web::group::TrainerGroup;
use crate::web::picked::PickedFile;

/// Files read at once, at most, and bytes (a part of a folder handed to the worker in one
/// message: the page never holds more than this).
const PART_FILES: usize = 1000;
const PART_BYTES: f64 = 32.0 * 1024.0 * 1024.0;

/// What the page shows of `dataset`, which is `source` (an imported dataset trains on nine
/// tenths of it: the worker holds out the rest for the score, `Dataset::hold_out`).
pub(super) fn summary_of(source: DataRef, dataset: &Dataset) -> DataSummary {
    let count = source.trained_count(dataset.len());
    DataSummary {
        source,
        count,
        held_out: dataset.len() - count,
        first_label: dataset
            .labels()
            .and_then(|l| l.first().copied())
            .unwrap_or_default(),
        first_image: dataset.image(0).to_vec(),
    }
}

impl Effects {
    /// Runs one effect on data.
    pub(super) fn run_data(&self, effect: Effect) {
        match effect {
            Effect::ReadImport => self.read_import(),
            Effect::Import { options } => {
                let Some(worker) = self.import.borrow().clone() else {
                    self.dispatch
                        .send_later(Event::Imported(Err("the import was closed".into())));
                    return;
                };
                let slot = self.import.clone();
                let reply = worker.request(Command::Import {
                    files: Vec::new(),
                    options,
                });
                let dispatch = self.dispatch.clone();
                spawn(async move {
                    let result = match reply.await {
                        Ok(Reply::Imported(data)) => Ok(SharedImport(Rc::new(data))),
                        Ok(other) => Err(other.unexpected().to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    // Only the import on screen answers (not one replaced meanwhile).
                    if is_current(&slot.borrow(), &worker) {
                        dispatch.send(Event::Imported(result));
                    }
                });
            }
            Effect::KeepImport { data, name, expect } => {
                let kept = self.kept.clone();
                self.reply(
                    async move {
                        let info = keep(&data, name, expect).await?;
                        let dataset = datasets::dataset_of(
                            data.0.pixels.to_vec(),
                            data.0.labels.as_ref().map(|l| l.to_vec()),
                        )?;
                        *kept.borrow_mut() = Some((info.sha256.clone(), Rc::new(dataset)));
                        Ok(info)
                    },
                    Event::ImportKept,
                );
            }
            Effect::CloseImport => drop(self.import.borrow_mut().take()),
            Effect::ListDatasets => self.reply(datasets::list(), |result| {
                Event::DatasetsListed(result.map_err(|e| e.to_string()))
            }),
            Effect::SwitchData { to } => self.switch_data(to),
            Effect::DeleteDataset { sha256 } => {
                if self
                    .kept
                    .borrow()
                    .as_ref()
                    .is_some_and(|(h, _)| *h == sha256)
                {
                    drop(self.kept.borrow_mut().take());
                }
                self.reply(
                    async move {
                        let result = datasets::delete(&sha256).await.map_err(|e| e.to_string());
                        (sha256, result)
                    },
                    |(sha256, result)| Event::DatasetDeleted { sha256, result },
                );
            }
            Effect::RenameDataset { sha256, name } => self.reply(
                async move { datasets::rename(&sha256, &name).await },
                |result| Event::DatasetRenamed(result.map_err(|e| e.to_string())),
            ),
            _ => log::warn!("not an effect on data"),
        }
    }

    /// Starts an import worker and stages the picked files in it, a part at a time.
    fn read_import(&self) {
        let files = self.picked.take();
        let worker = match TrainerWorker::spawn() {
            Ok(worker) => worker,
            Err(e) => {
                self.dispatch
                    .send_later(Event::FilesStaged(Err(e.to_string())));
                return;
            }
        };
        *self.import.borrow_mut() = Some(worker.clone());
        let slot = self.import.clone();
        let dispatch = self.dispatch.clone();
        spawn(async move {
            let total = files.len();
            let mut sent = 0;
            let mut result = Ok(());
            for part in parts(&files) {
                if !is_current(&slot.borrow(), &worker) {
                    return; // cancelled, or files picked again
                }
                if let Err(e) = stage(&worker, part).await {
                    result = Err(e);
                    break;
                }
                sent += part.len();
                if is_current(&slot.borrow(), &worker) {
                    dispatch.send(Event::ImportProgress { read: sent, total });
                }
            }
            if is_current(&slot.borrow(), &worker) {
                dispatch.send(Event::FilesStaged(result));
            }
        });
    }

    /// Keeps `to` for every group of workers started from now on, and hands it to the one
    /// running (and to any started meanwhile); on failure the previous data stays.
    fn switch_data(&self, to: DataRef) {
        let mnist = self.mnist.borrow().clone();
        let kept = self.kept.borrow().clone();
        let (images, groups) = (self.images.clone(), self.worker.clone());
        self.reply(
            async move {
                let dataset = match &to.sha256 {
                    None => mnist.ok_or_else(|| "MNIST is not loaded".to_string())?,
                    Some(hash) => match kept {
                        Some((kept, dataset)) if kept == *hash => dataset,
                        _ => Rc::new(datasets::load(hash).await.map_err(|e| e.to_string())?),
                    },
                };
                let previous = images.replace(Some((to.clone(), dataset.clone())));
                let mut sent: Option<Rc<TrainerGroup>> = None;
                loop {
                    let running = groups.borrow().clone().filter(|g| g.failure().is_none());
                    let Some(group) = running else { break };
                    if sent.as_ref().is_some_and(|s| Rc::ptr_eq(s, &group)) {
                        break;
                    }
                    if let Err(e) = group.send_data(&dataset, &to).await {
                        *images.borrow_mut() = previous;
                        return Err(e.to_string());
                    }
                    sent = Some(group);
                }
                Ok(summary_of(to, &dataset))
            },
            Event::DataSwitched,
        );
    }
}

fn is_current(slot: &Option<Rc<TrainerWorker>>, worker: &Rc<TrainerWorker>) -> bool {
    slot.as_ref()
        .is_some_and(|current| Rc::ptr_eq(current, worker))
}

/// `files` in parts of at most [`PART_FILES`] files and about [`PART_BYTES`].
fn parts(files: &[PickedFile]) -> Vec<&[PickedFile]> {
    let mut parts = Vec::new();
    let (mut start, mut bytes) = (0, 0.0);
    for (i, file) in files.iter().enumerate() {
        if i > start && (i - start == PART_FILES || bytes + file.file.size() > PART_BYTES) {
            parts.push(&files[start..i]);
            (start, bytes) = (i, 0.0);
        }
        bytes += file.file.size();
    }
    if start < files.len() {
        parts.push(&files[start..]);
    }
    parts
}

/// Reads `part` (the browser reads the files at once, off this thread) and stages it in the
/// worker, its buffers moved there.
async fn stage(worker: &TrainerWorker, part: &[PickedFile]) -> Result<(), String> {
    let reads: Array = part
        .iter()
        .map(|picked| JsValue::from(picked.file.array_buffer()))
        .collect();
    let buffers = JsFuture::from(Promise::all(&reads))
        .await
        .map_err(|e| format!("a file could not be read ({})", js_message(&e)))?;
    let buffers = Array::from(&buffers);
    let files = Array::new();
    for (picked, buffer) in part.iter().zip(buffers.iter()) {
        let file = Object::new();
        let set = |key: &str, value: &JsValue| Reflect::set(&file, &key.into(), value);
        set("path", &picked.path.as_str().into())
            .and_then(|_| set("bytes", &Uint8Array::new(&buffer)))
            .map_err(|e| js_message(&e))?;
        files.push(&file);
    }
    worker
        .stage_files(&files, &buffers)
        .await
        .map_err(|e| e.to_string())
}

/// Hashes and stores a conversion (refusing one that is not the data a run waits for).
async fn keep(
    data: &SharedImport,
    name: String,
    expect: Option<DataRef>,
) -> Result<DatasetInfo, String> {
    let data = &data.0;
    let labels = data.labels.as_ref().map(|l| l.as_slice());
    let sha256 = datasets::fingerprint(&data.pixels, labels).await?;
    if let Some(expect) = expect
        && expect.sha256.as_deref() != Some(sha256.as_str())
    {
        return Err(format!(
            "these are not the images of “{}” the run trained on (their SHA-256 differs)",
            expect.name
        ));
    }
    let info = DatasetInfo {
        sha256,
        name,
        count: data.count,
        classes: data.classes.clone(),
        labelled: data.labels.is_some(),
        saved_at: js_sys::Date::now(),
    };
    datasets::keep(&info, &data.pixels, labels)
        .await
        .map_err(|e| e.to_string())?;
    Ok(info)
}
