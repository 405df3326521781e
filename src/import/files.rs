//! A set of image files — a folder or a zip — decoded by the caller (the browser's decoders in
//! a worker, the `image` crate natively) and converted here. A file's first sub-folder under
//! the set's root names its label.

use std::fmt;

use super::{
    ConvertOptions, Converter, ImportError, Imported, MAX_IMAGE_PIXELS, MAX_IMAGES, Sizes,
    grey_from_rgba, labels_from_keys,
};
use crate::data::Dataset;

/// The image formats a set of files may hold, told apart by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// WebP.
    WebP,
    /// GIF (its first frame).
    Gif,
}

impl ImageFormat {
    /// The format of `bytes` by their signature, if it is one of these.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(Self::Jpeg)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(Self::WebP)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else {
            None
        }
    }

    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Png => "PNG",
            Self::Jpeg => "JPEG",
            Self::WebP => "WebP",
            Self::Gif => "GIF",
        }
    }
}

/// Why a file of the set was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Not a PNG, JPEG, WebP or GIF file.
    NotAnImage,
    /// An image the decoder refused.
    Broken {
        /// Its format.
        format: ImageFormat,
        /// What the decoder said.
        error: String,
    },
    /// More pixels than [`MAX_IMAGE_PIXELS`].
    TooLarge {
        /// Its width.
        width: u64,
        /// Its height.
        height: u64,
    },
    /// A file of a zip that could not be read out of it (an unsupported compression, a
    /// damaged entry).
    Unreadable(String),
    /// A file beside an IDX pair that is not part of it.
    Unpaired,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnImage => f.write_str("not a PNG, JPEG, WebP or GIF image"),
            Self::Broken { format, error } => write!(f, "a broken {}: {error}", format.name()),
            Self::TooLarge { width, height } => write!(
                f,
                "{width} × {height} pixels, more than the {MAX_IMAGE_PIXELS} an image may have"
            ),
            Self::Unreadable(error) => write!(f, "unreadable: {error}"),
            Self::Unpaired => {
                f.write_str("not part of the IDX pair (one images file, one labels file)")
            }
        }
    }
}

/// A file left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its path in the set.
    pub path: String,
    /// Why.
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// A decoded image: `width × height` pixels of red, green, blue and alpha (not premultiplied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgba {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width × height × 4` bytes, row after row.
    pub pixels: Vec<u8>,
}

/// Whether an image of `width × height` may be decoded: at most [`MAX_IMAGE_PIXELS`].
pub fn check_size(width: u64, height: u64) -> Result<(), SkipReason> {
    if width.saturating_mul(height) <= MAX_IMAGE_PIXELS {
        Ok(())
    } else {
        Err(SkipReason::TooLarge { width, height })
    }
}

/// Files no one means as data: hidden files and folders (`.DS_Store`) and macOS's resource
/// forks in zips (`__MACOSX/`). They are passed over without a word.
pub fn is_ignored(path: &str) -> bool {
    path.split('/')
        .any(|part| part.starts_with('.') || part == "__MACOSX")
}

/// Images gathered from a set of files, converted as they come.
#[derive(Debug, Clone)]
pub struct FileImport {
    converter: Converter,
    /// Each image's path, for its label.
    paths: Vec<String>,
    skipped: Vec<Skipped>,
    sizes: Option<Sizes>,
}

impl FileImport {
    /// Nothing gathered yet.
    pub fn new(options: ConvertOptions) -> Self {
        Self {
            converter: Converter::new(options),
            paths: Vec::new(),
            skipped: Vec::new(),
            sizes: None,
        }
    }

    /// The format of a file of the set if it is an image; if not, it is recorded as skipped.
    pub fn sniff(&mut self, path: &str, bytes: &[u8]) -> Option<ImageFormat> {
        let format = ImageFormat::sniff(bytes);
        if format.is_none() {
            self.skip(path, SkipReason::NotAnImage);
        }
        format
    }

