//! Natively (`train --data PATH`): a path read as the page reads what a visitor brings — an
//! IDX images file (gzipped or not, with its labels file beside it), a zip of images or a
//! folder of them — decoded with the `image` crate, inflated with flate2, and converted by the
//! same core code.

use std::fs;
use std::io::{Cursor, Read};
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader};

use super::{
    ConvertOptions, Decoders, Decoding, ImageFormat, ImportError, Imported, InflateError,
    MAX_SOURCE_BYTES, Packing, Rgba, SkipReason, SourceFile, check_size, import_files_now,
    is_ignored,
};

/// Decodes one image with the `image` crate (a GIF's first frame), refusing one with more
/// pixels than an image may have before decoding it.
pub fn decode(format: ImageFormat, bytes: &[u8]) -> Result<Rgba, SkipReason> {
    let broken = |error: image::ImageError| SkipReason::Broken {
        format,
        error: error.to_string(),
    };
    let kind = match format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::WebP => image::ImageFormat::WebP,
        ImageFormat::Gif => image::ImageFormat::Gif,
    };
    let reader = || ImageReader::with_format(Cursor::new(bytes), kind);
    let (width, height) = reader().into_dimensions().map_err(broken)?;
    check_size(u64::from(width), u64::from(height))?;
    // Turned as its EXIF orientation says, as the browser's `createImageBitmap` does.
    let mut decoder = reader().into_decoder().map_err(broken)?;
    let orientation = decoder.orientation().map_err(broken)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(broken)?;
    image.apply_orientation(orientation);
    let image = image.into_rgba8();
    Ok(Rgba {
        width: image.width() as usize,
        height: image.height() as usize,
        pixels: image.into_raw(),
    })
}

/// Inflates `bytes` with flate2, refusing past `limit` bytes.
pub fn inflate(packing: Packing, bytes: &[u8], limit: u64) -> Result<Vec<u8>, InflateError> {
    let reader: Box<dyn Read + '_> = match packing {
        Packing::Deflate => Box::new(flate2::read::DeflateDecoder::new(bytes)),
        Packing::Gzip => Box::new(flate2::read::GzDecoder::new(bytes)),
    };
    let mut out = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|error| InflateError::Broken(error.to_string()))?;
    if out.len() as u64 > limit {
        return Err(InflateError::TooLarge);
    }
    Ok(out)
}

/// The `image` crate's decoders and flate2's decompressors, answering at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeDecoders;

impl Decoders for NativeDecoders {
    fn image(&self, format: ImageFormat, bytes: Vec<u8>) -> Decoding<Result<Rgba, SkipReason>> {
        Box::pin(std::future::ready(decode(format, &bytes)))
    }

    fn inflate(
        &self,
        packing: Packing,
        bytes: Vec<u8>,
        limit: u64,
    ) -> Decoding<Result<Vec<u8>, InflateError>> {
        Box::pin(std::future::ready(inflate(packing, &bytes, limit)))
    }
}

/// `path` as a file to import, named relative to `root`.
fn source(root: &Path, path: &Path) -> Result<SourceFile, ImportError> {
    let bytes = fs::read(path).map_err(|error| ImportError::Read {
        path: path.display().to_string(),
        error: error.to_string(),
    })?;
    let name = path.strip_prefix(root).unwrap_or(path).to_string_lossy();
    Ok(SourceFile {
        path: name.replace('\\', "/"),
        bytes,
    })
}

/// What `path` holds, imported: a folder of images, a zip of them, or an IDX images file with
/// the labels file beside it when there is one (`…images-idx3…` → `…labels-idx1…`).
pub fn import_path(path: &Path, options: ConvertOptions) -> Result<Imported, ImportError> {
    let files = if path.is_dir() {
        folder(path)?
    } else {
        let parent = path.parent().unwrap_or(Path::new(""));
        let mut files = vec![source(parent, path)?];
        let name = files[0].path.clone();
        let labels = path.with_file_name(name.replace("images-idx3", "labels-idx1"));
        if labels != path && labels.exists() {
            files.push(source(parent, &labels)?);
        }
        files
    };
    let name = (!path.is_dir()).then(|| files[0].path.clone());
    match import_files_now(files, options, &NativeDecoders) {
        // One file that is neither an IDX file, a zip nor an image.
        Err(ImportError::NoImages(skipped))
            if name.is_some() && skipped.len() == 1 && Some(&skipped[0].path) == name.as_ref() =>
        {
            Err(ImportError::Unknown(path.display().to_string()))
        }
        result => result,
    }
}

/// Every file under `root` (hidden ones left out; `import_files` puts them in order).
fn folder(root: &Path) -> Result<Vec<SourceFile>, ImportError> {
    let mut paths = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let listing = fs::read_dir(&folder).map_err(|error| ImportError::Read {
            path: folder.display().to_string(),
            error: error.to_string(),
        })?;
        for entry in listing.flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy();
            if is_ignored(&relative.replace('\\', "/")) {
                continue;
            }
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => folders.push(path),
                Ok(kind) if kind.is_file() => paths.push(path),
                _ => {}
            }
        }
    }
    // Their sizes first: nothing is read from a folder over the limit.
    let bytes: u64 = paths
        .iter()
        .filter_map(|path| fs::metadata(path).ok())
        .map(|metadata| metadata.len())
        .sum();
    if bytes > MAX_SOURCE_BYTES {
        return Err(ImportError::TooLarge);
    }
    paths.iter().map(|path| source(root, path)).collect()
}
