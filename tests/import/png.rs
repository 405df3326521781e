//! The page's PNG reader (`mnist_gan_web::import::Png`, the browser inflating its data there;
//! flate2 here) against the `image` crate's decoder, for every colour type and bit depth, each
//! filter, palettes and transparency; and what it leaves to the browser.

use std::io::Read;

use mnist_gan_web::import::{Png, Rgba, SkipReason};
use png::{BitDepth, ColorType, Encoder, FilterType};

/// A PNG of `width × height` samples `data` (rows packed as the format packs them).
struct Spec<'a> {
    colour: ColorType,
    depth: BitDepth,
    palette: Option<&'a [u8]>,
    trns: Option<&'a [u8]>,
    filter: FilterType,
}

fn encode(spec: &Spec, width: u32, height: u32, data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = Encoder::new(&mut bytes, width, height);
    encoder.set_color(spec.colour);
    encoder.set_depth(spec.depth);
    encoder.set_filter(spec.filter);
    if let Some(palette) = spec.palette {
        encoder.set_palette(palette);
    }
    if let Some(trns) = spec.trns {
        encoder.set_trns(trns);
    }
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(data).unwrap();
    writer.finish().unwrap();
    bytes
}

/// The page's reading of `bytes`: parsed, inflated, put together.
fn read(bytes: &[u8]) -> Option<Rgba> {
    let png = Png::parse(bytes).unwrap()?;
    let mut inflated = Vec::new();
    flate2::read::ZlibDecoder::new(png.data.as_slice())
        .read_to_end(&mut inflated)
        .unwrap();
    assert_eq!(inflated.len(), png.inflated_len());
    png.rgba(&inflated)
}

/// The `image` crate's reading, as RGBA of eight bits.
fn reference(bytes: &[u8]) -> Rgba {
    let image = image::load_from_memory(bytes).unwrap().to_rgba8();
    Rgba {
        width: image.width() as usize,
        height: image.height() as usize,
        pixels: image.into_raw(),
    }
}

/// Samples that exercise every filter's arithmetic: a gradient with noise.
fn samples(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if i % 3 == 0 {
                (i * 7) as u8
            } else {
                state as u8
            }
        })
        .collect()
}

const FILTERS: [FilterType; 5] = [
    FilterType::NoFilter,
    FilterType::Sub,
    FilterType::Up,
    FilterType::Avg,
    FilterType::Paeth,
];

#[test]
fn every_colour_type_depth_and_filter_reads_as_the_image_crate_reads_it() {
    let (width, height) = (13u32, 7u32);
    let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, 255 - i, i / 2]).collect();
    let palette_alpha: Vec<u8> = (0..=255u8).map(|i| i.wrapping_mul(37)).collect();
    let cases: Vec<(ColorType, BitDepth, usize)> = vec![
        (ColorType::Grayscale, BitDepth::One, 1),
        (ColorType::Grayscale, BitDepth::Two, 2),
        (ColorType::Grayscale, BitDepth::Four, 4),
        (ColorType::Grayscale, BitDepth::Eight, 8),
        (ColorType::Grayscale, BitDepth::Sixteen, 16),
        (ColorType::Rgb, BitDepth::Eight, 24),
        (ColorType::Rgb, BitDepth::Sixteen, 48),
        (ColorType::Indexed, BitDepth::One, 1),
        (ColorType::Indexed, BitDepth::Two, 2),
        (ColorType::Indexed, BitDepth::Four, 4),
        (ColorType::Indexed, BitDepth::Eight, 8),
        (ColorType::GrayscaleAlpha, BitDepth::Eight, 16),
        (ColorType::GrayscaleAlpha, BitDepth::Sixteen, 32),
        (ColorType::Rgba, BitDepth::Eight, 32),
        (ColorType::Rgba, BitDepth::Sixteen, 64),
    ];
    for (n, (colour, depth, bits)) in cases.into_iter().enumerate() {
        for (f, filter) in FILTERS.into_iter().enumerate() {
            let indexed = colour == ColorType::Indexed;
            let spec = Spec {
                colour,
                depth,
                palette: indexed.then_some(palette.as_slice()),
                trns: indexed.then_some(palette_alpha.as_slice()),
                filter,
            };
            let stride = (width as usize * bits).div_ceil(8);
            let data = samples(stride * height as usize, (n * 5 + f) as u32);
            let bytes = encode(&spec, width, height, &data);
            let ours = read(&bytes).unwrap_or_else(|| panic!("{colour:?} {depth:?} left"));
            let theirs = reference(&bytes);
            assert_eq!((ours.width, ours.height), (theirs.width, theirs.height));
            // Sixteen bits become eight: the high byte here, rounded there (at most one apart).
            let tolerance = if depth == BitDepth::Sixteen { 1 } else { 0 };
            for (i, (a, b)) in ours.pixels.iter().zip(&theirs.pixels).enumerate() {
                assert!(
                    a.abs_diff(*b) <= tolerance,
                    "{colour:?} {depth:?} {filter:?}: byte {i} is {a}, the image crate's {b}"
                );
            }
        }
    }
}

