//! A zip of images, read through the `rawzip` crate: its directory and each file's stored bytes.
//! Inflating is the caller's ([`super::Decoders::inflate`]: the browser's own
//! `DecompressionStream`, flate2 natively), with a limit on what the files expand to — the sizes
//! a zip declares can lie — and each file's checksum checked after.

use rawzip::{CompressionMethod, ZipArchive, ZipSliceArchive};

use super::{ImportError, MAX_FILES, MAX_SOURCE_BYTES, SkipReason, is_ignored};

/// How a file of a zip is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// As it is.
    Stored,
    /// Deflated (raw deflate).
    Deflated,
    /// Anything else (bzip2, LZMA, zstd…), which is skipped.
    Other(u16),
}

/// One file of a zip, not yet inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'a> {
    /// Its path in the zip.
    pub path: String,
    /// How it is stored.
    pub method: Method,
    /// Its stored bytes, or why they cannot be found.
    pub data: Result<&'a [u8], SkipReason>,
    /// The CRC-32 of its contents.
    pub crc: u32,
}

impl Member<'_> {
    /// Its contents, `inflated` from the stored bytes when it is deflated, checked against its
    /// checksum; or why it is skipped.
    pub fn check(&self, contents: Vec<u8>) -> Result<Vec<u8>, SkipReason> {
        if rawzip::crc32(&contents) == self.crc {
            Ok(contents)
        } else {
            Err(SkipReason::Unreadable(
                "damaged: its contents do not match their checksum".into(),
            ))
        }
    }
}

/// A zip's files (folders and files no one means as data left out).
#[derive(Debug)]
pub struct Archive<'a> {
    /// The files, in the directory's order.
    pub members: Vec<Member<'a>>,
}

fn zip_error(error: rawzip::Error) -> ImportError {
    ImportError::Zip(error.to_string())
}

impl<'a> Archive<'a> {
    /// Reads a zip's directory.
    pub fn open(bytes: &'a [u8]) -> Result<Self, ImportError> {
        if bytes.len() as u64 > MAX_SOURCE_BYTES {
            return Err(ImportError::TooLarge);
        }
        let archive: ZipSliceArchive<&[u8]> = ZipArchive::from_slice(bytes).map_err(zip_error)?;
        let mut entries = archive.entries();
        let mut members = Vec::new();
        let mut declared = 0u64;
        while let Some(entry) = entries.next_entry().map_err(zip_error)? {
            let raw = entry.file_path();
            let path = String::from_utf8_lossy(raw.as_bytes()).replace('\\', "/");
            if entry.is_dir() || is_ignored(&path) {
                continue;
            }
            if members.len() == MAX_FILES {
                return Err(ImportError::TooManyFiles);
            }
            declared = declared.saturating_add(entry.uncompressed_size_hint());
            if declared > MAX_SOURCE_BYTES {
                return Err(ImportError::Expanded);
            }
            let method = match entry.compression_method() {
                CompressionMethod::STORE => Method::Stored,
                CompressionMethod::DEFLATE => Method::Deflated,
                other => Method::Other(other.as_u16()),
            };
            let data = if entry.flags().is_encrypted() {
                Err(SkipReason::Unreadable("encrypted".into()))
            } else {
                // Its stored bytes' place in `bytes` (a borrow of `bytes`, not of the archive).
                archive
                    .get_entry(entry.wayfinder())
                    .map_err(|error| SkipReason::Unreadable(error.to_string()))
                    .and_then(|file| {
                        let (start, end) = file.compressed_data_range();
                        usize::try_from(start)
                            .ok()
                            .zip(usize::try_from(end).ok())
                            .and_then(|(start, end)| bytes.get(start..end))
                            .ok_or_else(|| SkipReason::Unreadable("outside the zip".into()))
                    })
            };
            members.push(Member {
                path,
                method,
                data,
                crc: entry.crc32(),
            });
        }
        Ok(Self { members })
    }
}
