//! The IDX format of MNIST: a big-endian header (magic, then one u32 per dimension) and raw bytes.
//! The core takes bytes, never paths: the page fetches them, tests read them from disk.

use thiserror::Error;

/// Side of an MNIST image.
pub const IMAGE_SIDE: usize = 28;
/// Pixels in an MNIST image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

const UNSIGNED_BYTE: u8 = 0x08;

/// Every way an IDX file can be wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdxError {
    /// No bytes at all.
    #[error("the file is empty")]
    Empty,
    /// Fewer bytes than the header needs.
    #[error("the file is truncated: its header needs {needed} bytes but it has {actual}")]
    TruncatedHeader {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes present.
        actual: usize,
    },
    /// The first two bytes of the magic number are not zero.
    #[error("not an IDX file: magic number {magic:#010x} does not start with two zero bytes")]
    BadMagic {
        /// The magic number found.
        magic: u32,
    },
    /// The element type is not unsigned bytes.
    #[error("unsupported element type {found:#04x}: MNIST stores unsigned bytes (0x08)")]
    WrongElementType {
        /// The type byte found.
        found: u8,
    },
    /// Images need rank 3, labels rank 1.
    #[error("expected an IDX file of rank {expected} ({what}), found rank {found}")]
    WrongRank {
        /// What the file was expected to hold.
        what: &'static str,
        /// The rank expected.
        expected: u8,
        /// The rank found.
        found: u8,
    },
    /// Images must be 28×28.
    #[error("images are {rows}×{cols}, expected 28×28")]
    WrongImageSize {
        /// Rows per image.
        rows: u32,
        /// Columns per image.
        cols: u32,
    },
    /// The header promises zero items.
    #[error("the file holds no items")]
    NoItems,
    /// The data after the header is not as long as the header says.
    #[error("the header promises {expected} data bytes but the file has {actual}")]
    LengthMismatch {
        /// Data bytes the header promises.
        expected: u128,
        /// Data bytes present.
        actual: u64,
    },
    /// A label outside 0..=9.
    #[error("label {value} at index {index} is not a digit")]
    LabelOutOfRange {
        /// Its index.
        index: usize,
        /// Its value.
        value: u8,
    },
    /// Images and labels do not pair up.
    #[error("{images} images but {labels} labels")]
    CountMismatch {
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },
}

/// Parsed MNIST images: `count` images of 28×28 bytes, row-major, one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// `count * 784` pixels, 0 (background) to 255 (ink).
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// The pixels of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        &self.pixels[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS]
    }
}

/// Reads the header of an IDX file of unsigned bytes with the given rank; returns the
/// dimensions and the data that follows.
fn parse_header<'a>(
    bytes: &'a [u8],
    what: &'static str,
    rank: u8,
) -> Result<(Vec<u32>, &'a [u8]), IdxError> {
    if bytes.is_empty() {
        return Err(IdxError::Empty);
    }
    let header_len = 4 + 4 * usize::from(rank);
    if bytes.len() < 4 {
        return Err(IdxError::TruncatedHeader {
            needed: header_len,
            actual: bytes.len(),
        });
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(IdxError::BadMagic { magic });
    }
    if bytes[2] != UNSIGNED_BYTE {
        return Err(IdxError::WrongElementType { found: bytes[2] });
    }
    if bytes[3] != rank {
        return Err(IdxError::WrongRank {
            what,
            expected: rank,
            found: bytes[3],
        });
    }
    if bytes.len() < header_len {
        return Err(IdxError::TruncatedHeader {
            needed: header_len,
            actual: bytes.len(),
        });
    }
    let dims = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect::<Vec<_>>();
    if dims[0] == 0 {
        return Err(IdxError::NoItems);
    }
    // Three u32 dimensions may overflow a u64: the product is taken in u128, where they fit.
    let expected: u128 = dims.iter().map(|&d| u128::from(d)).product();
    let data = &bytes[header_len..];
    if expected != data.len() as u128 {
        return Err(IdxError::LengthMismatch {
            expected,
            actual: data.len() as u64,
        });
    }
    Ok((dims, data))
}

/// An IDX3 file's images of any size, not yet converted: `count` images of `rows × cols`
/// bytes, row-major, one after another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawImages<'a> {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count × rows × cols` bytes.
    pub data: &'a [u8],
}

impl RawImages<'_> {
    /// The bytes of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.rows * self.cols;
        &self.data[index * size..(index + 1) * size]
    }
}

/// Parses an IDX3 file of unsigned-byte images of any size (Fashion-MNIST, KMNIST, EMNIST and
/// the like), for `import` to convert.
pub fn parse_any_images(bytes: &[u8]) -> Result<RawImages<'_>, IdxError> {
    let (dims, data) = parse_header(bytes, "images", 3)?;
    if dims[1] == 0 || dims[2] == 0 {
        return Err(IdxError::WrongImageSize {
            rows: dims[1],
            cols: dims[2],
        });
    }
    Ok(RawImages {
        count: dims[0] as usize,
        rows: dims[1] as usize,
        cols: dims[2] as usize,
        data,
    })
}

/// Parses an IDX1 file of labels of any value (EMNIST's letters go past 9).
pub fn parse_any_labels(bytes: &[u8]) -> Result<&[u8], IdxError> {
    Ok(parse_header(bytes, "labels", 1)?.1)
}

/// Parses an IDX3 file of 28×28 unsigned-byte images.
pub fn parse_images(bytes: &[u8]) -> Result<IdxImages, IdxError> {
    let (dims, data) = parse_header(bytes, "images", 3)?;
    if dims[1] as usize != IMAGE_SIDE || dims[2] as usize != IMAGE_SIDE {
        return Err(IdxError::WrongImageSize {
            rows: dims[1],
            cols: dims[2],
        });
    }
    Ok(IdxImages {
        count: dims[0] as usize,
        pixels: data.to_vec(),
    })
}

/// Parses an IDX1 file of digit labels (each 0..=9).
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    let (_, data) = parse_header(bytes, "labels", 1)?;
    if let Some((index, &value)) = data.iter().enumerate().find(|&(_, &v)| v > 9) {
        return Err(IdxError::LabelOutOfRange { index, value });
    }
    Ok(data.to_vec())
}

/// Checks that images and labels pair up (the app shows a labelled training image).
pub fn check_pairing(images: &IdxImages, labels: &[u8]) -> Result<(), IdxError> {
    if images.count != labels.len() {
        return Err(IdxError::CountMismatch {
            images: images.count,
            labels: labels.len(),
        });
    }
    Ok(())
}
