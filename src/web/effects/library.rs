//! The effects on the saved runs: listing, saving, claiming and letting go, deleting,
//! renaming, downloading, persistent storage.

use std::future::Future;
use std::rc::Rc;

use super::{Effects, spawn};
use crate::app::{Effect, Event};
use crate::web::downloads::download_bytes;
use crate::web::library::RunLibrary;

impl Effects {
    /// Runs one effect on the saved runs.
    pub(super) fn run_library(&self, effect: Effect) {
        match effect {
            Effect::ListRuns => self.list_runs(),
            Effect::ClaimRun { key } => self.with_library(
                {
                    let key = key.clone();
                    |library| async move { library.claim(&key).await }
                },
                |result| Event::RunClaimed { key, result },
            ),
            Effect::ReleaseRun { key } => self.library.release(&key),
            Effect::DeleteRuns { keys } => self.with_library(
                |library| async move { library.delete(&keys).await },
                Event::RunsDeleted,
            ),
            Effect::RenameRun { key, name } => self.with_library(
                |library| async move { library.rename(&key, &name).await },
                Event::RunRenamed,
            ),
            Effect::DownloadRun { key, name } => {
                let library = self.library.clone();
                let dispatch = self.dispatch.clone();
                spawn(async move {
                    let offered = match library.weights(&key).await {
                        Ok(bytes) => download_bytes(&bytes, &name, "application/octet-stream"),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = offered {
                        dispatch.send(Event::DownloadFailed(e));
                    }
                });
            }
            Effect::PersistStorage => {
                let library = self.library.clone();
                let dispatch = self.dispatch.clone();
                spawn(async move {
                    if let Some(figures) = library.persist().await {
                        dispatch.send(Event::StorageChecked(figures));
                    }
                });
            }
            Effect::Save {
                mut summary,
                mut record,
            } => {
                let key = summary.key.clone();
                self.with_library(
                    |library| async move {
                        record.saved_at = js_sys::Date::now();
                        summary.saved_at = record.saved_at;
                        library.save(&summary, &record).await?;
                        Ok((*summary, *record))
                    },
                    |result| Event::Saved { key, result },
                );
            }
            _ => log::warn!("not an effect on the saved runs"),
        }
    }

    fn with_library<T: 'static, F: Future<Output = T> + 'static>(
        &self,
        task: impl FnOnce(Rc<RunLibrary>) -> F,
        event: impl FnOnce(T) -> Event + 'static,
    ) {
        self.reply(task(self.library.clone()), event);
    }

    /// Lists the runs, then waits on each run another tab holds, to list again once it is let
    /// go (a tab closed, or its run left its screen).
    fn list_runs(&self) {
        let library = self.library.clone();
        let dispatch = self.dispatch.clone();
        spawn(async move {
            let listing = library.listing().await;
            if let Ok(listing) = &listing {
                for key in library.to_watch(&listing.elsewhere) {
                    let dispatch = dispatch.clone();
                    library
                        .clone()
                        .watch(key, move || dispatch.send(Event::LibraryChanged));
                }
            }
            dispatch.send(Event::RunsListed(listing));
        });
    }
}
