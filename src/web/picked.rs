//! Files the visitor picks or drops for an import, collected on the page's thread without
//! reading them: a file input's list, a picked folder's (each file's path under it), or a drop —
//! its `FileSystemHandle`s where the browser offers them (Chrome, Edge: the import worker walks
//! the folders), else its files and folders walked here through `webkitGetAsEntry`. They wait
//! here until the effects hand them to an import worker (`Effect::ReadImport`, `web::unread`).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{DataTransfer, File, FileList};

use super::unread::Unread;
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

/// The files picked last, shared by the views that collect them and the effects that hand
/// them over.
#[derive(Clone, Default)]
pub struct Picked(Rc<RefCell<Option<Unread>>>);

impl Picked {
    /// Keeps `files` (in place of any picked before) and describes them for the model.
    pub fn put(&self, files: Vec<PickedFile>) -> Event {
        let (count, mut bytes, mut unread) = (files.len(), 0, Unread::default());
        for picked in files {
            bytes += picked.file.size() as u64;
            unread.push_file(picked.path, picked.file);
        }
        self.keep(unread, Some(count), bytes)
    }

    /// Keeps a drop's or the folder picker's handles (in place of anything picked before): the
    /// import worker counts and reads what they hold.
    pub fn put_handles(&self, handles: Vec<JsValue>) -> Event {
        let mut unread = Unread::default();
        for handle in handles {
            unread.push_handle(handle);
        }
        self.keep(unread, None, 0)
    }

    fn keep(&self, unread: Unread, files: Option<usize>, bytes: u64) -> Event {
        let event = Event::FilesPicked {
            name: name_of(unread.paths()),
            files,
            bytes,
        };
        *self.0.borrow_mut() = Some(unread);
        event
    }

    /// The files picked, handed over once.
    pub fn take(&self) -> Option<Unread> {
        self.0.borrow_mut().take()
    }
}

/// What the import is called: the folder all the files are in, else the first file or handle
/// (by path).
fn name_of<'a>(mut paths: impl Iterator<Item = &'a str> + Clone) -> String {
    let Some(first) = paths.clone().min() else {
        return String::new();
    };
    let folder_of = |path: &'a str| path.split_once('/').map(|(folder, _)| folder);
    match folder_of(first) {
        Some(folder) if paths.all(|p| folder_of(p) == Some(folder)) => format!("{folder}/"),
        _ => first.to_string(),
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

/// `method` called on each of the drop's items (now: a drop's items are gone once its handler
/// returns); nothing where the browser has no such method.
fn on_items(transfer: &DataTransfer, method: &str) -> Array {
    let got = Array::new();
    let items = Reflect::get(transfer, &"items".into()).unwrap_or_default();
    let length = Reflect::get(&items, &"length".into())
        .ok()
        .and_then(|l| l.as_f64())
        .unwrap_or(0.0) as u32;
    for i in 0..length {
        let item = Reflect::get(&items, &i.into()).unwrap_or_default();
        // Only files and folders: a drop's text and links are not asked.
        if Reflect::get(&item, &"kind".into())
            .ok()
            .and_then(|k| k.as_string())
            .as_deref()
            != Some("file")
        {
            continue;
        }
        let asked = Reflect::get(&item, &method.into())
            .and_then(|m| m.dyn_into::<Function>())
            .and_then(|m| m.call0(&item));
        if let Ok(asked) = asked
            && !asked.is_null()
            && !asked.is_undefined()
        {
            got.push(&asked);
        }
    }
    got
}

/// The entries of a drop, or `None` where the browser offers no entries.
pub fn drop_entries(transfer: &DataTransfer) -> Option<Vec<JsValue>> {
    let entries = on_items(transfer, "webkitGetAsEntry");
    (entries.length() > 0).then(|| entries.iter().collect())
}

/// The drop's `FileSystemHandle`s, asked for, or `None` where the browser offers none
/// (`getAsFileSystemHandle`: Chrome, Edge).
pub fn drop_handles(transfer: &DataTransfer) -> Option<Promise> {
    let asked = on_items(transfer, "getAsFileSystemHandle");
    (asked.length() > 0).then(|| Promise::all(&asked))
}

/// The folder picker where the browser has one (`showDirectoryPicker`: Chrome, Edge), asked
/// now, in the click's user activation: its handle goes to the import worker like a dropped
/// folder's, where a folder input's `FileList` of tens of thousands of files would be built on
/// the page's thread (a 27 s long task for 60,000 files).
pub fn pick_folder() -> Option<Promise> {
    let window = js_sys::global();
    let picker: Function = Reflect::get(&window, &"showDirectoryPicker".into())
        .ok()?
        .dyn_into()
        .ok()?;
    picker.call0(&window).ok()?.dyn_into().ok()
}

/// The handle a folder picker gave, `None` when the visitor cancelled it.
pub async fn picked_folder(asked: Promise) -> Result<Option<JsValue>, String> {
    match JsFuture::from(asked).await {
        Ok(handle) => Ok(Some(handle)),
        Err(e)
            if Reflect::get(&e, &"name".into())
                .ok()
                .and_then(|n| n.as_string())
                == Some("AbortError".into()) =>
        {
            Ok(None)
        }
        Err(e) => Err(format!(
            "the folder could not be opened ({})",
            super::dom::js_message(&e)
        )),
    }
}

/// The handles a drop's promise gave (items that are not files give none).
pub async fn handles(asked: Promise) -> Result<Vec<JsValue>, String> {
    let handles = JsFuture::from(asked)
        .await
        .map_err(|e| super::dom::js_message(&e))?;
    let mut got = Vec::new();
    for handle in Array::from(&handles).iter() {
        if handle.is_object() {
            got.push(handle);
        }
    }
    Ok(got)
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
