//! The data runs train on: MNIST, built in, or a dataset the visitor imported and keeps in the
//! browser under its SHA-256 (`web::datasets`), listed here ([`Datasets`]). A run records the
//! data it trains on ([`DataRef`]); `app::switch` puts data to use.

use crate::app::library::RunKey;
pub use crate::data::DataRef;

/// A stored dataset as the Data panel lists it (kept beside its pixels, so listing reads a few
/// bytes per dataset). The field names are the stored record's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DatasetInfo {
    /// The SHA-256 of its pixels and labels (hex): its key.
    pub sha256: String,
    /// Its name (the user may rename it).
    pub name: String,
    /// Images.
    pub count: usize,
    /// The classes' names, in the order of their labels (folders named, even when there were
    /// too many to keep them as labels).
    pub classes: Vec<String>,
    /// Whether its images carry labels.
    pub labelled: bool,
    /// When it was stored (ms since the Unix epoch).
    pub saved_at: f64,
}

impl DatasetInfo {
    /// Which data this is.
    pub fn data_ref(&self) -> DataRef {
        DataRef {
            name: self.name.clone(),
            sha256: Some(self.sha256.clone()),
        }
    }

    /// "600 images, 10 labels" or "600 images, unlabelled".
    pub fn counts_text(&self) -> String {
        let labels = match (self.labelled, self.classes.len()) {
            (false, _) => "unlabelled".to_string(),
            (true, 1) => "1 label".to_string(),
            (true, n) => format!("{n} labels"),
        };
        format!("{} images, {labels}", self.count)
    }
}

/// The datasets stored in this browser, and a switch of data under way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Datasets {
    /// The stored datasets, newest first.
    pub stored: Vec<DatasetInfo>,
    /// What the last thing done with them came to.
    pub status: String,
    /// The saved run to resume once the data it trains on is in use.
    pub resume_after: Option<RunKey>,
    /// Bumped whenever the list must be drawn again (a refused rename shows the old name).
    pub version: u64,
}

impl Datasets {
    /// The stored dataset `sha256`.
    pub fn get(&self, sha256: &str) -> Option<&DatasetInfo> {
        self.stored.iter().find(|d| d.sha256 == sha256)
    }

    /// Whether `data` can be put to use here: MNIST, or a stored dataset.
    pub fn has(&self, data: &DataRef) -> bool {
        data.sha256
            .as_deref()
            .is_none_or(|hash| self.get(hash).is_some())
    }
}
