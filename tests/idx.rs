//! The IDX parser on the real MNIST files and on every kind of malformed input.
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

mod common;

use common::mnist;
use mnist_gan_web::idx::{IdxError, check_pairing, parse_images, parse_labels};

fn header(kind: u8, rank: u8, dims: &[u32]) -> Vec<u8> {
    let mut bytes = vec![0, 0, kind, rank];
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes
}

fn images_file(count: u32) -> Vec<u8> {
    let mut bytes = header(0x08, 3, &[count, 28, 28]);
    bytes.extend(std::iter::repeat_n(7u8, count as usize * 784));
    bytes
}

#[test]
fn real_training_and_test_sets_parse() {
    let train = parse_images(&mnist("train-images-idx3-ubyte")).unwrap();
    let labels = parse_labels(&mnist("train-labels-idx1-ubyte")).unwrap();
    assert_eq!(train.count, 60_000);
    assert_eq!(train.pixels.len(), 60_000 * 784);
    assert_eq!(labels.len(), 60_000);
    check_pairing(&train, &labels).unwrap();
    let mut counts = [0usize; 10];
    for &l in &labels {
        counts[l as usize] += 1;
    }
    assert_eq!(
        counts,
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    // The first training image is a 5 with ink in the middle.
    assert_eq!(labels[0], 5);
    assert!(train.image(0).contains(&255));

    let test = parse_images(&mnist("t10k-images-idx3-ubyte")).unwrap();
    let test_labels = parse_labels(&mnist("t10k-labels-idx1-ubyte")).unwrap();
    assert_eq!(test.count, 10_000);
    assert_eq!(test_labels.len(), 10_000);
}

#[test]
fn a_small_valid_file_parses() {
    let images = parse_images(&images_file(3)).unwrap();
    assert_eq!(images.count, 3);
    assert!(images.image(2).iter().all(|&p| p == 7));
}

#[test]
fn empty_input_is_refused() {
    assert_eq!(parse_images(&[]), Err(IdxError::Empty));
    assert_eq!(parse_labels(&[]), Err(IdxError::Empty));
}

#[test]
fn wrong_magic_is_refused() {
    let mut bytes = images_file(1);
    bytes[0] = 0x1f; // a gzip header, say: the page forgot to decompress
    assert!(matches!(
        parse_images(&bytes),
        Err(IdxError::BadMagic { .. })
    ));
    let mut bytes = images_file(1);
    bytes[2] = 0x0d; // float elements
    assert_eq!(
        parse_images(&bytes),
        Err(IdxError::WrongElementType { found: 0x0d })
    );
}

#[test]
fn labels_file_given_as_images_is_refused_by_rank() {
    let labels = header(0x08, 1, &[2])
        .into_iter()
        .chain([1, 2])
        .collect::<Vec<_>>();
    assert!(matches!(
        parse_images(&labels),
        Err(IdxError::WrongRank {
            expected: 3,
            found: 1,
            ..
        })
    ));
    assert!(matches!(
        parse_labels(&images_file(1)),
        Err(IdxError::WrongRank {
            expected: 1,
            found: 3,
            ..
        })
    ));
}

#[test]
fn truncated_header_and_data_are_refused() {
    let bytes = images_file(2);
    assert!(matches!(
        parse_images(&bytes[..10]),
        Err(IdxError::TruncatedHeader {
            needed: 16,
            actual: 10
        })
    ));
    assert!(matches!(
        parse_images(&bytes[..3]),
        Err(IdxError::TruncatedHeader { .. })
    ));
    assert_eq!(
        parse_images(&bytes[..bytes.len() - 1]),
        Err(IdxError::LengthMismatch {
            expected: 2 * 784,
            actual: 2 * 784 - 1
        })
    );
}

#[test]
fn count_mismatch_is_refused() {
    let mut bytes = images_file(2);
    bytes[4..8].copy_from_slice(&3u32.to_be_bytes());
    assert!(matches!(
        parse_images(&bytes),
        Err(IdxError::LengthMismatch { .. })
    ));
    let mut extra = images_file(2);
    extra.push(0);
    assert!(matches!(
        parse_images(&extra),
        Err(IdxError::LengthMismatch { .. })
    ));
    // A huge count must not overflow or allocate.
    let mut huge = images_file(1);
    huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        parse_images(&huge),
        Err(IdxError::LengthMismatch { .. })
    ));
}

#[test]
fn wrong_dimensions_are_refused() {
    let mut bytes = header(0x08, 3, &[1, 32, 32]);
    bytes.extend(vec![0u8; 32 * 32]);
    assert_eq!(
        parse_images(&bytes),
        Err(IdxError::WrongImageSize { rows: 32, cols: 32 })
    );
    assert_eq!(
        parse_images(&header(0x08, 3, &[0, 28, 28])),
        Err(IdxError::NoItems)
    );
}

#[test]
fn labels_outside_digits_and_unpaired_counts_are_refused() {
    let mut bytes = header(0x08, 1, &[3]);
    bytes.extend([1, 12, 3]);
    assert_eq!(
        parse_labels(&bytes),
        Err(IdxError::LabelOutOfRange {
            index: 1,
            value: 12
        })
    );
    let images = parse_images(&images_file(2)).unwrap();
    assert_eq!(
        check_pairing(&images, &[1, 2, 3]),
        Err(IdxError::CountMismatch {
            images: 2,
            labels: 3
        })
    );
}

#[test]
fn errors_read_as_sentences() {
    let message = IdxError::WrongImageSize { rows: 32, cols: 32 }.to_string();
    assert_eq!(message, "images are 32×32, expected 28×28");
}
