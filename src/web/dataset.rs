//! MNIST from the page's own origin: fetched with progress, its SHA-256 checked with Web
//! Crypto, decompressed by the browser's `DecompressionStream`, parsed by the core, and kept in
//! the Cache Storage so a reload does not fetch it again.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, ReadableStreamDefaultReader, Response};

use super::dom::{js_message, window};
use crate::data::Dataset;
use crate::idx::{IdxError, parse_images, parse_labels};
use crate::model::ModelKind;
use crate::quality::reference::{ReferenceCurve, reference_file};

/// Where the page serves the dataset (copied there by `index.html`).
pub const DATA_DIR: &str = "data/mnist";
/// The Cache Storage bucket; bump it when the files change.
pub const CACHE_NAME: &str = "mnist-gan-web-mnist-v1";
const SUMS: &str = include_str!("../../www/data/mnist/SHA256SUMS");
/// Where the page serves the quality classifier, and its checksum.
pub const QUALITY_DIR: &str = "data/quality";
const QUALITY_SUMS: &str = include_str!("../../www/data/quality/SHA256SUMS");

/// A dataset file and its expected SHA-256 (of the gzipped bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// File name in [`DATA_DIR`].
    pub name: String,
    /// Lower-case hex SHA-256 of the file as served.
    pub sha256: String,
}

/// The expected sums, from the committed `SHA256SUMS` (`HASH  NAME` lines).
pub fn expected_sums() -> Vec<DataFile> {
    SUMS.lines()
        .filter_map(|line| {
            let (hash, name) = line.split_once(char::is_whitespace)?;
            Some(DataFile {
                name: name.trim().to_string(),
                sha256: hash.to_ascii_lowercase(),
            })
        })
        .collect()
}

/// The committed file called `name`.
pub fn data_file(name: &str) -> DataFile {
    expected_sums()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name} is listed in SHA256SUMS"))
}

/// The quality classifier's file and its expected SHA-256.
pub fn classifier_file() -> DataFile {
    let (hash, name) = QUALITY_SUMS
        .split_once(char::is_whitespace)
        .unwrap_or(("", "classifier.safetensors"));
    DataFile {
        name: name.trim().to_string(),
        sha256: hash.to_ascii_lowercase(),
    }
}

/// Downloads the quality classifier's file and checks its SHA-256 (cached like MNIST).
pub async fn load_classifier() -> Result<Vec<u8>, LoadError> {
    let expected = classifier_file();
    let url = format!("{QUALITY_DIR}/{}", expected.name);
    fetch_verified(&url, &expected, &mut |_| {}, &mut |_| {}).await
}

/// Every model's reference curve the page's origin serves (`data/quality/`), read with the
/// browser's JSON parser; one that cannot be read is left out (its chart has no dashed curve).
pub async fn load_references() -> Vec<(ModelKind, ReferenceCurve)> {
    let mut curves = Vec::new();
    for model in ModelKind::ALL {
        let Some(name) = reference_file(model) else {
            continue;
        };
        let url = format!("{QUALITY_DIR}/{name}");
        let curve = async {
            let response: Response = promise(Ok(window().fetch_with_str(&url)))
                .await?
                .dyn_into()?;
            if !response.ok() {
                return Err(JsValue::from_str(&response.status_text()));
            }
            let json = promise(response.json()).await?;
            serde_wasm_bindgen::from_value::<ReferenceCurve>(json).map_err(JsValue::from)
        };
        match curve.await {
            Ok(curve) => curves.push((model, curve)),
            Err(e) => log::warn!("{url}: no reference curve ({})", js_message(&e)),
        }
    }
    curves
}

