//! The quality score, natively: the committed classifier, the Fréchet distance and the
//! Inception Score against known cases, and scores that follow training.
#![allow(clippy::unwrap_used)]

mod common;

use common::{block_on, device, mnist};
use mnist_gan_web::data::scale_pixel;
use mnist_gan_web::idx::{parse_images, parse_labels};
use mnist_gan_web::latent::{slerp, walk};
use mnist_gan_web::model::ModelKind;
use mnist_gan_web::quality::classifier::{CLASSES, FEATURES};
use mnist_gan_web::quality::reference::reference_curve;
use mnist_gan_web::quality::{
    FeatureStats, QualityModel, class_histogram, classify, frechet_distance,
    generator_from_safetensors, inception_score, score_generator, score_images,
};
use sha2::{Digest, Sha256};

const CLASSIFIER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/www/data/quality/classifier.safetensors"
);

fn model() -> QualityModel {
    QualityModel::from_bytes(&std::fs::read(CLASSIFIER).unwrap(), &device()).unwrap()
}

fn scaled(name: &str) -> Vec<f32> {
    parse_images(&mnist(name))
        .unwrap()
        .pixels
        .iter()
        .map(|&p| scale_pixel(p))
        .collect()
}

#[test]
fn the_committed_classifier_is_small_checked_and_right_on_99_percent_of_the_test_set() {
    let bytes = std::fs::read(CLASSIFIER).unwrap();
    assert!(bytes.len() <= 1 << 20, "{} bytes", bytes.len());
    let sums = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/www/data/quality/SHA256SUMS"
    ))
    .unwrap();
    let hash: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sums, format!("{hash}  classifier.safetensors\n"));
    let model = model();
    let labels = parse_labels(&mnist("t10k-labels-idx1-ubyte")).unwrap();
    let (features, probabilities) = block_on(classify(
        &model,
        &scaled("t10k-images-idx3-ubyte"),
        &device(),
    ))
    .unwrap();
    assert_eq!(features.len(), 10_000 * FEATURES);
    let right = probabilities
        .chunks_exact(CLASSES)
        .zip(&labels)
        .filter(|(row, label)| {
            let best = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0;
            best == usize::from(**label)
        })
        .count();
    assert!(right >= 9_900, "{right} of 10,000 right");
    // Its stored statistics are the test set's features'.
    let stats = FeatureStats::of_rows(&features, FEATURES);
    let fid = frechet_distance(&stats, &model.reference);
    assert!(fid <= 1e-3, "FID of the test set to itself: {fid}");
    assert!(QualityModel::from_bytes(&bytes[..bytes.len() - 1], &device()).is_err());
}

#[test]
fn the_fid_is_small_for_real_digits_large_for_noise_and_finite_for_one_image() {
    let model = model();
    let train = scaled("train-images-idx3-ubyte");
    let real = block_on(score_images(
        &model,
        &train[..10_000 * 784],
        None,
        &device(),
    ))
    .unwrap();
    assert!(
        real.fid <= 5.0,
        "FID of 10,000 training images: {}",
        real.fid
    );
    assert!(
        real.inception > 9.0,
        "IS of real digits: {}",
        real.inception
    );
    assert!(
        real.histogram.iter().all(|&n| n > 800),
        "{:?}",
        real.histogram
    );

    let mut state = 12345u32;
    let noise: Vec<f32> = (0..2000 * 784)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1 << 24) as f32 * 2.0 - 1.0
        })
        .collect();
    let uniform = block_on(score_images(&model, &noise, None, &device())).unwrap();
    assert!(
        uniform.fid >= 100.0,
        "FID of uniform noise: {}",
        uniform.fid
    );

    // A collapsed generator: every sample the same digit.
    let one: Vec<f32> = train[..784].repeat(2000);
    let collapsed = block_on(score_images(&model, &one, None, &device())).unwrap();
    assert!(collapsed.fid.is_finite() && collapsed.fid > real.fid);
    assert!(
        (collapsed.inception - 1.0).abs() < 1e-6,
        "{}",
        collapsed.inception
    );
    assert_eq!(
        collapsed.histogram.iter().filter(|&&n| n == 2000).count(),
        1
    );
}

#[test]
fn the_scores_follow_their_formulas() {
    let d = 3;
    let rows = [
        1.0f32, 2.0, 0.0, 3.0, 1.0, 1.0, 2.0, 0.0, 5.0, 0.0, 4.0, 2.0,
    ];
    let a = FeatureStats::of_rows(&rows, d);
    assert!(frechet_distance(&a, &a).abs() < 1e-9);
    // The same covariance, the mean moved by (1, 2, 2): the distance is |Δμ|² = 9.
    let shifted: Vec<f32> = rows
        .chunks_exact(3)
        .flat_map(|r| [r[0] + 1.0, r[1] + 2.0, r[2] + 2.0])
        .collect();
    let b = FeatureStats::of_rows(&shifted, d);
    assert!((frechet_distance(&a, &b) - 9.0).abs() < 1e-9);
    // Means of 0 and covariances σ²I and τ²I in d dims: d (σ − τ)².
    let scaled_rows: Vec<f32> = rows.iter().map(|v| v * 3.0).collect();
    let c = FeatureStats::of_rows(&scaled_rows, d);
    let trace = a.covariance.trace();
    let expected =
        (3.0f64 - 1.0).powi(2) * trace + (3.0 * a.mean.clone() - a.mean.clone()).norm_squared();
    assert!((frechet_distance(&a, &c) - expected).abs() < 1e-6 * expected);

    // Confident and even over the classes: IS = classes; all one class, or unsure: 1.
    let classes = 4;
    let even: Vec<f32> = (0..8)
        .flat_map(|i| (0..classes).map(move |c| if c == i % classes { 1.0 } else { 0.0 }))
        .collect();
    assert!((inception_score(&even, classes) - 4.0).abs() < 1e-9);
    let unsure = vec![0.25f32; 8 * classes];
    assert!((inception_score(&unsure, classes) - 1.0).abs() < 1e-9);
    assert_eq!(class_histogram(&even, classes), [2, 2, 2, 2]);
}

