//! What a visitor brings, sorted out: files (a folder's, or picked one by one), gzipped or not,
//! each an image, a zip of images, or one of an IDX pair. The decoders are the caller's and
//! may take their time (the browser's answer with promises).

use std::collections::VecDeque;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use serde::{Deserialize, Serialize};

use super::archive::{Archive, Member, Method};
use super::{
    ConvertOptions, Decoders, Decoding, FileImport, ImageFormat, ImportError, Imported,
    InflateError, MAX_IMAGE_PIXELS, MAX_SOURCE_BYTES, Packing, Rgba, SkipReason, Skipped,
    import_idx, is_ignored,
};

/// A file to import: its path (under the folder it came from, or its name) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Its path, with `/` between folders.
    pub path: String,
    /// Its bytes.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

const IDX_IMAGES: [u8; 4] = [0, 0, 8, 3];
const IDX_LABELS: [u8; 4] = [0, 0, 8, 1];

/// Whether `bytes` open a zip (a local file header, or the end of an empty one).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Whether `bytes` are gzip's.
fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// What is left of the source limit once `used` bytes are read.
fn budget(used: u64) -> Result<u64, ImportError> {
    MAX_SOURCE_BYTES
        .checked_sub(used)
        .ok_or(ImportError::TooLarge)
}

/// Every file imported: an IDX images file (with the labels file among them, if there is one)
/// makes the dataset alone; otherwise every image, in the files and in the zips among them,
/// decoded by `decoders`, its sub-folder naming its label. The files are taken in the order of
/// their paths, however they came (a folder walked, files picked or dropped): the order makes
/// the dataset, its SHA-256 and its held-out tenth, natively and in the page alike.
pub async fn import_files<D: Decoders + ?Sized>(
    mut files: Vec<SourceFile>,
    options: ConvertOptions,
    decoders: &D,
) -> Result<Imported, ImportError> {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let total: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
    if total > MAX_SOURCE_BYTES {
        return Err(ImportError::TooLarge);
    }
    let mut expanded = 0;
    let mut unpacked = Vec::with_capacity(files.len());
    for file in files {
        let bytes = if is_gzip(&file.bytes) {
            let limit = budget(expanded)?;
            match decoders.inflate(Packing::Gzip, file.bytes, limit).await {
                Ok(bytes) => bytes,
                Err(InflateError::TooLarge) => return Err(ImportError::TooLarge),
                Err(InflateError::Broken(error)) => {
                    return Err(ImportError::Gzip {
                        file: file.path,
                        error,
                    });
                }
            }
        } else {
            file.bytes
        };
        expanded += bytes.len() as u64;
        budget(expanded)?;
        unpacked.push(SourceFile { bytes, ..file });
    }
    if unpacked.iter().any(|f| f.bytes.starts_with(&IDX_IMAGES)) {
        return import_idx_files(unpacked, options);
    }
    let mut import = FileImport::new(options);
    let mut images = InOrder::new(decoders);
    let mut unzipped = 0;
    for file in unpacked {
        if is_ignored(&file.path) {
            continue;
        }
        if !is_zip(&file.bytes) {
            images.add(&mut import, &file.path, file.bytes).await?;
            continue;
        }
        for member in Archive::open(&file.bytes)?.members {
            match unzip(&member, &mut unzipped, decoders).await? {
                Ok(bytes) => images.add(&mut import, &member.path, bytes).await?,
                Err(reason) => images.skip(&mut import, &member.path, reason).await?,
            }
        }
    }
    images.finish(&mut import).await?;
    import.finish()
}

/// A zip's file read out, inflated within what is left of the limit after the `unzipped` bytes
/// so far (which it adds to, whether its contents check out or not: files that share their
/// stored bytes, or fail their checksum, count each time), and checked; or why it is skipped.
/// Expanding past the limit refuses the whole zip.
async fn unzip<D: Decoders + ?Sized>(
    member: &Member<'_>,
    unzipped: &mut u64,
    decoders: &D,
) -> Result<Result<Vec<u8>, SkipReason>, ImportError> {
    let data = match &member.data {
        Ok(data) => *data,
        Err(reason) => return Ok(Err(reason.clone())),
    };
    let limit = MAX_SOURCE_BYTES
        .checked_sub(*unzipped)
        .ok_or(ImportError::Expanded)?;
    // A file counts its stored bytes at least, even when it does not inflate.
    *unzipped += data.len() as u64;
    let contents = match member.method {
        Method::Stored if data.len() as u64 > limit => return Err(ImportError::Expanded),
        Method::Stored => data.to_vec(),
        Method::Deflated => {
            let inflated = decoders.inflate(Packing::Deflate, data.to_vec(), limit);
            match inflated.await {
                Ok(contents) => {
                    *unzipped += (contents.len() as u64).saturating_sub(data.len() as u64);
                    contents
                }
                Err(InflateError::TooLarge) => return Err(ImportError::Expanded),
                Err(InflateError::Broken(error)) => {
                    return Ok(Err(SkipReason::Unreadable(format!("damaged: {error}"))));
                }
            }
        }
        Method::Other(method) => {
            return Ok(Err(SkipReason::Unreadable(format!(
                "compressed with method {method}, not stored or deflated"
            ))));
        }
    };
    Ok(member.check(contents))
}

