//! The IDX parsers and the import of other IDX files never panic: any bytes give images/labels
//! or an error. The first byte splits the rest into a labels file and an images file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mnist_gan_web::idx::{check_pairing, parse_images, parse_labels};
use mnist_gan_web::import::{ConvertOptions, Fit, Invert, import_idx};

fuzz_target!(|data: &[u8]| {
    let images = parse_images(data);
    let labels = parse_labels(data);
    if let (Ok(images), Ok(labels)) = (&images, &labels) {
        let _ = check_pairing(images, labels);
    }
    if let Ok(images) = images {
        assert_eq!(images.pixels.len(), images.count * 784);
    }
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let (labels, images) = rest.split_at(usize::from(first).min(rest.len()));
    let options = ConvertOptions {
        fit: if first % 2 == 0 { Fit::Pad } else { Fit::Crop },
        invert: [Invert::Auto, Invert::Always, Invert::Never][usize::from(first % 3)],
        transpose: first % 5 == 0,
    };
    let labels = (!labels.is_empty()).then_some(labels);
    if let Ok(imported) = import_idx(images, labels, options) {
        let dataset = imported.dataset;
        assert_eq!(dataset.images().pixels.len(), dataset.len() * 784);
        if let Some(labels) = dataset.labels() {
            assert!(labels.iter().all(|&l| l < 10));
        }
    }
});
