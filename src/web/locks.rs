//! One tab owns a run: the Web Locks API (`navigator.locks`), one exclusive lock per run key.
//! A tab holds the lock of the run on screen from its first save (or from resuming it) until
//! the run leaves the screen or the tab closes, when the browser releases it. Saving, deleting
//! and renaming take a [`RunLock`], so a run held by another tab cannot be written here.
//!
//! web-sys has `LockManager` only behind `web_sys_unstable_apis`, so the two calls used are
//! declared here.

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::dom::js_message;
use crate::app::RunKey;

/// Lock names are this prefix and the run's key.
const PREFIX: &str = "mnist-gan-run:";

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks`.
    type LockManager;

    #[wasm_bindgen(method, js_name = request)]
    fn request_with_options(
        this: &LockManager,
        name: &str,
        options: &Object,
        callback: &Function,
    ) -> Promise;

    #[wasm_bindgen(method)]
    fn query(this: &LockManager) -> Promise;
}

/// Why the locks could not be asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the browser refused a lock ({0})")]
pub struct LockError(String);

fn lock_manager() -> Option<LockManager> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let locks = Reflect::get(&navigator, &"locks".into()).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then(|| locks.unchecked_into())
}

/// The lock of one run, held by this tab until dropped.
#[derive(Debug)]
pub struct RunLock {
    key: RunKey,
    /// Resolves the promise the lock's callback returned, which releases it (`None` in a
    /// browser without Web Locks, where nothing is held).
    release: Option<Function>,
}

impl RunLock {
    /// The run it guards.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&JsValue::NULL);
        }
    }
}

/// Resolve and reject functions of a new promise (the executor runs synchronously).
fn promise_with_resolver() -> Result<(Promise, Function), LockError> {
    let mut resolver = None;
    let promise = Promise::new(&mut |resolve: Function, _reject: Function| {
        resolver = Some(resolve);
    });
    let resolve = resolver.ok_or_else(|| LockError("no promise resolver".into()))?;
    Ok((promise, resolve))
}

/// Takes run `key`'s lock if no tab holds it: `None` if one does. In a browser without Web
/// Locks (Safari before 15.4), a lock that guards nothing: such a browser cannot tell tabs
/// apart, and refusing every save there would lose more than it protects.
pub async fn try_acquire(key: &str) -> Result<Option<RunLock>, LockError> {
    let Some(locks) = lock_manager() else {
        return Ok(Some(RunLock {
            key: key.to_string(),
            release: None,
        }));
    };
    let (held_until, release) = promise_with_resolver()?;
    let (granted, grant) = promise_with_resolver()?;
    // Called once, with the lock or (if another tab holds it) null; owned until then.
    let callback = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |lock: JsValue| {
        let held = !lock.is_null() && !lock.is_undefined();
        let _ = grant.call1(&JsValue::NULL, &JsValue::from_bool(held));
        if held {
            held_until.clone().into()
        } else {
            JsValue::UNDEFINED
        }
    });
    let options = Object::new();
    Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE)
        .map_err(|e| LockError(js_message(&e)))?;
    let name = format!("{PREFIX}{key}");
    let _request = locks.request_with_options(&name, &options, callback.as_ref().unchecked_ref());
    let held = JsFuture::from(granted)
        .await
        .map_err(|e| LockError(js_message(&e)))?
        .as_bool()
        .unwrap_or(false);
    drop(callback); // called already: the lock manager holds only the promise it returned
    if !held {
        return Ok(None);
    }
    Ok(Some(RunLock {
        key: key.to_string(),
        release: Some(release),
    }))
}

/// Keys of the runs whose lock some tab (this one included) holds.
pub async fn held_keys() -> Result<Vec<RunKey>, LockError> {
    let Some(locks) = lock_manager() else {
        return Ok(Vec::new());
    };
    let snapshot = JsFuture::from(locks.query())
        .await
        .map_err(|e| LockError(js_message(&e)))?;
    let held = Reflect::get(&snapshot, &"held".into()).map_err(|e| LockError(js_message(&e)))?;
    let held: Array = held.dyn_into().unwrap_or_default();
    Ok(held
        .iter()
        .filter_map(|info| Reflect::get(&info, &"name".into()).ok()?.as_string())
        .filter_map(|name| name.strip_prefix(PREFIX).map(str::to_string))
        .collect())
}

/// Resolves once no tab holds run `key` (a shared request, granted only then and released at
/// once), so a tab hears when another one closes or lets the run go.
pub async fn released(key: &str) -> Result<(), LockError> {
    let Some(locks) = lock_manager() else {
        return Ok(());
    };
    let callback =
        Closure::<dyn FnMut(JsValue) -> JsValue>::new(|_lock: JsValue| JsValue::UNDEFINED);
    let options = Object::new();
    Reflect::set(&options, &"mode".into(), &"shared".into())
        .map_err(|e| LockError(js_message(&e)))?;
    let name = format!("{PREFIX}{key}");
    let request = locks.request_with_options(&name, &options, callback.as_ref().unchecked_ref());
    let result = JsFuture::from(request).await;
    drop(callback);
    result.map(|_| ()).map_err(|e| LockError(js_message(&e)))
}
