//! An import of the visitor's files as the page's model holds it: where it is, its preview
//! and options (`app::importing` handles its events).

use std::rc::Rc;

use crate::app::library::{RunKey, clean_name};
use crate::data::DataRef;
use crate::idx::IMAGE_PIXELS;
use crate::import::ConvertOptions;
use crate::protocol::ImportedData;

/// Images the preview shows.
pub const PREVIEW_IMAGES: usize = 64;

/// A converted dataset, shared between the model and the effects (it is megabytes; two handles
/// are equal when they are the same conversion).
#[derive(Clone)]
pub struct SharedImport(pub Rc<ImportedData>);

impl PartialEq for SharedImport {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for SharedImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedImport({} images)", self.0.count)
    }
}

/// Where an import is.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportPhase {
    /// Files read by the import worker: so many of how many (not known while it walks a
    /// dropped folder).
    Reading {
        /// Files read.
        read: usize,
        /// Files chosen.
        total: Option<usize>,
    },
    /// The worker converts them.
    Converting,
    /// Converted: the preview, until "Use this data" or "Cancel".
    Preview(Box<ImportPreview>),
    /// Why it failed (the files stay staged while the worker has them: other options may
    /// convert them).
    Failed(String),
}

/// What the preview shows of a conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportPreview {
    /// The whole conversion (what "Use this data" keeps).
    pub data: SharedImport,
    /// [`PREVIEW_IMAGES`] images at most, spread over the dataset, 784 grey levels each.
    pub images: Vec<u8>,
}

/// An import under way, if any, and what it is for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportState {
    /// Where it is (`None`: no import).
    pub phase: Option<ImportPhase>,
    /// The conversion's options.
    pub options: ConvertOptions,
    /// The name it will be stored under (as typed).
    pub name: String,
    /// The files are staged in the worker (a new conversion sends nothing).
    pub staged: bool,
    /// "Use this data" was pressed: hashing and storing.
    pub keeping: bool,
    /// A saved run waits for its data, deleted from this browser: the next import must be it.
    pub wanted: Option<(RunKey, DataRef)>,
}

/// [`PREVIEW_IMAGES`] images of `data`, evenly spread (so the classes of a folder sorted by
/// class all show).
pub fn preview_images(data: &ImportedData) -> Vec<u8> {
    let shown = data.count.min(PREVIEW_IMAGES);
    (0..shown)
        .flat_map(|i| {
            let index = i * data.count / shown;
            data.pixels[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS]
                .iter()
                .copied()
        })
        .collect()
}

/// The name of a dataset made of files under `name`: without a folder's trailing slash or a
/// file's extensions ("fashion.zip", "train-images-idx3-ubyte.gz").
pub fn name_of_import(name: &str) -> String {
    let name = name.trim_end_matches('/');
    let name = name.rsplit('/').next().unwrap_or(name);
    let stem = name.split_once('.').map_or(name, |(stem, _)| stem);
    clean_name(stem).unwrap_or_else(|| "My images".into())
}
