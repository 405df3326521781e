//! Samples to take away (`samples.npy`, `labels.npy`) and the share of requested digits.
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

mod common;

use common::{block_on, device};
use mnist_gan_web::model::ModelKind;
use mnist_gan_web::quality::requested_digits;
use mnist_gan_web::samples::{Samples, npy};
use mnist_gan_web::{Trainer, TrainingConfig};

/// The header dictionary and the data of a numpy file, checked against the format's rules.
fn parse_npy(bytes: &[u8]) -> (String, &[u8]) {
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "magic and version 1.0");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(header.ends_with('\n'), "{header:?}");
    assert_eq!((10 + len) % 64, 0, "the data starts at a multiple of 64");
    (header.trim_end().to_string(), &bytes[10 + len..])
}

#[test]
fn npy_files_have_numpys_header_and_the_raw_values() {
    let values = [1.5f32, -1.0, 0.25, 0.0, 2.0, -0.5];
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let file = npy("<f4", &[2, 3], &data);
    let (header, body) = parse_npy(&file);
    assert_eq!(
        header,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    );
    assert_eq!(body, data.as_slice());
    let labels = npy("|u1", &[4], &[3, 1, 4, 1]);
    let (header, body) = parse_npy(&labels);
    assert_eq!(
        header,
        "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }"
    );
    assert_eq!(body, [3, 1, 4, 1]);
}

fn samples_of(model: ModelKind, count: usize) -> Samples {
    let config = TrainingConfig {
        model,
        ..TrainingConfig::default()
    };
    let trainer = Trainer::new(config, &device()).unwrap();
    block_on(Samples::take(&trainer.gan, count)).unwrap()
}

#[test]
fn a_conditional_models_samples_and_labels_have_their_shapes_and_ranges() {
    let samples = samples_of(ModelKind::Conditional, 250);
    assert_eq!(samples.len(), 250);
    let images = samples.images_npy();
    let (header, body) = parse_npy(&images);
    assert!(header.contains("'shape': (250, 28, 28)"), "{header}");
    assert!(header.contains("'<f4'"), "{header}");
    let values: Vec<f32> = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(values, samples.images);
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
    let labels = samples.labels_npy().expect("a conditional model's labels");
    let (header, body) = parse_npy(&labels);
    assert!(
        header.contains("'shape': (250,)") && header.contains("'|u1'"),
        "{header}"
    );
    let expected: Vec<u8> = (0..250).map(|i| (i % 10) as u8).collect();
    assert_eq!(body, expected.as_slice(), "the digits in turn");
    // The digit asked for reaches the generator: the same noise, another digit, another image.
    let first = &samples.images[..784];
    let tutorial = samples_of(ModelKind::Tutorial, 250);
    assert!(tutorial.labels.is_none() && tutorial.labels_npy().is_none());
    assert_ne!(first, &tutorial.images[..784]);
}

#[test]
fn samples_come_from_the_fixed_scoring_noise() {
    // The first samples of a longer draw are a shorter draw's: the noise is fixed.
    let long = samples_of(ModelKind::Tutorial, 300);
    let short = samples_of(ModelKind::Tutorial, 100);
    assert_eq!(&long.images[..100 * 784], short.images.as_slice());
}

#[test]
fn the_share_of_requested_digits_counts_the_likeliest_class() {
    // Three samples asked for 0, 1 and 1: the classifier takes them for 0, 2 and 1.
    let mut probabilities = vec![0.0f32; 30];
    probabilities[0] = 0.9;
    probabilities[10 + 2] = 0.6;
    probabilities[10 + 1] = 0.4;
    probabilities[20 + 1] = 0.7;
    let digits = requested_digits(&probabilities, &[0, 1, 1]);
    assert!((digits.share - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(digits.per_digit[0], 1.0);
    assert_eq!(digits.per_digit[1], 0.5);
    assert_eq!(
        digits.per_digit[2], 0.0,
        "a digit never asked for counts as none"
    );
}
