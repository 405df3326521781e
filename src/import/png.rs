//! PNGs taken apart and put together here, around an inflater the caller brings: in the page's
//! import worker the browser's `DecompressionStream` inflates the image data, which costs a
//! tenth of a `createImageBitmap` decode (its blob, its decode thread, the canvas read back) per
//! small image, and adds no inflater to the wasm (the `png` crate would add ~50 KB gzipped).
//! Only what a PNG decoder must do is here — chunks and their checksums, the five filters, the
//! colour types and bit depths, palettes and transparency; interlaced images and images with
//! EXIF orientation are left to the browser ([`Png::parse`] says so), and so is any PNG this
//! reader refuses, so the browser's decoder stays the judge of what is broken.

use super::{ImageFormat, Rgba, SkipReason, check_size};

/// How a PNG's samples make a pixel (its IHDR colour type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Colour {
    Grey,
    Rgb,
    Indexed,
    GreyAlpha,
    Rgba,
}

impl Colour {
    fn from_type(code: u8, depth: u8) -> Option<Self> {
        let (colour, depths): (Self, &[u8]) = match code {
            0 => (Self::Grey, &[1, 2, 4, 8, 16]),
            2 => (Self::Rgb, &[8, 16]),
            3 => (Self::Indexed, &[1, 2, 4, 8]),
            4 => (Self::GreyAlpha, &[8, 16]),
            6 => (Self::Rgba, &[8, 16]),
            _ => return None,
        };
        depths.contains(&depth).then_some(colour)
    }

    fn samples(self) -> usize {
        match self {
            Self::Grey | Self::Indexed => 1,
            Self::GreyAlpha => 2,
            Self::Rgb => 3,
            Self::Rgba => 4,
        }
    }
}

/// A PNG read up to its pixels: the header, palette and transparency, and the image data
/// (zlib, still deflated).
#[derive(Debug, Clone)]
pub struct Png {
    width: usize,
    height: usize,
    depth: u8,
    colour: Colour,
    /// RGBA for each palette index (alpha from `tRNS`, else opaque).
    palette: Vec<[u8; 4]>,
    /// The one grey or RGB value (16-bit samples) that is transparent (`tRNS`).
    key: Option<[u16; 3]>,
    /// The `IDAT` chunks' bytes, joined: one zlib stream.
    pub data: Vec<u8>,
}

impl Png {
    /// `bytes` taken apart; `Ok(None)` for a PNG this reader leaves to the browser (interlaced,
    /// EXIF orientation, anything malformed); an error for one too large to decode.
    pub fn parse(bytes: &[u8]) -> Result<Option<Self>, SkipReason> {
        if ImageFormat::sniff(bytes) != Some(ImageFormat::Png) {
            return Ok(None);
        }
        let mut png: Option<Png> = None;
        let mut at = 8;
        loop {
            // A truncated or damaged chunk: the browser says what is wrong.
            let Some((kind, body)) = chunk(bytes, at) else {
                return Ok(None);
            };
            at += 12 + body.len();
            match (kind, png.as_mut()) {
                (b"IHDR", None) => match header(body)? {
                    Some(header) => png = Some(header),
                    None => return Ok(None),
                },
                (b"IHDR", Some(_)) | (_, None) => return Ok(None),
                (b"PLTE", Some(png)) => {
                    png.palette = body
                        .chunks_exact(3)
                        .map(|c| [c[0], c[1], c[2], 255])
                        .collect();
                }
                (b"tRNS", Some(png)) => png.transparency(body),
                (b"IDAT", Some(png)) => png.data.extend_from_slice(body),
                // The browser turns it as its EXIF orientation says.
                (b"eXIf", Some(_)) => return Ok(None),
                (b"IEND", Some(_)) => break,
                _ => {}
            }
        }
        Ok(png.filter(|png| {
            !png.data.is_empty() && (png.colour != Colour::Indexed || !png.palette.is_empty())
        }))
    }

