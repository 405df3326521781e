//! The automatic choice's measurements in the browser's local storage (small, read once at
//! start-up, so synchronous storage is the simple fit). Storage that is off or full only costs
//! a new measurement next time.

use super::dom::{js_message, window};
use crate::calibration::CalibrationStore;

/// The local-storage key.
const KEY: &str = "mnist-gan.calibrations";

/// The calibrations remembered; none when storage is unavailable or unreadable.
pub fn load() -> CalibrationStore {
    match window().local_storage() {
        Ok(Some(storage)) => storage
            .get_item(KEY)
            .ok()
            .flatten()
            .map(|text| CalibrationStore::from_json(&text))
            .unwrap_or_default(),
        _ => CalibrationStore::default(),
    }
}

/// Keeps `json` (a [`CalibrationStore`]'s text).
pub fn store(json: &str) {
    let stored = match window().local_storage() {
        Ok(Some(storage)) => storage.set_item(KEY, json).map_err(|e| js_message(&e)),
        Ok(None) => Err("no local storage".into()),
        Err(e) => Err(js_message(&e)),
    };
    if let Err(e) = stored {
        log::warn!("the path measurements were not remembered: {e}");
    }
}
