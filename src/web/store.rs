//! The autosave: the whole run (weights file, chart history, snapshots) as one IndexedDB record,
//! written in one transaction, so a save cut short leaves the previous one whole.

use js_sys::{Function, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransaction, IdbTransactionMode};

use super::dom::{js_message, window};
pub use crate::app::saved::SavedRun;

const DATABASE: &str = "mnist-gan-web";
const STORE: &str = "runs";
const KEY: &str = "autosave";

/// Why the autosave could not be read or written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The browser offers no IndexedDB (private mode in some browsers).
    #[error("this browser offers no storage for the autosave")]
    Unavailable,
    /// The browser refused the request: out of quota, or storage disabled.
    #[error("the browser refused to store the run ({0})")]
    Refused(String),
    /// The saved record is not one this app wrote.
    #[error("the saved run is unreadable ({0})")]
    Unreadable(String),
}

fn refused(value: JsValue) -> StoreError {
    StoreError::Refused(js_message(&value))
}

/// Resolves with the request's result once it succeeds; its error otherwise.
async fn request(request: &IdbRequest) -> Result<JsValue, StoreError> {
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    let outcome = JsFuture::from(promise).await;
    request.set_onsuccess(None);
    request.set_onerror(None);
    match outcome {
        Ok(_) => request.result().map_err(refused),
        Err(_) => Err(StoreError::Refused(
            request
                .error()
                .ok()
                .flatten()
                .map_or_else(|| "unknown error".into(), |e| e.message()),
        )),
    }
}

/// Resolves when the transaction commits; fails when it aborts (quota, or `abort()`).
async fn committed(transaction: &IdbTransaction) -> Result<(), StoreError> {
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        transaction.set_oncomplete(Some(&resolve));
        transaction.set_onerror(Some(&reject));
        transaction.set_onabort(Some(&reject));
    });
    let outcome = JsFuture::from(promise).await;
    let error = transaction.error().map(|e| e.message());
    transaction.set_oncomplete(None);
    transaction.set_onerror(None);
    transaction.set_onabort(None);
    outcome
        .map(|_| ())
        .map_err(|_| StoreError::Refused(error.unwrap_or_else(|| "the save was aborted".into())))
}

/// Opens the database, creating its store on first use.
async fn open() -> Result<IdbDatabase, StoreError> {
    let factory = window()
        .indexed_db()
        .ok()
        .flatten()
        .ok_or(StoreError::Unavailable)?;
    let opening = factory.open_with_u32(DATABASE, 1).map_err(refused)?;
    // Owned here, dropped once the database is open.
    let upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        let database = event
            .target()
            .and_then(|t| t.dyn_into::<IdbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|r| r.dyn_into::<IdbDatabase>().ok());
        if let Some(database) = database
            && let Err(e) = database.create_object_store(STORE)
        {
            log::warn!("could not create the autosave store: {}", js_message(&e));
        }
    });
    opening.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let database = request(&opening).await;
    opening.set_onupgradeneeded(None);
    database?.dyn_into().map_err(|_| StoreError::Unavailable)
}

fn transaction(
    database: &IdbDatabase,
    mode: IdbTransactionMode,
) -> Result<(IdbTransaction, web_sys::IdbObjectStore), StoreError> {
    let transaction = database
        .transaction_with_str_and_mode(STORE, mode)
        .map_err(refused)?;
    let store = transaction.object_store(STORE).map_err(refused)?;
    Ok((transaction, store))
}

/// Opens a transaction that puts `run` in place of the saved one.
async fn put(run: &SavedRun) -> Result<(IdbDatabase, IdbTransaction), StoreError> {
    let value =
        serde_wasm_bindgen::to_value(run).map_err(|e| StoreError::Refused(e.to_string()))?;
    let database = open().await?;
    let (transaction, store) = transaction(&database, IdbTransactionMode::Readwrite)?;
    store
        .put_with_key(&value, &JsValue::from_str(KEY))
        .map_err(refused)?;
    Ok((database, transaction))
}

/// Replaces the saved run with `run`, in one transaction.
pub async fn save(run: &SavedRun) -> Result<(), StoreError> {
    let (database, transaction) = put(run).await?;
    let result = committed(&transaction).await;
    database.close();
    result
}

/// Writes `run` but aborts before the commit: what a tab closed mid-save leaves (for tests).
#[cfg(feature = "test-hooks")]
pub async fn save_interrupted(run: &SavedRun) -> Result<(), StoreError> {
    let (database, transaction) = put(run).await?;
    transaction.abort().map_err(refused)?;
    let result = committed(&transaction).await;
    database.close();
    match result {
        Err(_) => Ok(()),
        Ok(()) => Err(StoreError::Refused("the aborted save committed".into())),
    }
}

/// The saved run, if there is one.
pub async fn load() -> Result<Option<SavedRun>, StoreError> {
    let database = open().await?;
    let (_transaction, store) = transaction(&database, IdbTransactionMode::Readonly)?;
    let value = request(&store.get(&JsValue::from_str(KEY)).map_err(refused)?).await;
    database.close();
    let value = value?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    serde_wasm_bindgen::from_value(value)
        .map(Some)
        .map_err(|e| StoreError::Unreadable(e.to_string()))
}

/// Deletes the saved run.
pub async fn forget() -> Result<(), StoreError> {
    let database = open().await?;
    let (transaction, store) = transaction(&database, IdbTransactionMode::Readwrite)?;
    store.delete(&JsValue::from_str(KEY)).map_err(refused)?;
    let result = committed(&transaction).await;
    database.close();
    result
}
