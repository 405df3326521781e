//! The effects on data: the import worker (the visitor's files staged in it, converted, the
//! result kept), the stored datasets (`web::datasets`), and switching the data the workers
//! train on.

use std::rc::Rc;

use super::{Effects, spawn};
use crate::app::{DataRef, DataSummary, DatasetInfo, Effect, Event, SharedImport};
use crate::data::Dataset;
use crate::protocol::{Command, Reply};
use crate::web::client::{Requests, TrainerWorker};
use crate::web::datasets;
use crate::web::group::TrainerGroup;

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

    /// Starts an import worker and hands it the picked files, unread: it reads and stages them
    /// (`web::unread`), telling how far it got.
    fn read_import(&self) {
        let Some(unread) = self.picked.take() else {
            self.dispatch
                .send_later(Event::FilesStaged(Err("no files were chosen".into())));
            return;
        };
        let worker = match TrainerWorker::spawn() {
            Ok(worker) => worker,
            Err(e) => {
                self.dispatch
                    .send_later(Event::FilesStaged(Err(e.to_string())));
                return;
            }
        };
        *self.import.borrow_mut() = Some(worker.clone());
        let (slot, dispatch) = (self.import.clone(), self.dispatch.clone());
        let progress = {
            let (slot, worker, dispatch) = (slot.clone(), Rc::downgrade(&worker), dispatch.clone());
            move |read, total| {
                // Only the import on screen (not one replaced or cancelled meanwhile).
                if let Some(worker) = worker.upgrade()
                    && is_current(&slot.borrow(), &worker)
                {
                    dispatch.send(Event::ImportProgress { read, total });
                }
            }
        };
        let staged = worker.stage(&unread, progress);
        spawn(async move {
            let result = staged.await.map_err(|e| e.to_string());
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
