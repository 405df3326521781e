//! Files the visitor picked or dropped, handed to the import worker unread, and read there: the
//! page's thread only posts handles (a `File` or a dropped folder's `FileSystemHandle` is
//! cloned into the worker, not its bytes), and the worker walks the folders, reads the files a
//! part at a time and reports how far it got (`FromWorker::Progress`). Both ends of the
//! message are here: [`Unread::to_js`] on the page, [`Unread::from_js`] and [`Unread::read`]
//! in the worker.

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

use super::dom::js_message;
use crate::import::{ImportError, MAX_FILES, MAX_SOURCE_BYTES, SourceFile};

/// Files handed over unread: browser `File`s (a file input's, or a drop walked through
/// `webkitGetAsEntry` where handles are not offered) and a drop's or the folder picker's
/// `FileSystemHandle`s (Chrome, Edge), files and folders, which the worker walks.
#[derive(Default)]
pub struct Unread {
    /// Each item with its path: a file's in the folder it came from, a handle's name.
    items: Vec<(String, JsValue)>,
}

/// Files read at once, at most (the page is told after each part).
const PART: usize = 1000;

fn get(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    Reflect::get(target, &key.into())
}

/// `target.name()`.
fn method(target: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    get(target, name)?.dyn_into::<Function>()?.call0(target)
}

/// `target.name()`, awaited when it returns a promise.
async fn call(target: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    match method(target, name)?.dyn_into::<Promise>() {
        Ok(promise) => JsFuture::from(promise).await,
        Err(value) => Ok(value),
    }
}

fn text(value: &JsValue, key: &str) -> String {
    get(value, key)
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

impl Unread {
    /// Adds a `File` under its path.
    pub fn push_file(&mut self, path: String, file: File) {
        self.items.push((path, file.into()));
    }

    /// Adds a `FileSystemHandle`, under its name.
    pub fn push_handle(&mut self, handle: JsValue) {
        self.items.push((text(&handle, "name"), handle));
    }

    /// The items' paths.
    pub fn paths(&self) -> impl Iterator<Item = &str> + Clone {
        self.items.iter().map(|(path, _)| path.as_str())
    }

    /// The message's form: `{ items, paths }`.
    pub fn to_js(&self) -> Result<JsValue, JsValue> {
        let (items, paths) = (Array::new(), Array::new());
        for (path, item) in &self.items {
            items.push(item);
            paths.push(&path.into());
        }
        let object = js_sys::Object::new();
        Reflect::set(&object, &"items".into(), &items)?;
        Reflect::set(&object, &"paths".into(), &paths)?;
        Ok(object.into())
    }

    /// Read back from the message's form.
    pub fn from_js(value: &JsValue) -> Result<Self, String> {
        let array = |key: &str| get(value, key).map(|a| Array::from(&a));
        let (Ok(items), Ok(paths)) = (array("items"), array("paths")) else {
            return Err("no files were handed over".into());
        };
        let mut unread = Self::default();
        for (item, path) in items.iter().zip(paths.iter()) {
            unread
                .items
                .push((path.as_string().unwrap_or_default(), item));
        }
        Ok(unread)
    }

    /// The files read (in no particular order: the import puts them in the order of their
    /// paths); `progress(done, total)` after each part.
    pub async fn read(self, progress: impl Fn(usize, usize)) -> Result<Vec<SourceFile>, String> {
        let message = |e: JsValue| format!("the files could not be read ({})", js_message(&e));
        let found = walk(self.items).await?;
        let total = found.len();
        progress(0, total);
        let (mut read, mut bytes) = (Vec::with_capacity(total), 0.0);
        for part in found.chunks(PART) {
            // Every `File` at once (a handle's asked for: `getFile`), then every file's bytes.
            let files = Array::new();
            for (_, item) in part {
                files.push(&match item.dyn_ref::<File>() {
                    Some(_) => item.clone(),
                    None => method(item, "getFile").map_err(message)?,
                });
            }
            let files = JsFuture::from(Promise::all(&files))
                .await
                .map_err(message)?;
            // Their sizes first: nothing is read past the limit.
            let files = Array::from(&files);
            for file in files.iter() {
                bytes += file.dyn_into::<File>().map_err(message)?.size();
            }
            if bytes > MAX_SOURCE_BYTES as f64 {
                return Err(ImportError::TooLarge.to_string());
            }
            let buffers = Array::new();
            for file in files.iter() {
                buffers.push(&file.unchecked_into::<File>().array_buffer());
            }
            let buffers = JsFuture::from(Promise::all(&buffers))
                .await
                .map_err(message)?;
            for ((path, _), buffer) in part.iter().zip(Array::from(&buffers).iter()) {
                read.push(SourceFile {
                    path: path.clone(),
                    bytes: Uint8Array::new(&buffer).to_vec(),
                });
            }
            progress(read.len(), total);
        }
        Ok(read)
    }
}

/// Every file among `pending` (`File`s, file handles, and the files under folder handles,
/// walked), with its path.
async fn walk(mut pending: Vec<(String, JsValue)>) -> Result<Vec<(String, JsValue)>, String> {
    let message = |e: JsValue| format!("the folder could not be read ({})", js_message(&e));
    let mut found = Vec::new();
    while let Some((path, handle)) = pending.pop() {
        if found.len() + pending.len() > MAX_FILES {
            return Err(format!(
                "the drop holds more than {MAX_FILES} files: a dataset comes from at most {MAX_FILES}"
            ));
        }
        // A `File` has no `kind`; a file handle's is "file".
        if text(&handle, "kind") != "directory" {
            found.push((path, handle));
            continue;
        }
        // A folder's entries, one at a time from its async iterator.
        let entries = call(&handle, "values").await.map_err(message)?;
        loop {
            let next = call(&entries, "next").await.map_err(message)?;
            if get(&next, "done").ok().and_then(|d| d.as_bool()) != Some(false) {
                break;
            }
            let child = get(&next, "value").map_err(message)?;
            pending.push((format!("{path}/{}", text(&child, "name")), child));
        }
    }
    Ok(found)
}
