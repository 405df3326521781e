//! The saved runs in IndexedDB: each run's summary (what the list shows) and its checkpoint
//! (weights file, chart, snapshots) under the run's key, in two stores written together in one
//! transaction, so a save cut short leaves the previous one whole. Writing takes the run's
//! [`RunLock`]: a run another tab holds cannot be written here.
//!
//! Version 1 of the database kept one record under `"autosave"` in the store `runs`; listing
//! migrates it into the library once.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbTransactionMode::{Readonly, Readwrite};
use web_sys::{DomException, IdbDatabase, IdbObjectStore, IdbRequest, IdbTransaction};

use super::dom::js_message;
use super::locks::RunLock;
use crate::app::library::{self, RunSummary};
pub use crate::app::saved::SavedRun;

const DATABASE: &str = "mnist-gan-web";
const VERSION: u32 = 3;
const SUMMARIES: &str = "summaries";
const CHECKPOINTS: &str = "checkpoints";
/// The stores of `web::datasets`: the datasets' listings, and their pixels and labels.
pub(super) const DATASETS: &str = "datasets";
pub(super) const DATASET_CONTENTS: &str = "dataset-contents";
/// The single-slot store of version 1, and its one key.
const LEGACY: &str = "runs";
const LEGACY_KEY: &str = "autosave";

/// Why the saved runs could not be read or written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The browser offers no IndexedDB (private mode in some browsers).
    #[error("this browser offers no storage for saved runs")]
    Unavailable,
    /// The site's storage quota is used up.
    #[error("the browser's storage for this site is full")]
    Full,
    /// The browser refused the request: storage disabled, or another failure.
    #[error("the browser refused to store the run ({0})")]
    Refused(String),
    /// A stored record is not one this app wrote.
    #[error("the saved run is unreadable ({0})")]
    Unreadable(String),
}

pub(super) fn refused(value: JsValue) -> StoreError {
    StoreError::Refused(js_message(&value))
}

fn dom_error(error: Option<DomException>, otherwise: &str) -> StoreError {
    match error {
        Some(e) if e.name() == "QuotaExceededError" => StoreError::Full,
        Some(e) => StoreError::Refused(e.message()),
        None => StoreError::Refused(otherwise.into()),
    }
}

/// Resolves with the request's result once it succeeds; its error otherwise.
pub(super) async fn request(request: &IdbRequest) -> Result<JsValue, StoreError> {
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    let outcome = JsFuture::from(promise).await;
    request.set_onsuccess(None);
    request.set_onerror(None);
    match outcome {
        Ok(_) => request.result().map_err(refused),
        Err(_) => Err(dom_error(request.error().ok().flatten(), "unknown error")),
    }
}

/// Resolves when the transaction commits; fails when it aborts (quota, or `abort()`).
pub(super) async fn committed(transaction: &IdbTransaction) -> Result<(), StoreError> {
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        transaction.set_oncomplete(Some(&resolve));
        transaction.set_onerror(Some(&reject));
        transaction.set_onabort(Some(&reject));
    });
    let outcome = JsFuture::from(promise).await;
    let error = transaction.error();
    transaction.set_oncomplete(None);
    transaction.set_onerror(None);
    transaction.set_onabort(None);
    outcome
        .map(|_| ())
        .map_err(|_| dom_error(error, "the save was aborted"))
}

fn factory() -> Result<web_sys::IdbFactory, StoreError> {
    super::dom::window()
        .indexed_db()
        .ok()
        .flatten()
        .ok_or(StoreError::Unavailable)
}

/// Opens the database, creating (or upgrading to) this version's stores (version 3 added the
/// datasets', `web::datasets`).
async fn open() -> Result<IdbDatabase, StoreError> {
    open_at(
        VERSION,
        &[SUMMARIES, CHECKPOINTS, DATASETS, DATASET_CONTENTS],
    )
    .await
}

