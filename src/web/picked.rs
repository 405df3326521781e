//! Files the visitor picks or drops for an import, collected on the page's thread as browser
//! `File`s (nothing is read yet): a file input's list, a picked folder's (each file's path under
//! it), or a drop's files and folders (walked through `webkitGetAsEntry`). They wait here until
//! the effects hand them to an import worker (`Effect::ReadImport`).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{DataTransfer, File, FileList};

use crate::app::Event;

/// Entries a dropped folder may hold, at most (the import refuses more files than this anyway).
const MAX_ENTRIES: usize = crate::import::MAX_FILES;

/// A file and its path under the folder it came from (its name when it came alone).
pub struct PickedFile {
    /// `folder/sub-folder/name.png`.
    pub path: String,
    /// The file, unread.
    pub file: File,
}

/// The files picked last, shared by the views that collect them and the effects that read
/// them.
#[derive(Clone, Default)]
pub struct Picked(Rc<RefCell<Vec<PickedFile>>>);

impl Picked {
    /// Keeps `files` (in place of any picked before), in the order of their paths (as a drop
    /// and the native import read them: the order makes the dataset, and its SHA-256), and
    /// describes them for the model.
    pub fn put(&self, mut files: Vec<PickedFile>) -> Event {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let name = match files.as_slice() {
            [] => String::new(),
            [only] => only.path.clone(),
            [first, ..] => match first.path.split_once('/') {
                Some((folder, _)) if files.iter().all(|f| f.path.starts_with(folder)) => {
                    format!("{folder}/")
                }
                _ => first.path.clone(),
            },
        };
        let bytes = files.iter().map(|f| f.file.size() as u64).sum();
        let event = Event::FilesPicked {
            name,
            files: files.len(),
            bytes,
        };
        *self.0.borrow_mut() = files;
        event
    }

    /// The files picked, handed over once.
    pub fn take(&self) -> Vec<PickedFile> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// A file input's files, each under its path in a picked folder (`webkitRelativePath`) or its
/// name.
pub fn from_list(list: &FileList) -> Vec<PickedFile> {
    (0..list.length())
        .filter_map(|i| list.get(i))
        .map(|file| {
            let relative = Reflect::get(&file, &"webkitRelativePath".into())
                .ok()
                .and_then(|p| p.as_string())
                .filter(|p| !p.is_empty());
            PickedFile {
                path: relative.unwrap_or_else(|| file.name()),
                file,
            }
        })
        .collect()
}

/// The entries of a drop (taken now: a drop's items are gone once its handler returns), or
/// `None` where the browser offers no entries.
pub fn drop_entries(transfer: &DataTransfer) -> Option<Vec<JsValue>> {
    let items = Reflect::get(transfer, &"items".into()).ok()?;
    let length = Reflect::get(&items, &"length".into()).ok()?.as_f64()? as u32;
    let entries: Vec<JsValue> = (0..length)
        .filter_map(|i| {
            let item = Reflect::get(&items, &i.into()).ok()?;
            let method: Function = Reflect::get(&item, &"webkitGetAsEntry".into())
                .ok()?
                .dyn_into()
                .ok()?;
            method.call0(&item).ok().filter(|e| !e.is_null())
        })
        .collect();
    (!entries.is_empty()).then_some(entries)
}

/// `target.method(resolve, reject)`, the callback style of the file system entries, as a
/// promise.
fn callback_promise(target: &JsValue, method: &str) -> Promise {
    let function = Reflect::get(target, &method.into()).and_then(|f| f.dyn_into::<Function>());
    Promise::new(&mut |resolve, reject| {
        let called = function
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|f| f.call2(target, &resolve, &reject));
        if let Err(e) = called {
            let _ = reject.call1(&JsValue::NULL, &e);
        }
    })
}

fn flag(entry: &JsValue, name: &str) -> bool {
    Reflect::get(entry, &name.into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Files whose `File` objects are asked for at once, at most.
const AT_ONCE: usize = 1000;

/// Every file under the dropped `entries` (folders walked), with its path from the drop.
pub async fn from_entries(entries: Vec<JsValue>) -> Result<Vec<PickedFile>, String> {
    let message = |e: JsValue| super::dom::js_message(&e);
    let mut found = Vec::new();
    let mut pending = entries;
    while let Some(entry) = pending.pop() {
        if found.len() + pending.len() > MAX_ENTRIES {
            return Err(format!(
                "the drop holds more than {MAX_ENTRIES} files: a dataset comes from at most {MAX_ENTRIES}"
            ));
        }
        if flag(&entry, "isDirectory") {
            let reader: JsValue = Reflect::get(&entry, &"createReader".into())
                .and_then(|f| f.dyn_into::<Function>())
                .and_then(|f| f.call0(&entry))
                .map_err(message)?;
            // `readEntries` gives a folder's entries a hundred or so at a time, then none.
            loop {
                let batch = JsFuture::from(callback_promise(&reader, "readEntries"))
                    .await
                    .map_err(message)?;
                let batch = Array::from(&batch);
                if batch.length() == 0 {
                    break;
                }
                pending.extend(batch.iter());
            }
        } else if flag(&entry, "isFile") {
            found.push(entry);
        }
    }
    // The files themselves, a thousand at a time.
    let mut files = Vec::with_capacity(found.len());
    for part in found.chunks(AT_ONCE) {
        let asked: Array = part
            .iter()
            .map(|entry| JsValue::from(callback_promise(entry, "file")))
            .collect();
        let got = JsFuture::from(Promise::all(&asked))
            .await
            .map_err(message)?;
        for (entry, file) in part.iter().zip(Array::from(&got).iter()) {
            let Ok(file) = file.dyn_into::<File>() else {
                continue;
            };
            let path = Reflect::get(entry, &"fullPath".into())
                .ok()
                .and_then(|p| p.as_string())
                .unwrap_or_default();
            let path = path.trim_start_matches('/');
            let path = if path.is_empty() {
                file.name()
            } else {
                path.to_string()
            };
            files.push(PickedFile { path, file });
        }
    }
    Ok(files)
}
