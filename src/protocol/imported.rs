//! A dataset converted in the import worker, as its reply carries it to the page.

use serde_bytes::ByteBuf;

use crate::import::Imported;

/// Files left out that an import lists by name.
pub const LISTED_SKIPPED: usize = 100;

/// A dataset converted in a worker: its images and labels as [`Command::Data`](super::Command::Data) takes them, and
/// what the conversion found, for the preview.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImportedData {
    /// Number of images.
    pub count: usize,
    /// `count × 784` pixels.
    pub pixels: ByteBuf,
    /// `count` labels, when the data has them.
    pub labels: Option<ByteBuf>,
    /// The classes' names, in the order of their labels.
    pub classes: Vec<String>,
    /// Whether the grey levels were turned over.
    pub inverted: bool,
    /// What was read ([`Imported::summary`]).
    pub summary: String,
    /// The first files left out ([`LISTED_SKIPPED`] at most; the summary counts them all):
    /// "path: why".
    pub skipped: Vec<String>,
}

impl From<Imported> for ImportedData {
    fn from(imported: Imported) -> Self {
        let summary = imported.summary();
        let images = imported.dataset.images();
        Self {
            count: images.count,
            pixels: ByteBuf::from(images.pixels.clone()),
            labels: imported
                .dataset
                .labels()
                .map(|labels| ByteBuf::from(labels.to_vec())),
            classes: imported.classes,
            inverted: imported.inverted,
            summary,
            skipped: imported
                .skipped
                .iter()
                .take(LISTED_SKIPPED)
                .map(ToString::to_string)
                .collect(),
        }
    }
}