/// Opens version `version` of the database, creating `stores` if they are missing.
async fn open_at(version: u32, stores: &'static [&'static str]) -> Result<IdbDatabase, StoreError> {
    let opening = factory()?
        .open_with_u32(DATABASE, version)
        .map_err(refused)?;
    // Owned here, dropped once the database is open.
    let upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        let database = event
            .target()
            .and_then(|t| t.dyn_into::<IdbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|r| r.dyn_into::<IdbDatabase>().ok());
        let Some(database) = database else { return };
        for &store in stores {
            if !database.object_store_names().contains(store)
                && let Err(e) = database.create_object_store(store)
            {
                log::warn!("could not create the store {store}: {}", js_message(&e));
            }
        }
    });
    opening.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let database = request(&opening).await;
    opening.set_onupgradeneeded(None);
    database?.dyn_into().map_err(|_| StoreError::Unavailable)
}

/// A transaction over `stores`, and those stores in order.
pub(super) fn transaction(
    database: &IdbDatabase,
    stores: &[&str],
    mode: web_sys::IdbTransactionMode,
) -> Result<(IdbTransaction, Vec<IdbObjectStore>), StoreError> {
    let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
    let transaction = database
        .transaction_with_str_sequence_and_mode(&names, mode)
        .map_err(refused)?;
    let stores = stores
        .iter()
        .map(|name| transaction.object_store(name).map_err(refused))
        .collect::<Result<_, _>>()?;
    Ok((transaction, stores))
}

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<JsValue, StoreError> {
    serde_wasm_bindgen::to_value(value).map_err(|e| StoreError::Refused(e.to_string()))
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    value: JsValue,
) -> Result<Option<T>, StoreError> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    serde_wasm_bindgen::from_value(value)
        .map(Some)
        .map_err(|e| StoreError::Unreadable(e.to_string()))
}

/// Runs `f` on the database and closes it whatever the outcome.
pub(super) async fn with_database<T, F: Future<Output = Result<T, StoreError>>>(
    f: impl FnOnce(IdbDatabase) -> F,
) -> Result<T, StoreError> {
    let database = open().await?;
    let closer = database.clone();
    let result = f(database).await;
    closer.close();
    result
}

/// Opens a transaction that writes run `lock.key()`: its summary and checkpoint.
fn put(
    database: &IdbDatabase,
    lock: &RunLock,
    summary: &RunSummary,
    record: &SavedRun,
) -> Result<IdbTransaction, StoreError> {
    if lock.key() != summary.key {
        return Err(StoreError::Refused(
            "the run's lock is another run's".into(),
        ));
    }
    let key = JsValue::from_str(lock.key());
    let (transaction, stores) = transaction(database, &[SUMMARIES, CHECKPOINTS], Readwrite)?;
    stores[0]
        .put_with_key(&encode(summary)?, &key)
        .map_err(refused)?;
    stores[1]
        .put_with_key(&encode(record)?, &key)
        .map_err(refused)?;
    Ok(transaction)
}

/// Writes the run's summary and checkpoint in place of its previous ones, in one transaction.
pub async fn save(
    lock: &RunLock,
    summary: &RunSummary,
    record: &SavedRun,
) -> Result<(), StoreError> {
    with_database(|database| async move {
        let transaction = put(&database, lock, summary, record)?;
        committed(&transaction).await
    })
    .await
}

/// Writes a save but aborts it before the commit: what a tab closed mid-save leaves (tests).
#[cfg(feature = "test-hooks")]
pub async fn save_interrupted(
    lock: &RunLock,
    summary: &RunSummary,
    record: &SavedRun,
) -> Result<(), StoreError> {
    with_database(|database| async move {
        let transaction = put(&database, lock, summary, record)?;
        transaction.abort().map_err(refused)?;
        match committed(&transaction).await {
            Err(_) => Ok(()),
            Ok(()) => Err(StoreError::Refused("the aborted save committed".into())),
        }
    })
    .await
}

/// The last save of run `key`, if it is saved.
pub async fn load(key: &str) -> Result<Option<SavedRun>, StoreError> {
    with_database(|database| async move {
        let (_transaction, stores) = transaction(&database, &[CHECKPOINTS], Readonly)?;
        let value = request(&stores[0].get(&key.into()).map_err(refused)?).await?;
        decode(value)
    })
    .await
}

