//! The datasets the visitor imported, in the same IndexedDB database as the saved runs: each
//! one's listing (`DatasetInfo`) and its contents (pixels and labels) under its SHA-256, in two
//! stores written together in one transaction, so a store cut short (storage full, a closed
//! tab) keeps nothing half-written.

use js_sys::Array;
use serde_bytes::ByteBuf;
use wasm_bindgen::JsValue;
use web_sys::IdbTransactionMode::{Readonly, Readwrite};

use super::store::{
    StoreError, committed, decode, encode, refused, request, transaction, with_database,
};
use crate::app::DatasetInfo;
use crate::data::Dataset;
use crate::idx::{IMAGE_PIXELS, IdxImages};

/// The store of the listings, and that of the pixels and labels.
use super::store::{DATASET_CONTENTS as CONTENTS, DATASETS as LISTING};

/// A dataset's pixels and labels as stored.
#[derive(serde::Deserialize)]
struct Contents {
    pixels: ByteBuf,
    labels: Option<ByteBuf>,
}

/// The same, borrowed, to store (not copied once more in wasm memory).
#[derive(serde::Serialize)]
struct ContentsRef<'a> {
    pixels: &'a serde_bytes::Bytes,
    labels: Option<&'a serde_bytes::Bytes>,
}

/// The SHA-256 that names a dataset: of its pixels, then its labels (if it has them).
pub async fn fingerprint(pixels: &[u8], labels: Option<&[u8]>) -> Result<String, String> {
    let mut parts = vec![pixels];
    parts.extend(labels);
    super::dataset::sha256_hex_of(&parts).await
}

/// Stores a dataset: its listing and contents in one transaction (both or neither).
pub async fn keep(
    info: &DatasetInfo,
    pixels: &[u8],
    labels: Option<&[u8]>,
) -> Result<(), StoreError> {
    let contents = ContentsRef {
        pixels: serde_bytes::Bytes::new(pixels),
        labels: labels.map(serde_bytes::Bytes::new),
    };
    let (listing, contents) = (encode(info)?, encode(&contents)?);
    with_database(|database| async move {
        let key = JsValue::from_str(&info.sha256);
        let (transaction, stores) = transaction(&database, &[LISTING, CONTENTS], Readwrite)?;
        let put = stores[0]
            .put_with_key(&listing, &key)
            .and_then(|_| stores[1].put_with_key(&contents, &key));
        if let Err(e) = put {
            // Neither is kept: the listing must not outlive contents that were refused.
            let _ = transaction.abort();
            return Err(refused(e));
        }
        committed(&transaction).await
    })
    .await
}

/// Every stored dataset's listing (unreadable ones are skipped, with a warning).
pub async fn list() -> Result<Vec<DatasetInfo>, StoreError> {
    with_database(|database| async move {
        let (_transaction, stores) = transaction(&database, &[LISTING], Readonly)?;
        let all = request(&stores[0].get_all().map_err(refused)?).await?;
        Ok(Array::from(&all)
            .iter()
            .filter_map(|value| match decode::<DatasetInfo>(value) {
                Ok(info) => info,
                Err(e) => {
                    log::warn!("a stored dataset's listing is skipped: {e}");
                    None
                }
            })
            .collect())
    })
    .await
}

/// The stored dataset `sha256`, checked against its name (its SHA-256 computed again).
pub async fn load(sha256: &str) -> Result<Dataset, StoreError> {
    let contents = with_database(|database| async move {
        let (_transaction, stores) = transaction(&database, &[CONTENTS], Readonly)?;
        let value = request(&stores[0].get(&sha256.into()).map_err(refused)?).await?;
        decode::<Contents>(value)
    })
    .await?
    .ok_or_else(|| StoreError::Unreadable("the dataset is no longer stored".into()))?;
    let labels = contents.labels.as_ref().map(|l| l.as_slice());
    let computed = fingerprint(&contents.pixels, labels)
        .await
        .map_err(StoreError::Refused)?;
    if computed != sha256 {
        return Err(StoreError::Unreadable(
            "the stored dataset no longer matches its checksum".into(),
        ));
    }
    dataset_of(
        contents.pixels.into_vec(),
        contents.labels.map(ByteBuf::into_vec),
    )
    .map_err(StoreError::Unreadable)
}

/// Images (and labels) as a dataset, their sizes checked.
pub fn dataset_of(pixels: Vec<u8>, labels: Option<Vec<u8>>) -> Result<Dataset, String> {
    let count = pixels.len() / IMAGE_PIXELS;
    if count == 0 || count * IMAGE_PIXELS != pixels.len() {
        return Err(format!("{} bytes are not whole images", pixels.len()));
    }
    let images = IdxImages { count, pixels };
    match labels {
        Some(labels) => Dataset::labelled(images, labels).map_err(|e| e.to_string()),
        None => Ok(Dataset::new(images)),
    }
}

/// Deletes stored dataset `sha256`.
pub async fn delete(sha256: &str) -> Result<(), StoreError> {
    with_database(|database| async move {
        let key = JsValue::from_str(sha256);
        let (transaction, stores) = transaction(&database, &[LISTING, CONTENTS], Readwrite)?;
        stores[0].delete(&key).map_err(refused)?;
        stores[1].delete(&key).map_err(refused)?;
        committed(&transaction).await
    })
    .await
}

/// Renames stored dataset `sha256`.
pub async fn rename(sha256: &str, name: &str) -> Result<(), StoreError> {
    with_database(|database| async move {
        let key = JsValue::from_str(sha256);
        let info = {
            let (_transaction, stores) = transaction(&database, &[LISTING], Readonly)?;
            decode::<DatasetInfo>(request(&stores[0].get(&key).map_err(refused)?).await?)?
        };
        let Some(mut info) = info else {
            return Err(StoreError::Unreadable(
                "the dataset is no longer stored".into(),
            ));
        };
        info.name = name.to_string();
        let (transaction, stores) = transaction(&database, &[LISTING], Readwrite)?;
        stores[0]
            .put_with_key(&encode(&info)?, &key)
            .map_err(refused)?;
        committed(&transaction).await
    })
    .await
}