#[test]
fn a_generator_trained_longer_scores_better() {
    let model = model();
    let score = |name: &str| {
        let bytes = common::read_fixture(name);
        let generator = generator_from_safetensors(&bytes, &device()).unwrap();
        block_on(score_generator(&generator, &model, 2000, &device())).unwrap()
    };
    let early = score("gan_epoch1.safetensors");
    let later = score("gan_epoch50.safetensors");
    assert!(
        later.fid < early.fid,
        "FID {} after 50 epochs, {} after 1",
        later.fid,
        early.fid
    );
    assert!(later.inception > early.inception);
    // The committed native score of the epoch-50 file (the browser test compares with it).
    let recorded: mnist_gan_web::quality::Score =
        serde_json::from_slice(&common::read_fixture("gan_epoch50.score.json")).unwrap();
    assert!((recorded.fid - later.fid).abs() <= 1e-6 * later.fid);
    assert_eq!(recorded.histogram, later.histogram);
    // A file without the generator is refused with the missing tensor's name.
    let error = generator_from_safetensors(
        &common::read_fixture("keras_3_steps.safetensors"),
        &device(),
    );
    assert!(error.is_err());
}

#[test]
fn the_reference_curve_covers_the_tutorials_run() {
    let curve = reference_curve(ModelKind::Tutorial).unwrap().unwrap();
    assert_eq!(
        (curve.epochs, curve.batch_size, curve.samples),
        (300, 256, 2000)
    );
    assert_eq!(curve.points.len(), 300);
    assert!(
        curve
            .points
            .iter()
            .enumerate()
            .all(|(i, p)| p.epoch == i + 1)
    );
    let (first, last) = (&curve.points[0], &curve.points[299]);
    assert!(last.fid < first.fid && last.inception > first.inception);
}

#[test]
fn the_conditional_reference_curve_covers_its_run_with_the_digits_drawn_as_asked() {
    let curve = reference_curve(ModelKind::Conditional).unwrap().unwrap();
    assert_eq!((curve.epochs, curve.points.len()), (300, 300));
    let tutorial = reference_curve(ModelKind::Tutorial).unwrap().unwrap();
    for (point, reference) in curve.points.iter().zip(&tutorial.points) {
        assert_eq!(point.epoch, reference.epoch);
        let share = point.requested.expect("a conditional score's share");
        assert!((0.0..=1.0).contains(&share));
        assert!(reference.requested.is_none());
    }
    let last = &curve.points[299];
    assert!(last.requested.unwrap() > 0.5, "it learned the labels");
}

#[test]
fn the_sharp_reference_curve_reaches_the_tutorials_final_quality_within_its_first_epochs() {
    let curve = reference_curve(ModelKind::Sharp).unwrap().unwrap();
    let defaults = mnist_gan_web::TrainingConfig::for_model(ModelKind::Sharp);
    assert_eq!(
        (curve.epochs, curve.batch_size, curve.points.len()),
        (defaults.epochs, 64, defaults.epochs)
    );
    let tutorial = reference_curve(ModelKind::Tutorial).unwrap().unwrap();
    let tutorial_final = tutorial.points.last().unwrap().fid;
    let first_below = curve.points.iter().find(|p| p.fid < tutorial_final);
    assert!(
        first_below.is_some_and(|p| p.epoch <= 3),
        "FID below the tutorial's epoch-300 figure ({tutorial_final}) within 3 epochs"
    );
    let last = curve.points.last().unwrap();
    assert!(
        last.requested.unwrap() > 0.9,
        "it draws the digits asked for"
    );
}

#[test]
fn a_walk_starts_and_ends_on_its_two_points_and_stays_on_the_sphere_between() {
    let a: Vec<f32> = (0..100)
        .map(|i| ((i * 7 % 13) as f32 - 6.0) / 3.0)
        .collect();
    let b: Vec<f32> = (0..100)
        .map(|i| ((i * 5 % 11) as f32 - 5.0) / 2.0)
        .collect();
    assert_eq!(slerp(&a, &b, 0.0), a);
    assert_eq!(slerp(&a, &b, 1.0), b);
    let frames = walk(&a, &b, 10);
    assert_eq!(frames.len(), 1000);
    assert_eq!(&frames[..100], a.as_slice());
    assert_eq!(&frames[900..], b.as_slice());
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let (na, nb) = (norm(&a), norm(&b));
    let middle = norm(&frames[400..500]);
    assert!(
        middle > na.min(nb) * 0.99 && middle < na.max(nb) * 1.01,
        "{middle} between {na} and {nb}"
    );
    // Parallel vectors are blended linearly.
    let twice: Vec<f32> = a.iter().map(|x| x * 2.0).collect();
    let half = slerp(&a, &twice, 0.5);
    assert!(common::max_abs_diff(&half, &a.iter().map(|x| x * 1.5).collect::<Vec<_>>()) < 1e-5);
}
