//! Other images than MNIST's, converted to 28 × 28 (`mnist_gan_web::import`): sizes, fit and
//! crop, inversion, transposition, labels, and every refusal.
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

mod common;

/// Folders and zips of image files, decoded natively.
#[path = "import/files.rs"]
mod files;

/// PNGs read by the page's own PNG reader (`import::Png`), against the `image` crate.
#[path = "import/png.rs"]
mod png;

use mnist_gan_web::idx::{IdxError, RawImages};
use mnist_gan_web::import::{
    ConvertOptions, Fit, ImportError, Invert, MAX_IMAGES, convert, dark_on_light, import_idx,
};

/// An IDX3 file of `count` images of `rows × cols` bytes.
fn idx_images(count: usize, rows: usize, cols: usize, data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 3];
    for dim in [count, rows, cols] {
        bytes.extend((dim as u32).to_be_bytes());
    }
    bytes.extend(data);
    bytes
}

/// An IDX1 file of labels.
fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 1];
    bytes.extend((labels.len() as u32).to_be_bytes());
    bytes.extend(labels);
    bytes
}

fn raw(rows: usize, cols: usize, data: &[u8]) -> RawImages<'_> {
    RawImages {
        count: data.len() / (rows * cols),
        rows,
        cols,
        data,
    }
}

const NEVER: ConvertOptions = ConvertOptions {
    fit: Fit::Pad,
    invert: Invert::Never,
    transpose: false,
};

fn pixel(image: &[u8], x: usize, y: usize) -> u8 {
    image[y * 28 + x]
}

#[test]
fn a_small_image_is_enlarged_by_whole_blocks() {
    // 2 × 2 → 28 × 28: each source pixel becomes a 14 × 14 block.
    let (images, inverted) = convert(&raw(2, 2, &[255, 0, 0, 100]), NEVER);
    assert!(!inverted);
    let image = &images.pixels;
    assert_eq!((pixel(image, 0, 0), pixel(image, 13, 13)), (255, 255));
    assert_eq!((pixel(image, 14, 0), pixel(image, 0, 14)), (0, 0));
    assert_eq!((pixel(image, 14, 14), pixel(image, 27, 27)), (100, 100));
}

#[test]
fn a_wide_image_is_padded_or_cropped() {
    // 2 rows × 4 columns of 10, 20, 30, 40.
    let data = [10, 20, 30, 40, 10, 20, 30, 40];
    let (padded, _) = convert(&raw(2, 4, &data), NEVER);
    // Pad: 7 target pixels per source pixel, 28 × 14 centred: 7 rows of background above.
    let image = &padded.pixels;
    assert_eq!(pixel(image, 0, 6), 0);
    assert_eq!((pixel(image, 0, 7), pixel(image, 6, 20)), (10, 10));
    assert_eq!((pixel(image, 7, 7), pixel(image, 27, 20)), (20, 40));
    assert_eq!(pixel(image, 27, 21), 0);
    // Crop: 14 target pixels per source pixel, the middle two columns kept.
    let crop = ConvertOptions {
        fit: Fit::Crop,
        ..NEVER
    };
    let (cropped, _) = convert(&raw(2, 4, &data), crop);
    let image = &cropped.pixels;
    assert_eq!((pixel(image, 0, 0), pixel(image, 13, 27)), (20, 20));
    assert_eq!((pixel(image, 14, 0), pixel(image, 27, 27)), (30, 30));
}

#[test]
fn a_large_image_is_averaged_by_area() {
    // 56 × 56 in 2 × 2 blocks of 0/255 checks: each target pixel averages a block's four.
    let data: Vec<u8> = (0..56 * 56)
        .map(|i| if (i / 56 + i % 56) % 2 == 0 { 255 } else { 0 })
        .collect();
    let (images, _) = convert(&raw(56, 56, &data), NEVER);
    assert!(
        images.pixels.iter().all(|&p| p == 128),
        "127.5 rounds to 128"
    );
    // 42 × 42 of one level stays that level (target pixels straddle source pixels).
    let (flat, _) = convert(&raw(42, 42, &[77; 42 * 42]), NEVER);
    assert!(flat.pixels.iter().all(|&p| p == 77));
}

#[test]
fn a_padded_edge_is_partly_background_inverted_or_not() {
    // 1 row × 3 columns of 90: 28/3 target pixels per source pixel, the row centred from
    // 9⅓ to 18⅔, so target rows 9 and 18 are two-thirds covered.
    let (plain, _) = convert(&raw(1, 3, &[90, 90, 90]), NEVER);
    let rows = |image: &[u8]| [8, 9, 10, 17, 18, 19].map(|y| pixel(image, 5, y));
    assert_eq!(rows(&plain.pixels), [0, 60, 90, 90, 60, 0]);
    let always = ConvertOptions {
        invert: Invert::Always,
        ..NEVER
    };
    let (inverted, _) = convert(&raw(1, 3, &[90, 90, 90]), always);
    // round(⅔ × (255 − 90)) = 110: the padding stays background.
    assert_eq!(rows(&inverted.pixels), [0, 110, 165, 165, 110, 0]);
}