/// Every way loading the dataset can fail, each with a message for the page.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    /// The server answered with an error status.
    #[error("{file}: the server answered {status} {status_text}")]
    Http {
        /// The file.
        file: String,
        /// HTTP status.
        status: u16,
        /// Its text.
        status_text: String,
    },
    /// The request failed (offline, blocked, interrupted).
    #[error("{file}: the download failed ({message}). Check the connection and retry.")]
    Network {
        /// The file.
        file: String,
        /// The browser's message.
        message: String,
    },
    /// The bytes are not the committed file.
    #[error(
        "{file}: checksum mismatch (expected {expected}, got {actual}); the download is corrupt or the wrong file"
    )]
    Checksum {
        /// The file.
        file: String,
        /// Expected SHA-256.
        expected: String,
        /// SHA-256 of what arrived.
        actual: String,
    },
    /// The gzip stream is broken.
    #[error("{file}: the file could not be decompressed ({message})")]
    Gzip {
        /// The file.
        file: String,
        /// The browser's message.
        message: String,
    },
    /// The decompressed bytes are not valid IDX.
    #[error("{file}: {source}")]
    Idx {
        /// The file.
        file: String,
        /// What the parser found.
        source: IdxError,
    },
}

/// Bytes received so far and the total expected (0 when unknown), over all files.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

async fn promise(value: Result<js_sys::Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(value?).await
}

/// Lower-case hex SHA-256 of `bytes` through Web Crypto.
pub async fn sha256_hex(bytes: &[u8]) -> Result<String, String> {
    sha256_hex_of(&[bytes]).await
}

/// Lower-case hex SHA-256 of `parts`, one after the other (copied into one JavaScript buffer,
/// never twice into wasm memory).
pub async fn sha256_hex_of(parts: &[&[u8]]) -> Result<String, String> {
    let subtle = window().crypto().map_err(|e| js_message(&e))?.subtle();
    let total: usize = parts.iter().map(|part| part.len()).sum();
    let data = Uint8Array::new_with_length(total as u32);
    let mut offset = 0;
    for part in parts {
        data.subarray(offset as u32, (offset + part.len()) as u32)
            .copy_from(part);
        offset += part.len();
    }
    let digest = promise(subtle.digest_with_str_and_buffer_source("SHA-256", &data))
        .await
        .map_err(|e| js_message(&e))?;
    let digest = Uint8Array::new(&digest).to_vec();
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads a response body chunk by chunk, reporting each chunk's size.
async fn read_body(
    file: &str,
    response: &Response,
    on_chunk: &mut dyn FnMut(u64),
) -> Result<Vec<u8>, LoadError> {
    let network = |e: JsValue| LoadError::Network {
        file: file.to_string(),
        message: js_message(&e),
    };
    let Some(body) = response.body() else {
        return Ok(Vec::new());
    };
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(network)?;
        let done = Reflect::get(&chunk, &"done".into())
            .map(|d| d.as_bool().unwrap_or(true))
            .unwrap_or(true);
        if done {
            break;
        }
        let value = Reflect::get(&chunk, &"value".into()).map_err(network)?;
        let part = Uint8Array::new(&value);
        on_chunk(u64::from(part.length()));
        let start = bytes.len();
        bytes.resize(start + part.length() as usize, 0);
        part.copy_to(&mut bytes[start..]);
    }
    Ok(bytes)
}

/// Decompresses gzip bytes with the browser's `DecompressionStream`.
pub async fn gunzip(file: &str, bytes: &[u8]) -> Result<Vec<u8>, LoadError> {
    let gzip = |e: JsValue| LoadError::Gzip {
        file: file.to_string(),
        message: js_message(&e),
    };
    let inflated = super::decode::inflate(bytes, "gzip", u64::MAX).await;
    // No limit: never cut short.
    Ok(inflated.map_err(gzip)?.unwrap_or_default())
}

async fn open_cache() -> Option<Cache> {
    // Cache Storage exists only in secure contexts (https, localhost); without it, just fetch.
    let caches = window().caches().ok()?;
    promise(Ok(caches.open(CACHE_NAME)))
        .await
        .ok()
        .map(JsCast::unchecked_into)
}

