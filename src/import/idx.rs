//! An IDX pair of any image size (Fashion-MNIST, KMNIST, EMNIST and the like).

use super::{ConvertOptions, ImportError, Imported, MAX_IMAGES, Sizes, convert, labels_from_keys};
use crate::data::Dataset;
use crate::idx::{parse_any_images, parse_any_labels};

/// An IDX pair (decompressed): the images, converted, and their labels when the file has them
/// and there are at most ten classes (numbered 0, 1, … in the order of their values; more are
/// left out, and [`Imported::summary`] says so).
pub fn import_idx(
    images: &[u8],
    labels: Option<&[u8]>,
    options: ConvertOptions,
) -> Result<Imported, ImportError> {
    let raw = parse_any_images(images).map_err(|error| ImportError::Idx {
        file: "the images file",
        error,
    })?;
    if raw.count > MAX_IMAGES {
        return Err(ImportError::TooMany(raw.count));
    }
    let labels = labels
        .map(|bytes| {
            parse_any_labels(bytes).map_err(|error| ImportError::Idx {
                file: "the labels file",
                error,
            })
        })
        .transpose()?;
    if let Some(labels) = labels
        && labels.len() != raw.count
    {
        return Err(ImportError::CountMismatch {
            images: raw.count,
            labels: labels.len(),
        });
    }
    let (digits, classes, unlabelled) = labels.map_or((None, Vec::new(), None), labels_from_keys);
    let (converted, inverted) = convert(&raw, options);
    let dataset = match digits {
        Some(digits) => Dataset::labelled(converted, digits).map_err(|error| ImportError::Idx {
            file: "the labels file",
            error,
        })?,
        None => Dataset::new(converted),
    };
    Ok(Imported {
        dataset,
        sizes: Sizes::one(raw.rows, raw.cols),
        inverted,
        classes,
        unlabelled,
        skipped: Vec::new(),
    })
}