#[test]
fn dark_strokes_on_light_paper_are_inverted() {
    // A light image (border 250) with a dark stroke in the middle.
    let mut data = vec![250u8; 28 * 28];
    data[14 * 28 + 14] = 5;
    let light = raw(28, 28, &data);
    assert!(dark_on_light(&light));
    let (auto, inverted) = convert(&light, ConvertOptions::default());
    assert!(inverted);
    assert_eq!((auto.pixels[0], auto.pixels[14 * 28 + 14]), (5, 250));
    // Asked not to, it is not; MNIST-like images are left as they are.
    let keep = ConvertOptions {
        invert: Invert::Never,
        ..ConvertOptions::default()
    };
    assert_eq!(convert(&light, keep).0.pixels, data);
    let mut dark = vec![0u8; 28 * 28];
    dark[14 * 28 + 14] = 255;
    assert!(!dark_on_light(&raw(28, 28, &dark)));
    let always = ConvertOptions {
        invert: Invert::Always,
        ..ConvertOptions::default()
    };
    assert_eq!(convert(&raw(28, 28, &dark), always).0.pixels[0], 255);
}

#[test]
fn transposed_images_are_turned_back() {
    // EMNIST stores column after column: the pixel at row 0, column 27 is the 28th byte's
    // transpose.
    let mut data = vec![0u8; 28 * 28];
    data[27] = 200; // stored at row 0, column 27
    let transposed = ConvertOptions {
        transpose: true,
        ..NEVER
    };
    let (images, _) = convert(&raw(28, 28, &data), transposed);
    assert_eq!(pixel(&images.pixels, 0, 27), 200, "now at row 27, column 0");
    assert_eq!(pixel(&images.pixels, 27, 0), 0);
}

#[test]
fn an_idx_pair_imports_with_its_labels_and_says_what_it_read() {
    let images = idx_images(3, 4, 4, &[9; 48]);
    let imported = import_idx(&images, Some(&idx_labels(&[7, 1, 7])), NEVER).unwrap();
    assert_eq!(imported.dataset.len(), 3);
    // The different values in order become 0, 1, …: 1 → 0, 7 → 1.
    assert_eq!(imported.dataset.labels(), Some(&[1, 0, 1][..]));
    assert_eq!(imported.summary(), "3 images (4 × 4), 2 labels");
    let unlabelled = import_idx(&images, None, NEVER).unwrap();
    assert_eq!(unlabelled.summary(), "3 images (4 × 4), no labels");
    // EMNIST's letters: more classes than a conditional model takes.
    let images = idx_images(26, 1, 1, &[0; 26]);
    let letters: Vec<u8> = (1..=26).collect();
    let imported = import_idx(&images, Some(&idx_labels(&letters)), NEVER).unwrap();
    assert_eq!(imported.dataset.labels(), None);
    assert_eq!(
        imported.summary(),
        "26 images (1 × 1), 26 labels, more than the 10 a conditional model takes: imported without labels"
    );
}

#[test]
fn broken_idx_pairs_are_refused_with_their_reasons() {
    let images = idx_images(3, 4, 4, &[9; 48]);
    let truncated = &images[..images.len() - 1];
    assert!(matches!(
        import_idx(truncated, None, NEVER).unwrap_err(),
        ImportError::Idx {
            file: "the images file",
            error: IdxError::LengthMismatch { .. }
        }
    ));
    assert_eq!(
        import_idx(&images, Some(&idx_labels(&[1, 2])), NEVER)
            .unwrap_err()
            .to_string(),
        "3 images but 2 labels"
    );
    assert!(matches!(
        import_idx(&images, Some(&images), NEVER).unwrap_err(),
        ImportError::Idx {
            file: "the labels file",
            error: IdxError::WrongRank { .. }
        }
    ));
    assert!(matches!(
        import_idx(&idx_images(2, 0, 4, &[]), None, NEVER).unwrap_err(),
        ImportError::Idx {
            error: IdxError::WrongImageSize { .. },
            ..
        }
    ));
    // Dimensions whose product overflows 64 bits (to 0) promise more data than any file has
    // (found by the fuzzer: `fuzz/fuzz_targets/idx.rs`).
    let overflowing = [0, 0, 8, 3, 0, 0, 0x80, 0, 0x2d, 0, 0, 0, 0x36, 0, 0, 0];
    assert!(matches!(
        import_idx(&overflowing, None, NEVER).unwrap_err(),
        ImportError::Idx {
            error: IdxError::LengthMismatch { actual: 0, .. },
            ..
        }
    ));
    let many = MAX_IMAGES + 1;
    assert_eq!(
        import_idx(&idx_images(many, 1, 1, &vec![0; many]), None, NEVER).unwrap_err(),
        ImportError::TooMany(many)
    );
}
