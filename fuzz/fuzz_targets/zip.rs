//! The import of a zip of images (or of any file brought: an image, an IDX file, gzipped or
//! not) never panics and never expands past its limit: any bytes give
//! a dataset or an error. The images' decoder is a stand-in (the first byte after the signature
//! is the width, the rest grey levels) so the fuzzer spends its time in the zip reader, the
//! labels from folders and the conversion, not in an image codec.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cell::Cell;

use mnist_gan_web::import::native;
use mnist_gan_web::import::{
    ConvertOptions, Decoders, Decoding, ImageFormat, InflateError, MAX_SOURCE_BYTES, Packing,
    Rgba, SkipReason, SourceFile, import_files_now,
};

/// Grey levels after a PNG's 8-byte signature, `width` from the first of them.
fn decode(_: ImageFormat, bytes: &[u8]) -> Result<Rgba, SkipReason> {
    let body = bytes.get(8..).unwrap_or_default();
    let Some((&width, levels)) = body.split_first() else {
        return Err(SkipReason::Unreadable("empty".into()));
    };
    let width = usize::from(width.max(1));
    let height = levels.len() / width;
    let pixels = levels[..width * height]
        .iter()
        .flat_map(|&l| [l, l, l, 255])
        .collect();
    Ok(Rgba {
        width,
        height,
        pixels,
    })
}

/// The stand-in image decoder, and flate2 as `train --data` inflates, counting what it inflates.
#[derive(Default)]
struct Fuzzing {
    inflated: Cell<u64>,
}

impl Decoders for Fuzzing {
    fn image(&self, format: ImageFormat, bytes: Vec<u8>) -> Decoding<Result<Rgba, SkipReason>> {
        Box::pin(std::future::ready(decode(format, &bytes)))
    }

    fn inflate(
        &self,
        packing: Packing,
        bytes: Vec<u8>,
        limit: u64,
    ) -> Decoding<Result<Vec<u8>, InflateError>> {
        let inflated = native::inflate(packing, &bytes, limit);
        if let Ok(contents) = &inflated {
            self.inflated.set(self.inflated.get() + contents.len() as u64);
        }
        Box::pin(std::future::ready(inflated))
    }
}

fuzz_target!(|data: &[u8]| {
    let file = SourceFile {
        path: "fuzzed.zip".into(),
        bytes: data.to_vec(),
    };
    let fuzzing = Fuzzing::default();
    let imported = import_files_now(vec![file], ConvertOptions::default(), &fuzzing);
    // A gzip file and a zip inside it each expand at most to the limit.
    assert!(fuzzing.inflated.get() <= 2 * MAX_SOURCE_BYTES);
    if let Ok(imported) = imported {
        let dataset = &imported.dataset;
        assert!(!dataset.is_empty());
        assert_eq!(dataset.images().pixels.len(), dataset.len() * 784);
        if let Some(labels) = dataset.labels() {
            assert!(labels.iter().all(|&l| usize::from(l) < imported.classes.len()));
        }
        let _ = imported.summary();
    }
});
