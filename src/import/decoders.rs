//! What the thread that imports brings: image decoders and decompressors. The browser's are
//! asynchronous (promises) and live in the web layer; the native ones (`super::native`) answer
//! at once.

use std::future::Future;
use std::pin::Pin;

use thiserror::Error;

use super::{ImageFormat, Rgba, SkipReason};

/// A decoder's answer, perhaps still to come.
pub type Decoding<T> = Pin<Box<dyn Future<Output = T>>>;

/// How compressed bytes are packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// Raw deflate (a zip's deflated file).
    Deflate,
    /// A gzip file.
    Gzip,
}

/// Why bytes did not inflate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InflateError {
    /// They expand past the limit asked.
    #[error("they expand past the limit")]
    TooLarge,
    /// They are not valid compressed data.
    #[error("{0}")]
    Broken(String),
}

/// Image decoders and decompressors.
pub trait Decoders {
    /// Decodes one image (a GIF's first frame): its pixels, or why it is skipped.
    fn image(&self, format: ImageFormat, bytes: Vec<u8>) -> Decoding<Result<Rgba, SkipReason>>;
    /// Inflates `bytes`, refusing to expand past `limit` bytes.
    fn inflate(
        &self,
        packing: Packing,
        bytes: Vec<u8>,
        limit: u64,
    ) -> Decoding<Result<Vec<u8>, InflateError>>;
}