/// [`import_files`] with decoders that answer at once (natively, and in the fuzzer).
pub fn import_files_now(
    files: Vec<SourceFile>,
    options: ConvertOptions,
    decoders: &impl Decoders,
) -> Result<Imported, ImportError> {
    let mut future = pin!(import_files(files, options, decoders));
    // Every decoder answers when asked: the first poll completes.
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result,
        Poll::Pending => Err(ImportError::Deferred),
    }
}

/// Images decoded at once, at most: the browser decodes on its own threads, so a few in
/// flight keep them busy while this thread records the ones done.
const IN_FLIGHT: usize = 32;
/// Pixels (as their headers declare them) being decoded at once, at most, beyond one image:
/// 32 images of the largest size allowed would hold 4 GB of bitmaps.
const IN_FLIGHT_PIXELS: u64 = MAX_IMAGE_PIXELS;

/// An image being decoded, or known skipped.
type Decoded = Decoding<Result<Rgba, SkipReason>>;

/// The files of an import in the order they came, each decoding (or known skipped) while
/// later ones start; recorded in that order, so the result does not depend on which decode
/// finishes first.
struct InOrder<'d, D: ?Sized> {
    decoders: &'d D,
    /// Each file's path, its decode, and the pixels its header declares.
    queue: VecDeque<(String, Decoded, u64)>,
    /// The pixels of the decodes in the queue.
    pixels: u64,
}

impl<'d, D: Decoders + ?Sized> InOrder<'d, D> {
    fn new(decoders: &'d D) -> Self {
        Self {
            decoders,
            queue: VecDeque::new(),
            pixels: 0,
        }
    }

    /// One file: decoded if it is an image, skipped as not one otherwise.
    async fn add(
        &mut self,
        import: &mut FileImport,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<(), ImportError> {
        let Some(format) = ImageFormat::sniff(&bytes) else {
            return self.skip(import, path, SkipReason::NotAnImage).await;
        };
        let pixels = format
            .dimensions(&bytes)
            .map_or(0, |(width, height)| width.saturating_mul(height));
        // Room first: at most IN_FLIGHT decodes, and a large image waits for the others.
        while !self.queue.is_empty()
            && (self.queue.len() >= IN_FLIGHT || self.pixels + pixels > IN_FLIGHT_PIXELS)
        {
            self.record_one(import).await?;
        }
        let decoding = self.decoders.image(format, bytes);
        self.pixels += pixels;
        self.queue.push_back((path.to_string(), decoding, pixels));
        Ok(())
    }

    /// A file skipped for `reason`, recorded in its place.
    async fn skip(
        &mut self,
        import: &mut FileImport,
        path: &str,
        reason: SkipReason,
    ) -> Result<(), ImportError> {
        while self.queue.len() >= IN_FLIGHT {
            self.record_one(import).await?;
        }
        let skipped: Decoded = Box::pin(std::future::ready(Err(reason)));
        self.queue.push_back((path.to_string(), skipped, 0));
        Ok(())
    }

    /// Records the oldest file.
    async fn record_one(&mut self, import: &mut FileImport) -> Result<(), ImportError> {
        if let Some((path, decoding, pixels)) = self.queue.pop_front() {
            self.pixels -= pixels;
            match decoding.await {
                Ok(image) => import.add(&path, &image)?,
                Err(reason) => import.skip(&path, reason),
            }
        }
        Ok(())
    }

    /// Records every file left.
    async fn finish(mut self, import: &mut FileImport) -> Result<(), ImportError> {
        while !self.queue.is_empty() {
            self.record_one(import).await?;
        }
        Ok(())
    }
}

/// The IDX pair among `files`: the first images file and the first labels file; the others
/// are skipped, said so.
fn import_idx_files(
    files: Vec<SourceFile>,
    options: ConvertOptions,
) -> Result<Imported, ImportError> {
    let images = files.iter().position(|f| f.bytes.starts_with(&IDX_IMAGES));
    let labels = files.iter().position(|f| f.bytes.starts_with(&IDX_LABELS));
    let Some(images) = images else {
        return Err(ImportError::NoImages(Vec::new()));
    };
    let mut imported = import_idx(
        &files[images].bytes,
        labels.map(|l| &files[l].bytes[..]),
        options,
    )?;
    imported.skipped = files
        .iter()
        .enumerate()
        .filter(|&(i, f)| Some(i) != labels && i != images && !is_ignored(&f.path))
        .map(|(_, f)| Skipped {
            path: f.path.clone(),
            reason: SkipReason::Unpaired,
        })
        .collect();
    Ok(imported)
}