    fn transparency(&mut self, body: &[u8]) {
        let sample = |i: usize| {
            body.get(2 * i..2 * i + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
        };
        match self.colour {
            Colour::Indexed => {
                for (entry, &alpha) in self.palette.iter_mut().zip(body) {
                    entry[3] = alpha;
                }
            }
            Colour::Grey => self.key = sample(0).map(|g| [g, g, g]),
            Colour::Rgb => {
                self.key = sample(0)
                    .zip(sample(1))
                    .zip(sample(2))
                    .map(|((r, g), b)| [r, g, b]);
            }
            Colour::GreyAlpha | Colour::Rgba => {}
        }
    }

    /// Bytes per pixel, at least one (what the filters step back by).
    fn filter_step(&self) -> usize {
        (self.colour.samples() * usize::from(self.depth)).div_ceil(8)
    }

    /// Bytes in one row's samples, after its filter byte.
    fn stride(&self) -> usize {
        (self.width * self.colour.samples() * usize::from(self.depth)).div_ceil(8)
    }

    /// The bytes the image data inflates to: each row's filter byte and samples.
    pub fn inflated_len(&self) -> usize {
        self.height * (1 + self.stride())
    }

    /// The pixels, from the image data inflated (`None` when it is not what the header
    /// declares: the browser decodes such a file instead).
    pub fn rgba(&self, inflated: &[u8]) -> Option<Rgba> {
        let stride = self.stride();
        if inflated.len() < self.inflated_len() {
            return None;
        }
        let step = self.filter_step();
        let mut previous = vec![0u8; stride];
        let mut row = vec![0u8; stride];
        let mut pixels = Vec::with_capacity(self.width * self.height * 4);
        for line in inflated.chunks_exact(stride + 1).take(self.height) {
            row.copy_from_slice(&line[1..]);
            unfilter(line[0], &mut row, &previous, step)?;
            self.expand(&row, &mut pixels);
            std::mem::swap(&mut row, &mut previous);
        }
        Some(Rgba {
            width: self.width,
            height: self.height,
            pixels,
        })
    }

    /// One row of samples as RGBA pixels, appended to `out`.
    fn expand(&self, row: &[u8], out: &mut Vec<u8>) {
        let depth = usize::from(self.depth);
        let samples = self.colour.samples();
        // Sample `i` of the row at its own depth (16-bit samples whole).
        let sample = |i: usize| -> u16 {
            match depth {
                16 => u16::from_be_bytes([row[2 * i], row[2 * i + 1]]),
                8 => u16::from(row[i]),
                _ => {
                    let bit = i * depth;
                    let byte = row[bit / 8];
                    u16::from((byte >> (8 - depth - bit % 8)) & ((1 << depth) - 1) as u8)
                }
            }
        };
        // A sample scaled to eight bits: the high byte of sixteen (Chrome's reading within
        // one level; the `image` crate rounds, so natively a 16-bit PNG may differ by one).
        let eight = |value: u16| -> u8 {
            match depth {
                16 => (value >> 8) as u8,
                8 => value as u8,
                _ => (u32::from(value) * 255 / ((1 << depth) - 1)) as u8,
            }
        };
        for x in 0..self.width {
            let s = |k: usize| sample(x * samples + k);
            let pixel = match self.colour {
                Colour::Indexed => self
                    .palette
                    .get(usize::from(s(0)))
                    .copied()
                    .unwrap_or([0, 0, 0, 255]),
                Colour::Grey => {
                    let g = s(0);
                    let alpha = if self.key == Some([g, g, g]) { 0 } else { 255 };
                    [eight(g), eight(g), eight(g), alpha]
                }
                Colour::GreyAlpha => [eight(s(0)), eight(s(0)), eight(s(0)), eight(s(1))],
                Colour::Rgb => {
                    let rgb = [s(0), s(1), s(2)];
                    let alpha = if self.key == Some(rgb) { 0 } else { 255 };
                    [eight(rgb[0]), eight(rgb[1]), eight(rgb[2]), alpha]
                }
                Colour::Rgba => [eight(s(0)), eight(s(1)), eight(s(2)), eight(s(3))],
            };
            out.extend_from_slice(&pixel);
        }
    }
}

/// IHDR: `None` for an interlaced image or an impossible header.
fn header(body: &[u8]) -> Result<Option<Png>, SkipReason> {
    let [
        w0,
        w1,
        w2,
        w3,
        h0,
        h1,
        h2,
        h3,
        depth,
        colour,
        0,
        0,
        interlace,
    ] = *body
    else {
        return Ok(None);
    };
    let width = u32::from_be_bytes([w0, w1, w2, w3]);
    let height = u32::from_be_bytes([h0, h1, h2, h3]);
    check_size(u64::from(width), u64::from(height))?;
    let colour = Colour::from_type(colour, depth);
    Ok(colour
        .filter(|_| interlace == 0 && width > 0 && height > 0)
        .map(|colour| Png {
            width: width as usize,
            height: height as usize,
            depth,
            colour,
            palette: Vec::new(),
            key: None,
            data: Vec::new(),
        }))
}

/// The chunk at `at`: its type and body, if whole and its CRC matches.
fn chunk(bytes: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    let length = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
    let end = at.checked_add(8)?.checked_add(length)?;
    let typed = bytes.get(at + 4..end)?;
    let stored = u32::from_be_bytes(bytes.get(end..end + 4)?.try_into().ok()?);
    (crc32(typed) == stored).then(|| typed.split_at(4))
}

/// CRC-32 (ISO 3309, as PNG's chunks carry it), four bits at a time: a 64-byte table instead
/// of the usual 1 KB.
fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 16] = {
        let mut table = [0u32; 16];
        let mut i = 0;
        while i < 16 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 4 {
                c = if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        crc = TABLE[(crc & 15) as usize] ^ (crc >> 4);
        crc = TABLE[(crc & 15) as usize] ^ (crc >> 4);
    }
    !crc
}

/// Undoes one row's filter in place (`None` for an unknown filter).
fn unfilter(filter: u8, row: &mut [u8], previous: &[u8], step: usize) -> Option<()> {
    match filter {
        0 => {}
        1 => {
            for i in step..row.len() {
                row[i] = row[i].wrapping_add(row[i - step]);
            }
        }
        2 => {
            for (byte, above) in row.iter_mut().zip(previous) {
                *byte = byte.wrapping_add(*above);
            }
        }
        3 => {
            for i in 0..row.len() {
                let left = if i >= step { row[i - step] } else { 0 };
                let mean = ((u16::from(left) + u16::from(previous[i])) / 2) as u8;
                row[i] = row[i].wrapping_add(mean);
            }
        }
        4 => {
            for i in 0..row.len() {
                let (left, upper_left) = if i >= step {
                    (row[i - step], previous[i - step])
                } else {
                    (0, 0)
                };
                row[i] = row[i].wrapping_add(paeth(left, previous[i], upper_left));
            }
        }
        _ => return None,
    }
    Some(())
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let (ia, ib, ic) = (i16::from(a), i16::from(b), i16::from(c));
    let p = ia + ib - ic;
    let (pa, pb, pc) = ((p - ia).abs(), (p - ib).abs(), (p - ic).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}
