//! Trains the quality classifier: `cargo run --release --example train_classifier`.
//!
//! A small CNN (`mnist_gan_web::quality::classifier`) on the 60,000 MNIST training images with
//! Burn's Adam, a shift of up to 2 pixels as augmentation, then its accuracy on the 10,000 test
//! images and the mean and covariance of their features. Writes all of it as one safetensors
//! file (`www/data/quality/classifier.safetensors`, under 1 MB) and its SHA-256 in
//! `SHA256SUMS` beside it, which the page checks like MNIST's.
//!
//! Options: `--epochs N` (default 8), `--data DIR` (MNIST's gzipped IDX files), `--out DIR`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use mnist_gan_web::idx::{IMAGE_PIXELS, IMAGE_SIDE, parse_images, parse_labels};
use mnist_gan_web::quality::classifier::{CLASSES, Classifier, FEATURES, images_tensor};
use mnist_gan_web::quality::{FeatureStats, QualityModel, classify};
use rand::Rng;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

const BATCH: usize = 128;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
const SEED: u64 = 7;

fn gunzip(path: &Path) -> Vec<u8> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .expect("MNIST decompresses");
    bytes
}

/// Image `pixels` shifted by (dx, dy), the uncovered border black (MNIST's background).
fn shifted(pixels: &[u8], dx: i32, dy: i32) -> Vec<u8> {
    let side = IMAGE_SIDE as i32;
    let mut out = vec![0u8; IMAGE_PIXELS];
    for y in 0..side {
        for x in 0..side {
            let (sx, sy) = (x - dx, y - dy);
            if (0..side).contains(&sx) && (0..side).contains(&sy) {
                out[(y * side + x) as usize] = pixels[(sy * side + sx) as usize];
            }
        }
    }
    out
}

fn one_hot(labels: &[u8], device: &Device) -> Tensor<2> {
    let mut values = vec![0.0f32; labels.len() * CLASSES];
    for (i, &label) in labels.iter().enumerate() {
        values[i * CLASSES + usize::from(label)] = 1.0;
    }
    Tensor::from_data(TensorData::new(values, [labels.len(), CLASSES]), device)
}

fn accuracy(model: &QualityModel, pixels: &[u8], labels: &[u8], device: &Device) -> f64 {
    let images: Vec<f32> = pixels
        .iter()
        .map(|&p| mnist_gan_web::data::scale_pixel(p))
        .collect();
    let (_, probabilities) =
        pollster::block_on(classify(model, &images, device)).expect("read back");
    let right = probabilities
        .chunks_exact(CLASSES)
        .zip(labels)
        .filter(|(row, label)| {
            let best = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i);
            best == Some(usize::from(**label))
        })
        .count();
    right as f64 / labels.len() as f64
}

fn main() {
    let mut epochs = 8usize;
    let mut data = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/www/data/mnist"));
    let mut out = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/www/data/quality"));
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().expect("a value after each option");
        match flag.as_str() {
            "--epochs" => epochs = value.parse().expect("a number of epochs"),
            "--data" => data = value.into(),
            "--out" => out = value.into(),
            other => panic!("unknown option {other}"),
        }
    }
    let train = parse_images(&gunzip(&data.join("train-images-idx3-ubyte.gz"))).expect("images");
    let train_labels =
        parse_labels(&gunzip(&data.join("train-labels-idx1-ubyte.gz"))).expect("labels");
    let test = parse_images(&gunzip(&data.join("t10k-images-idx3-ubyte.gz"))).expect("images");
    let test_labels =
        parse_labels(&gunzip(&data.join("t10k-labels-idx1-ubyte.gz"))).expect("labels");

    let cpu = Device::flex();
    let device = cpu.clone().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut classifier = Classifier::glorot(&mut rng, &device);
    let mut optimizer = AdamConfig::new().init();
    let mut order: Vec<usize> = (0..train.count).collect();
    for epoch in 1..=epochs {
        let start = Instant::now();
        let lr = if epoch + 2 > epochs { 3e-4 } else { 1e-3 };
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for batch in order.chunks(BATCH) {
            let mut pixels = Vec::with_capacity(batch.len() * IMAGE_PIXELS);
            let mut labels = Vec::with_capacity(batch.len());
            for &i in batch {
                let (dx, dy) = (rng.random_range(-2..=2), rng.random_range(-2..=2));
                pixels.extend(shifted(train.image(i), dx, dy));
                labels.push(train_labels[i]);
            }
            let logits = classifier.forward(images_tensor(&pixels, &device));
            let loss = -(log_softmax(logits, 1) * one_hot(&labels, &device))
                .sum()
                .div_scalar(batch.len() as f64);
            total += loss.clone().into_scalar::<f32>() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &classifier);
            classifier = optimizer.step(lr, classifier, grads);
        }
        let model = QualityModel {
            classifier: classifier.clone(),
            reference: FeatureStats::of_rows(&vec![0.0; 2 * FEATURES], FEATURES),
        };
        let accuracy = accuracy(&model, &test.pixels, &test_labels, &cpu);
        println!(
            "epoch {epoch}: loss {:.4}, test accuracy {:.2} % ({:.0} s)",
            total * BATCH as f64 / train.count as f64,
            accuracy * 100.0,
            start.elapsed().as_secs_f64()
        );
    }

    let mut model = QualityModel {
        classifier,
        reference: FeatureStats::of_rows(&vec![0.0; 2 * FEATURES], FEATURES),
    };
    let images: Vec<f32> = test
        .pixels
        .iter()
        .map(|&p| mnist_gan_web::data::scale_pixel(p))
        .collect();
    let (features, _) = pollster::block_on(classify(&model, &images, &cpu)).expect("read back");
    model.reference = FeatureStats::of_rows(&features, FEATURES);
    let bytes = model.to_bytes();
    std::fs::create_dir_all(&out).expect("the output folder can be created");
    let path = out.join("classifier.safetensors");
    std::fs::write(&path, &bytes).expect("the classifier can be written");
    let sums = format!("{}  classifier.safetensors\n", sha256_hex(&bytes));
    std::fs::write(out.join("SHA256SUMS"), sums).expect("the checksums can be written");
    println!(
        "wrote {} ({} bytes), test accuracy {:.2} %",
        path.display(),
        bytes.len(),
        accuracy(&model, &test.pixels, &test_labels, &cpu) * 100.0
    );
}
