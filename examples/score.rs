//! Scores a generator: `cargo run --release --example score -- WEIGHTS.safetensors`.
//!
//! Prints one JSON line — FID against the MNIST test set, Inception Score, the histogram of
//! predicted digits and the number of samples — for any safetensors file that holds the
//! generator's tensors (`gen.dense{0..4}.{kernel,bias}`), with the classifier and the code the
//! page uses. Options: `--samples N` (default 2000), `--classifier FILE`.
//!
//! `--calibrate` prints the score's landmarks instead (BENCHMARKS.md): the classifier's
//! accuracy on the 10,000 test images, and the scores of 10,000 training images (the floor)
//! and of uniform noise.

use std::path::PathBuf;

use burn::tensor::Device;
use mnist_gan_web::quality::{
    DEFAULT_SAMPLES, QualityModel, generator_from_safetensors, score_generator,
};

fn main() {
    let mut weights = None;
    let mut calibrate = false;
    let mut samples = DEFAULT_SAMPLES;
    let mut classifier = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/www/data/quality/classifier.safetensors"
    ));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--samples" => {
                samples = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--samples N")
            }
            "--classifier" => classifier = args.next().expect("--classifier FILE").into(),
            "--calibrate" => calibrate = true,
            _ => weights = Some(PathBuf::from(arg)),
        }
    }
    if calibrate {
        let model = QualityModel::from_bytes(
            &std::fs::read(&classifier).expect("the classifier"),
            &Device::flex(),
        )
        .expect("a valid classifier");
        calibration(&model, samples);
        return;
    }
    let Some(weights) = weights else {
        eprintln!("usage: score [--samples N] [--classifier FILE] WEIGHTS.safetensors");
        std::process::exit(2)
    };
    let device = Device::flex();
    let read = |path: &PathBuf| {
        std::fs::read(path).unwrap_or_else(|e| {
            eprintln!("{}: {e}", path.display());
            std::process::exit(1)
        })
    };
    let model = QualityModel::from_bytes(&read(&classifier), &device).unwrap_or_else(|e| {
        eprintln!("{}: {e}", classifier.display());
        std::process::exit(1)
    });
    let generator = generator_from_safetensors(&read(&weights), &device).unwrap_or_else(|e| {
        eprintln!("{}: {e}", weights.display());
        std::process::exit(1)
    });
    let score = pollster::block_on(score_generator(&generator, &model, samples, &device))
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        });
    println!(
        "{}",
        serde_json::to_string(&score).expect("a score is plain numbers")
    );
}

fn mnist(name: &str) -> Vec<u8> {
    use std::io::Read;
    let path = format!("{}/www/data/mnist/{name}.gz", env!("CARGO_MANIFEST_DIR"));
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).expect("MNIST"))
        .read_to_end(&mut bytes)
        .expect("MNIST decompresses");
    bytes
}

fn calibration(model: &QualityModel, samples: usize) {
    use mnist_gan_web::data::scale_pixel;
    use mnist_gan_web::idx::{parse_images, parse_labels};
    use mnist_gan_web::quality::{classify, score_images};
    let device = Device::flex();
    let scaled = |name: &str| -> Vec<f32> {
        let images = parse_images(&mnist(name)).expect("images");
        images.pixels.iter().map(|&p| scale_pixel(p)).collect()
    };
    let test = scaled("t10k-images-idx3-ubyte");
    let labels = parse_labels(&mnist("t10k-labels-idx1-ubyte")).expect("labels");
    let (_, probabilities) = pollster::block_on(classify(model, &test, &device)).expect("read");
    let right = probabilities
        .chunks_exact(10)
        .zip(&labels)
        .filter(|(row, label)| {
            row.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i)
                == Some(usize::from(**label))
        })
        .count();
    println!(
        "classifier accuracy on the 10,000 test images: {:.2} %",
        right as f64 / 100.0
    );
    let report = |what: &str, images: &[f32]| {
        let score =
            pollster::block_on(score_images(model, images, None, &device)).expect("a score");
        println!(
            "{what}: {}",
            serde_json::to_string(&score).expect("numbers")
        );
    };
    report("the 10,000 test images themselves", &test);
    let train = scaled("train-images-idx3-ubyte");
    report("10,000 training images", &train[..10_000 * 784]);
    let mut state = 12345u32;
    let noise: Vec<f32> = (0..samples * 784)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1 << 24) as f32 * 2.0 - 1.0
        })
        .collect();
    report(
        &format!("{samples} images of uniform noise in [-1, 1]"),
        &noise,
    );
}