#[test]
fn the_fixtures_each_row_under_another_filter_read_as_the_image_crate_reads_them() {
    // `tests/fixtures/import/make_pngs.py` (the browser tests compare the same files with
    // Chrome's own decoder).
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/import/png");
    let mut names: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    names.sort();
    assert_eq!(names.len(), 10);
    for path in names {
        let bytes = std::fs::read(&path).unwrap();
        let ours = read(&bytes).unwrap();
        let theirs = reference(&bytes);
        let sixteen = path.to_string_lossy().contains("-16");
        for (a, b) in ours.pixels.iter().zip(&theirs.pixels) {
            assert!(a.abs_diff(*b) <= u8::from(sixteen), "{}", path.display());
        }
        assert_eq!(ours.pixels.len(), theirs.pixels.len());
    }
}

#[test]
fn a_transparent_grey_or_colour_key_makes_those_pixels_transparent() {
    let grey = Spec {
        colour: ColorType::Grayscale,
        depth: BitDepth::Eight,
        palette: None,
        trns: Some(&[0, 7]),
        filter: FilterType::Sub,
    };
    let bytes = encode(&grey, 3, 1, &[7, 8, 7]);
    let ours = read(&bytes).unwrap();
    assert_eq!(ours.pixels, [7, 7, 7, 0, 8, 8, 8, 255, 7, 7, 7, 0]);
    assert_eq!(ours, reference(&bytes));
    let rgb = Spec {
        colour: ColorType::Rgb,
        trns: Some(&[0, 1, 0, 2, 0, 3]),
        ..grey
    };
    let bytes = encode(&rgb, 2, 1, &[1, 2, 3, 1, 2, 4]);
    let ours = read(&bytes).unwrap();
    assert_eq!(ours.pixels, [1, 2, 3, 0, 1, 2, 4, 255]);
    assert_eq!(ours, reference(&bytes));
}

#[test]
fn what_the_reader_leaves_to_the_browser_and_what_it_refuses() {
    let spec = Spec {
        colour: ColorType::Grayscale,
        depth: BitDepth::Eight,
        palette: None,
        trns: None,
        filter: FilterType::Paeth,
    };
    let good = encode(&spec, 4, 4, &samples(16, 1));
    assert!(read(&good).is_some());
    // Not a PNG; truncated; a chunk's checksum wrong: left to the browser, which names the fault.
    assert!(Png::parse(b"GIF89a").unwrap().is_none());
    assert!(Png::parse(&good[..good.len() - 20]).unwrap().is_none());
    let mut damaged = good.clone();
    damaged[20] ^= 1; // IHDR's height
    assert!(Png::parse(&damaged).unwrap().is_none());
    // Interlaced (Adam7): IHDR's last byte, its checksum made right.
    let mut interlaced = good.clone();
    interlaced[28] = 1;
    let crc = super::common::crc32(&interlaced[12..29]);
    interlaced[29..33].copy_from_slice(&crc.to_be_bytes());
    assert!(Png::parse(&interlaced).unwrap().is_none());
    // EXIF orientation (an eXIf chunk before IEND): the browser turns the image.
    let end = good.len() - 12;
    let mut exif = good[..end].to_vec();
    let body = b"eXIfMM\0*";
    exif.extend((body.len() as u32 - 4).to_be_bytes());
    exif.extend(body);
    exif.extend(super::common::crc32(body).to_be_bytes());
    exif.extend(&good[end..]);
    assert!(Png::parse(&exif).unwrap().is_none());
    // Data that inflates short of the header's rows, or an unknown filter: left too.
    let png = Png::parse(&good).unwrap().unwrap();
    assert!(png.rgba(&[0; 10]).is_none());
    let mut filtered = vec![0u8; png.inflated_len()];
    filtered[0] = 5;
    assert!(png.rgba(&filtered).is_none());
    // An image too large to decode is refused here, before anything inflates.
    let mut huge = good.clone();
    huge[16..24].copy_from_slice(&[0, 1, 0, 0, 0, 1, 0, 0]);
    let crc = super::common::crc32(&huge[12..29]);
    huge[29..33].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(
        Png::parse(&huge),
        Err(SkipReason::TooLarge {
            width: 65536,
            height: 65536
        })
    ));
}
