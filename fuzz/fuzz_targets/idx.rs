//! The IDX parsers never panic: any bytes give images/labels or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mnist_gan_web::idx::{check_pairing, parse_images, parse_labels};

fuzz_target!(|data: &[u8]| {
    let images = parse_images(data);
    let labels = parse_labels(data);
    if let (Ok(images), Ok(labels)) = (&images, &labels) {
        let _ = check_pairing(images, labels);
    }
    if let Ok(images) = images {
        assert_eq!(images.pixels.len(), images.count * 784);
    }
});