    /// Adds a decoded image.
    pub fn add(&mut self, path: &str, image: &Rgba) -> Result<(), ImportError> {
        if self.paths.len() == MAX_IMAGES {
            return Err(ImportError::TooMany(MAX_IMAGES + 1));
        }
        let grey: Vec<u8> = image
            .pixels
            .chunks_exact(4)
            .map(|p| grey_from_rgba([p[0], p[1], p[2], p[3]]))
            .collect();
        let pixels = image.width.checked_mul(image.height);
        if image.width == 0 || image.height == 0 || pixels != Some(grey.len()) {
            self.skip(
                path,
                SkipReason::Unreadable(format!(
                    "{} bytes of pixels for {} × {}",
                    image.pixels.len(),
                    image.width,
                    image.height
                )),
            );
            return Ok(());
        }
        self.converter.add(&grey, image.height, image.width);
        self.paths.push(path.to_string());
        self.sizes = Some(match self.sizes {
            None => Sizes::one(image.height, image.width),
            Some(sizes) => sizes.with(image.height, image.width),
        });
        Ok(())
    }

    /// Records a file left out.
    pub fn skip(&mut self, path: &str, reason: SkipReason) {
        self.skipped.push(Skipped {
            path: path.to_string(),
            reason,
        });
    }

    /// The images gathered so far.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether none has been.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The dataset, labelled by sub-folder when every image lies in one and there are at most
    /// ten; an error if no file was an image.
    pub fn finish(self) -> Result<Imported, ImportError> {
        let Some(sizes) = self.sizes else {
            return Err(ImportError::NoImages(self.skipped));
        };
        let mut folders = label_folders(&self.paths);
        // One folder for every image (a zip of one folder) names no classes.
        if folders.iter().all(|f| f.is_some() && *f == folders[0]) {
            folders.iter_mut().for_each(|f| *f = None);
        }
        let (labels, classes, unlabelled) = if folders.iter().all(Option::is_some) {
            let keys: Vec<ClassName> = folders.into_iter().flatten().map(ClassName).collect();
            labels_from_keys(&keys)
        } else if folders.iter().any(Option::is_some) {
            let outside = folders.iter().filter(|f| f.is_none()).count();
            let keys: Vec<ClassName> = folders.into_iter().flatten().map(ClassName).collect();
            let (_, classes, _) = labels_from_keys(&keys);
            let noun = if outside == 1 {
                "image lies"
            } else {
                "images lie"
            };
            (
                None,
                classes,
                Some(format!("{outside} {noun} outside the sub-folders")),
            )
        } else {
            (None, Vec::new(), None)
        };
        let (images, inverted) = self.converter.finish();
        let dataset = match labels {
            Some(labels) => {
                Dataset::labelled(images, labels).map_err(|error| ImportError::Idx {
                    file: "the labels",
                    error,
                })?
            }
            None => Dataset::new(images),
        };
        Ok(Imported {
            dataset,
            sizes,
            inverted,
            classes,
            unlabelled,
            skipped: self.skipped,
        })
    }
}

/// A class named by a folder: ordered by number when both names are numbers ("2" before
/// "10"), by name otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClassName(String);

impl ClassName {
    fn number(&self) -> Option<u64> {
        self.0.parse().ok()
    }
}

impl Ord for ClassName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self.number(), other.number()) {
            (Some(a), Some(b)) => a.cmp(&b).then_with(|| self.0.cmp(&other.0)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => self.0.cmp(&other.0),
        }
    }
}

impl PartialOrd for ClassName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ClassName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Each path's label folder: its first folder under the set's root, after the folders every
/// path shares (a zip of one folder, `digits/3/a.png`) are set aside; `None` for a file at the
/// root.
fn label_folders(paths: &[String]) -> Vec<Option<String>> {
    let parts: Vec<Vec<&str>> = paths
        .iter()
        .map(|p| p.split('/').filter(|s| !s.is_empty()).collect())
        .collect();
    let mut shared = 0;
    // A folder every path lies under, with at least a folder more below it.
    while !parts.is_empty()
        && parts.iter().all(|p| p.len() >= shared + 3)
        && parts.iter().all(|p| p[shared] == parts[0][shared])
    {
        shared += 1;
    }
    parts
        .iter()
        .map(|p| (p.len() >= shared + 2).then(|| p[shared].to_string()))
        .collect()
}