/// Every saved run's summary (unreadable ones are skipped, with a warning), after migrating the
/// single-slot autosave of version 1; and why that migration failed, if it did.
pub async fn list() -> Result<(Vec<RunSummary>, Option<String>), StoreError> {
    with_database(|database| async move {
        let migration_error = migrate(&database).await.err();
        let (_transaction, stores) = transaction(&database, &[SUMMARIES], Readonly)?;
        let all = request(&stores[0].get_all().map_err(refused)?).await?;
        let summaries = Array::from(&all)
            .iter()
            .filter_map(|value| match decode::<RunSummary>(value) {
                Ok(summary) => summary,
                Err(e) => {
                    log::warn!("a saved run's summary is skipped: {e}");
                    None
                }
            })
            .collect();
        Ok((summaries, migration_error))
    })
    .await
}

/// Moves the version-1 autosave into the library (once; a second tab doing the same writes the
/// same record). Left in place if it cannot be read.
async fn migrate(database: &IdbDatabase) -> Result<(), String> {
    if !database.object_store_names().contains(LEGACY) {
        return Ok(());
    }
    let legacy: Option<SavedRun> = async {
        let (_transaction, stores) = transaction(database, &[LEGACY], Readonly)?;
        decode(request(&stores[0].get(&LEGACY_KEY.into()).map_err(refused)?).await?)
    }
    .await
    .map_err(|e| e.to_string())?;
    let Some(legacy) = legacy else { return Ok(()) };
    let summary = library::migrate(&legacy)?;
    let write = async {
        let key = JsValue::from_str(&summary.key);
        let (transaction, stores) =
            transaction(database, &[SUMMARIES, CHECKPOINTS, LEGACY], Readwrite)?;
        stores[0]
            .put_with_key(&encode(&summary)?, &key)
            .map_err(refused)?;
        stores[1]
            .put_with_key(&encode(&legacy)?, &key)
            .map_err(refused)?;
        stores[2].delete(&LEGACY_KEY.into()).map_err(refused)?;
        committed(&transaction).await
    };
    write
        .await
        .map_err(|e| format!("the old autosave could not be moved: {e}"))
}

/// Replaces the database with a version-1 one holding `record` as its autosave: what an
/// earlier version of the app left (for the migration's test).
#[cfg(feature = "test-hooks")]
pub async fn replace_with_legacy(record: &SavedRun) -> Result<(), StoreError> {
    let deleting = factory()?.delete_database(DATABASE).map_err(refused)?;
    request(&deleting).await?;
    let database = open_at(1, &[LEGACY]).await?;
    let written = async {
        let (transaction, stores) = transaction(&database, &[LEGACY], Readwrite)?;
        stores[0]
            .put_with_key(&encode(record)?, &LEGACY_KEY.into())
            .map_err(refused)?;
        committed(&transaction).await
    }
    .await;
    database.close();
    written
}

/// Deletes run `lock.key()`.
pub async fn delete(lock: &RunLock) -> Result<(), StoreError> {
    with_database(|database| async move {
        let key = JsValue::from_str(lock.key());
        let (transaction, stores) = transaction(&database, &[SUMMARIES, CHECKPOINTS], Readwrite)?;
        stores[0].delete(&key).map_err(refused)?;
        stores[1].delete(&key).map_err(refused)?;
        committed(&transaction).await
    })
    .await
}

/// Renames run `lock.key()`.
pub async fn rename(lock: &RunLock, name: &str) -> Result<(), StoreError> {
    with_database(|database| async move {
        let key = JsValue::from_str(lock.key());
        let summary = {
            let (_transaction, stores) = transaction(&database, &[SUMMARIES], Readonly)?;
            decode::<RunSummary>(request(&stores[0].get(&key).map_err(refused)?).await?)?
        };
        let Some(mut summary) = summary else {
            return Err(StoreError::Unreadable("the run is no longer saved".into()));
        };
        summary.name = name.to_string();
        let (transaction, stores) = transaction(&database, &[SUMMARIES], Readwrite)?;
        stores[0]
            .put_with_key(&encode(&summary)?, &key)
            .map_err(refused)?;
        committed(&transaction).await
    })
    .await
}
