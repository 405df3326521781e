//! The page's end of the run library: IndexedDB ([`store`]), the locks that make one tab own a
//! run ([`locks`]), a `BroadcastChannel` that tells the other tabs when the library changed,
//! and the browser's storage figures. The effects call it; the rules are `app::library`'s.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{BroadcastChannel, StorageEstimate, StorageManager};

use super::dom::{Listener, js_message};
use super::locks::{self, RunLock};
use super::store::{self, StoreError};
use crate::app::library::{Listing, RunKey, RunSummary, SaveFailure, StorageFigures};
use crate::app::saved::SavedRun;

/// The channel every tab of the app listens on.
const CHANNEL: &str = "mnist-gan-web-runs";

/// The runs this tab holds, and the channel to the other tabs.
pub struct RunLibrary {
    /// Locks of the runs this tab owns (shared with a save under way, which keeps it held).
    held: RefCell<HashMap<RunKey, Rc<RunLock>>>,
    /// Runs of other tabs this tab waits on, to hear when they are let go.
    watching: RefCell<HashSet<RunKey>>,
    channel: Option<BroadcastChannel>,
    _listener: Option<Listener>,
}

impl RunLibrary {
    /// A library that calls `changed` when another tab says the library changed.
    pub fn new(changed: impl Fn() + 'static) -> Self {
        let channel = BroadcastChannel::new(CHANNEL)
            .inspect_err(|e| log::warn!("no BroadcastChannel: {}", js_message(e)))
            .ok();
        let listener = channel
            .as_ref()
            .map(|channel| Listener::new(channel, "message", move |_| changed()));
        Self {
            held: RefCell::new(HashMap::new()),
            watching: RefCell::new(HashSet::new()),
            channel,
            _listener: listener,
        }
    }

    /// Tells the other tabs that the library changed.
    fn announce(&self) {
        if let Some(channel) = &self.channel {
            let _ = channel.post_message(&"changed".into());
        }
    }

    /// The lock of run `key`: this tab's, or taken now; `None` if another tab holds it.
    async fn lock(&self, key: &str) -> Result<Option<Rc<RunLock>>, String> {
        if let Some(lock) = self.held.borrow().get(key) {
            return Ok(Some(lock.clone()));
        }
        Ok(locks::try_acquire(key)
            .await
            .map_err(|e| e.to_string())?
            .map(Rc::new))
    }

    /// The saved runs, the ones another tab holds, and the storage figures.
    pub async fn listing(&self) -> Result<Listing, String> {
        let (runs, migration_error) = store::list().await.map_err(|e| e.to_string())?;
        let ours = self.held.borrow().keys().cloned().collect::<HashSet<_>>();
        let elsewhere = match locks::held_keys().await {
            Ok(keys) => keys.into_iter().filter(|k| !ours.contains(k)).collect(),
            Err(e) => {
                log::warn!("{e}");
                Vec::new()
            }
        };
        Ok(Listing {
            runs,
            elsewhere,
            storage: storage_figures(false).await,
            migration_error,
        })
    }

    /// Saves run `summary.key`, taking it for this tab if no tab has it.
    pub async fn save(&self, summary: &RunSummary, record: &SavedRun) -> Result<(), SaveFailure> {
        let lock = self
            .lock(&summary.key)
            .await
            .map_err(SaveFailure::Refused)?
            .ok_or(SaveFailure::Elsewhere)?;
        self.held
            .borrow_mut()
            .insert(summary.key.clone(), lock.clone());
        let result = store::save(&lock, summary, record)
            .await
            .map_err(|e| match e {
                StoreError::Full => SaveFailure::Full {
                    needed: summary.bytes,
                },
                other => SaveFailure::Refused(other.to_string()),
            });
        self.announce();
        result
    }

    /// Takes run `key` for this tab and reads its last save.
    pub async fn claim(&self, key: &str) -> Result<SavedRun, String> {
        let lock = self.lock(key).await?.ok_or("it is open in another tab")?;
        let saved = store::load(key)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("it is no longer saved")?;
        self.held.borrow_mut().insert(key.to_string(), lock);
        self.announce();
        Ok(saved)
    }

    /// Lets run `key` go (it left this tab's screen).
    pub fn release(&self, key: &str) {
        if self.held.borrow_mut().remove(key).is_some() {
            self.announce();
        }
    }

    /// Deletes runs that no other tab holds; the keys deleted.
    pub async fn delete(&self, keys: &[RunKey]) -> Result<Vec<RunKey>, String> {
        let mut deleted = Vec::new();
        let mut refusals = Vec::new();
        for key in keys {
            match self.lock(key).await? {
                Some(lock) => match store::delete(&lock).await {
                    Ok(()) => deleted.push(key.clone()),
                    Err(e) => refusals.push(e.to_string()),
                },
                None => refusals.push("a run is open in another tab".into()),
            }
        }
        self.announce();
        match (deleted.is_empty(), refusals.first()) {
            (true, Some(why)) => Err(why.clone()),
            _ => Ok(deleted),
        }
    }

    /// Renames run `key` (refused if another tab holds it).
    pub async fn rename(&self, key: &str, name: &str) -> Result<(), String> {
        let lock = self.lock(key).await?.ok_or("it is open in another tab")?;
        let result = store::rename(&lock, name).await.map_err(|e| e.to_string());
        self.announce();
        result
    }

    /// Run `key`'s weights file.
    pub async fn weights(&self, key: &str) -> Result<Vec<u8>, String> {
        let saved = store::load(key)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the run is no longer saved")?;
        Ok(saved.weights.into_vec())
    }

    /// Asks the browser to keep the site's storage; the figures after.
    pub async fn persist(&self) -> Option<StorageFigures> {
        storage_figures(true).await
    }

    /// Runs in `keys` not yet waited on: each is now, and [`Self::watch`] must follow.
    pub fn to_watch(&self, keys: &[RunKey]) -> Vec<RunKey> {
        let mut watching = self.watching.borrow_mut();
        keys.iter()
            .filter(|key| watching.insert((*key).clone()))
            .cloned()
            .collect()
    }

    /// Waits until no tab holds run `key` (see [`Self::to_watch`]), then calls `freed`.
    pub fn watch(self: Rc<Self>, key: RunKey, freed: impl FnOnce() + 'static) {
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = locks::released(&key).await {
                log::warn!("{e}");
            }
            self.watching.borrow_mut().remove(&key);
            freed();
        });
    }
}

/// `navigator.storage`, where the browser has it (secure contexts).
fn storage_manager() -> Option<StorageManager> {
    let navigator = super::dom::window().navigator();
    let storage = js_sys::Reflect::get(&navigator, &"storage".into()).ok()?;
    (!storage.is_undefined()).then(|| storage.unchecked_into())
}

/// The site's usage and quota, and whether its storage is persistent (asking for it first if
/// `ask`).
async fn storage_figures(ask: bool) -> Option<StorageFigures> {
    let storage = storage_manager()?;
    let persist = if ask {
        storage.persist()
    } else {
        storage.persisted()
    };
    let persisted = match persist {
        Ok(promise) => JsFuture::from(promise).await.ok().and_then(|v| v.as_bool()),
        Err(_) => None,
    };
    let estimate: StorageEstimate = JsFuture::from(storage.estimate().ok()?)
        .await
        .ok()?
        .unchecked_into();
    Some(StorageFigures {
        usage: estimate.get_usage().unwrap_or(0.0),
        quota: estimate.get_quota().unwrap_or(0.0),
        persisted,
    })
}
