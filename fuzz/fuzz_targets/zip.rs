//! The import of a zip of images (or of any file brought: an image, an IDX file, gzipped or
//! not) never panics and never expands past its limit: any bytes give
//! a dataset or an error. The images' decoder is a stand-in (the first byte after the signature
//! is the width, the rest grey levels) so the fuzzer spends its time in the zip reader, the
//! labels from folders and the conversion, not in an image codec.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mnist_gan_web::import::native::NativeDecoders;
use mnist_gan_web::import::{
    ConvertOptions, Decoders, Decoding, ImageFormat, InflateError, Packing, Rgba, SkipReason,
    SourceFile, import_files_now,
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

/// The stand-in image decoder, and flate2 as `train --data` inflates.
struct Fuzzing;

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
        NativeDecoders.inflate(packing, bytes, limit)
    }
}

fuzz_target!(|data: &[u8]| {
    let file = SourceFile {
        path: "fuzzed.zip".into(),
        bytes: data.to_vec(),
    };
    if let Ok(imported) = import_files_now(vec![file], ConvertOptions::default(), &Fuzzing) {
        let dataset = &imported.dataset;
        assert!(!dataset.is_empty());
        assert_eq!(dataset.images().pixels.len(), dataset.len() * 784);
        if let Some(labels) = dataset.labels() {
            assert!(labels.iter().all(|&l| usize::from(l) < imported.classes.len()));
        }
        let _ = imported.summary();
    }
});