async fn cached(cache: &Cache, url: &str) -> Option<Vec<u8>> {
    let hit = promise(Ok(cache.match_with_str(url))).await.ok()?;
    let response: Response = hit.dyn_into().ok()?;
    let buffer = promise(response.array_buffer()).await.ok()?;
    Some(Uint8Array::new(&buffer).to_vec())
}

/// Fetches `url` (or takes it from the cache), checks it against `expected`, and stores a
/// verified download in the cache.
pub async fn fetch_verified(
    url: &str,
    expected: &DataFile,
    on_chunk: &mut dyn FnMut(u64),
    on_total: &mut dyn FnMut(u64),
) -> Result<Vec<u8>, LoadError> {
    let file = expected.name.clone();
    let cache = open_cache().await;
    if let Some(cache) = &cache
        && let Some(bytes) = cached(cache, url).await
    {
        if sha256_hex(&bytes).await.ok().as_deref() == Some(expected.sha256.as_str()) {
            on_total(bytes.len() as u64);
            on_chunk(bytes.len() as u64);
            return Ok(bytes);
        }
        // A stale or damaged entry: drop it and download again.
        let _ = promise(Ok(cache.delete_with_str(url))).await;
    }

    let network = |e: JsValue| LoadError::Network {
        file: file.clone(),
        message: js_message(&e),
    };
    let response: Response = promise(Ok(window().fetch_with_str(url)))
        .await
        .map_err(network)?
        .dyn_into()
        .map_err(network)?;
    if !response.ok() {
        return Err(LoadError::Http {
            file,
            status: response.status(),
            status_text: response.status_text(),
        });
    }
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    on_total(total);
    let bytes = read_body(&file, &response, on_chunk).await?;
    let actual = sha256_hex(&bytes)
        .await
        .map_err(|message| LoadError::Network {
            file: file.clone(),
            message,
        })?;
    if actual != expected.sha256 {
        return Err(LoadError::Checksum {
            file,
            expected: expected.sha256.clone(),
            actual,
        });
    }
    if let Some(cache) = &cache {
        let copy = Response::new_with_opt_u8_array(Some(&mut bytes.clone()));
        if let Ok(copy) = copy
            && let Err(e) = promise(Ok(cache.put_with_str(url, &copy))).await
        {
            log::warn!("could not cache {url}: {}", js_message(&e));
        }
    }
    Ok(bytes)
}

/// Downloads, verifies, decompresses and parses the training images and labels from
/// `base` (a folder URL ending in `/`), reporting `(received, total)` bytes as it goes.
/// The 60,000 training images come with their labels.
pub async fn load_mnist(base: &str, progress: Progress<'_>) -> Result<Dataset, LoadError> {
    let names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"];
    let mut received = 0u64;
    let totals = [std::cell::Cell::new(0u64), std::cell::Cell::new(0u64)];
    let mut raw = Vec::with_capacity(2);
    for (i, name) in names.iter().enumerate() {
        let expected = data_file(name);
        let mut on_total = |t: u64| totals[i].set(t);
        let mut on_chunk = |n: u64| {
            received += n;
            progress(received, totals.iter().map(std::cell::Cell::get).sum());
        };
        raw.push(
            fetch_verified(
                &format!("{base}{name}"),
                &expected,
                &mut on_chunk,
                &mut on_total,
            )
            .await?,
        );
    }
    let images_file = names[0].trim_end_matches(".gz");
    let labels_file = names[1].trim_end_matches(".gz");
    let idx = |file: &str| {
        let file = file.to_string();
        move |source| LoadError::Idx { file, source }
    };
    let images = parse_images(&gunzip(names[0], &raw[0]).await?).map_err(idx(images_file))?;
    let labels = parse_labels(&gunzip(names[1], &raw[1]).await?).map_err(idx(labels_file))?;
    Dataset::labelled(images, labels).map_err(idx(labels_file))
}
