//! How good the generator is: our MNIST classifier's features and probabilities of generated
//! digits, scored as a Fréchet distance to the test set (FID), an Inception Score and a
//! histogram of predicted digits. The same code scores natively and in the browser's worker.

pub mod classifier;
pub mod reference;
pub mod score;
pub mod stats;

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

pub use classifier::{ClassifierError, QualityModel};
pub use score::{EpochScore, RequestedDigits, Score};
pub use stats::{FeatureStats, class_histogram, frechet_distance, inception_score};

use crate::data::normal_noise;
use crate::idx::IMAGE_PIXELS;
use crate::model::{DIGITS, Dense, Generator, ModelKind, default_labels};
use crate::train::Trainer;
use crate::weights::{AVERAGE_STEM, DISCRIMINATOR_STEM, GENERATOR_STEM, layer_name};

/// Samples scored by default.
pub const DEFAULT_SAMPLES: usize = 2000;
/// Seed of the fixed noise the scored samples come from (the same for every run and epoch).
pub const SCORE_SEED: u64 = 0x0005_c02e;
/// Images per pass through the classifier: its first layers' patches take 226 KB per image.
const CHUNK: usize = 100;
// A chunk of generated samples starts at a multiple of ten: sample `i` asks for digit `i % 10`
// whichever chunk holds it.
const _: () = assert!(CHUNK.is_multiple_of(DIGITS));

/// Why a score could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// Nothing to score.
    #[error("there are no images to score")]
    NoImages,
    /// A tensor could not be read back.
    #[error("could not read the classifier's output: {0}")]
    Read(String),
}

async fn read(tensor: Tensor<2>) -> Result<Vec<f32>, ScoreError> {
    tensor
        .into_data_async()
        .await
        .map_err(|e| ScoreError::Read(format!("{e:?}")))?
        .try_to_vec::<f32>()
        .map_err(|e| ScoreError::Read(format!("{e:?}")))
}

/// Features `[n, 128]` and class probabilities `[n, 10]` of images `[n × 784]` in [−1, 1],
/// computed on `device` in chunks.
pub async fn classify(
    model: &QualityModel,
    images: &[f32],
    device: &Device,
) -> Result<(Vec<f32>, Vec<f32>), ScoreError> {
    let mut features = Vec::new();
    let mut probabilities = Vec::new();
    for chunk in images.chunks(CHUNK * IMAGE_PIXELS) {
        let n = chunk.len() / IMAGE_PIXELS;
        let x = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [n, IMAGE_PIXELS]), device);
        let f = model.classifier.features(x);
        let p = softmax(model.classifier.logits_of(f.clone()), 1);
        features.extend(read(f).await?);
        probabilities.extend(read(p).await?);
    }
    Ok((features, probabilities))
}

/// How often the classifier's likeliest digit (`probabilities`, a row per sample) is the one
/// each sample was asked for.
pub fn requested_digits(probabilities: &[f32], requested: &[u8]) -> RequestedDigits {
    let classes = probabilities.len() / requested.len().max(1);
    let mut asked = [0usize; DIGITS];
    let mut hits = [0usize; DIGITS];
    for (row, &digit) in probabilities.chunks_exact(classes.max(1)).zip(requested) {
        let taken = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        let digit = usize::from(digit) % DIGITS;
        asked[digit] += 1;
        hits[digit] += usize::from(taken == digit);
    }
    let share = |hits: usize, asked: usize| hits as f64 / asked.max(1) as f64;
    RequestedDigits {
        share: share(hits.iter().sum(), asked.iter().sum()),
        per_digit: hits.iter().zip(asked).map(|(&h, a)| share(h, a)).collect(),
    }
}

/// The classifier of `model` scoring against `images` `[n × 784]` in [−1, 1] in place of
/// MNIST's test set (an imported dataset's held-out images): their features' statistics.
pub async fn against_images(
    model: &QualityModel,
    images: &[f32],
    device: &Device,
) -> Result<QualityModel, ScoreError> {
    if images.len() < 2 * IMAGE_PIXELS {
        return Err(ScoreError::NoImages);
    }
    let (features, _) = classify(model, images, device).await?;
    Ok(QualityModel {
        classifier: model.classifier.clone(),
        reference: FeatureStats::of_rows(&features, model.reference.mean.len()),
    })
}

/// The score of images `[n × 784]` in [−1, 1] against the test set's statistics; with the
/// digits they were asked for (a conditional model's), also how often they are those digits.
pub async fn score_images(
    model: &QualityModel,
    images: &[f32],
    requested: Option<&[u8]>,
    device: &Device,
) -> Result<Score, ScoreError> {
    let samples = images.len() / IMAGE_PIXELS;
    if samples < 2 {
        return Err(ScoreError::NoImages);
    }
    let (features, probabilities) = classify(model, images, device).await?;
    let d = model.reference.mean.len();
    let stats = FeatureStats::of_rows(&features, d);
    let classes = probabilities.len() / samples;
    Ok(Score {
        fid: frechet_distance(&stats, &model.reference),
        inception: inception_score(&probabilities, classes),
        histogram: class_histogram(&probabilities, classes),
        samples,
        requested: requested.map(|digits| requested_digits(&probabilities, digits)),
    })
}

/// `samples` images of a generator from the fixed scoring noise, in chunks on its device:
/// `generate` maps noise vectors (row after row, `noise_dim` each) and the digit each is asked
/// for ([`requested_labels`]; a model without labels ignores them) to images. The work is
/// enqueued now; [`read_all`] reads it back.
pub fn generate_tensors(
    generate: impl Fn(Vec<f32>, &[u8]) -> Tensor<2>,
    noise_dim: usize,
    samples: usize,
) -> Vec<Tensor<2>> {
    let noise = normal_noise(SCORE_SEED, 0, samples, noise_dim);
    let labels = requested_labels(samples);
    noise
        .chunks(CHUNK * noise_dim)
        .zip(labels.chunks(CHUNK))
        .map(|(chunk, labels)| generate(chunk.to_vec(), labels))
        .collect()
}

/// The digits `samples` scored (or taken away) samples of a conditional model are asked for:
/// 0, 1, …, 9, 0, 1, … — as many of each as can be.
pub fn requested_labels(samples: usize) -> Vec<u8> {
    default_labels(samples)
}

/// The values of `tensors`, one after the other.
pub async fn read_all(tensors: Vec<Tensor<2>>) -> Result<Vec<f32>, ScoreError> {
    let mut values = Vec::new();
    for tensor in tensors {
        values.extend(read(tensor).await?);
    }
    Ok(values)
}

/// `samples` images of a generator (see [`generate_tensors`]), read back.
pub async fn generate(
    generate: impl Fn(Vec<f32>, &[u8]) -> Tensor<2>,
    noise_dim: usize,
    samples: usize,
) -> Result<Vec<f32>, ScoreError> {
    read_all(generate_tensors(generate, noise_dim, samples)).await
}

/// The score of the trainer's generator on `samples` samples (the classifier on `device`,
/// the generator on its own).
pub async fn score_trainer(
    trainer: &Trainer,
    model: &QualityModel,
    samples: usize,
    device: &Device,
) -> Result<Score, ScoreError> {
    let dim = trainer.config.noise_dim;
    let gan = &trainer.gan;
    let images = generate(
        |noise, labels| gan.generate_for(noise, labels),
        dim,
        samples,
    )
    .await?;
    let requested = (gan.labels() > 0).then(|| requested_labels(samples));
    score_images(model, &images, requested.as_deref(), device).await
}

/// The score of a generator on `device` on `samples` samples.
pub async fn score_generator(
    generator: &Generator,
    model: &QualityModel,
    samples: usize,
    device: &Device,
) -> Result<Score, ScoreError> {
    let dim = generator.noise_dim();
    let width = generator.spec.labels;
    let images = generate(
        |noise, labels| {
            let one_hot = (width > 0).then(|| crate::model::one_hot(labels, width));
            generator.generate_values(noise, labels.len(), one_hot, device)
        },
        dim,
        samples,
    )
    .await?;
    let requested = (width > 0).then(|| requested_labels(samples));
    score_images(model, &images, requested.as_deref(), device).await
}

/// The generator of any safetensors file holding a model's generator (`gen.dense0.kernel`, …,
/// float32, Keras' names and layouts; other tensors are ignored), such as the app's weights
/// files or one exported from the Keras reference: its moving average (`gen_avg.*`) where the
/// file holds one, as the page shows. Its model is the one the metadata's `model` names;
/// without one, the first model whose discriminator's first kernel the file holds with its
/// shape (a conditional model's takes its labels too), else `tutorial`. The noise's size is
/// read from the generator's first kernel.
pub fn generator_from_safetensors(bytes: &[u8], device: &Device) -> Result<Generator, String> {
    let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    let first_kernel = |stem: &str, network: &crate::model::NetworkSpec| {
        let layers = network.layers();
        let name = format!("{}.kernel", layer_name(stem, &layers[0], 0));
        (name, layers[0].kernel_shape())
    };
    let model = match header.metadata().as_ref().and_then(|m| m.get("model")) {
        Some(name) => ModelKind::from_name(name).ok_or(format!("unknown model `{name}`"))?,
        None => ModelKind::ALL
            .into_iter()
            .find(|m| {
                let (name, shape) = first_kernel(DISCRIMINATOR_STEM, &m.spec(1).discriminator);
                file.tensor(&name)
                    .is_ok_and(|view| view.shape().first() == shape.first())
            })
            .unwrap_or_default(),
    };
    let (first, _) = first_kernel(GENERATOR_STEM, &model.spec(1).generator);
    let inputs = file
        .tensor(&first)
        .map_err(|_| format!("tensor `{first}` is missing"))?
        .shape()
        .first()
        .copied()
        .unwrap_or(0);
    let noise_dim = inputs
        .checked_sub(model.labels())
        .filter(|&n| n > 0)
        .ok_or(format!(
            "tensor `{first}` has {inputs} inputs: too few for `{model}`"
        ))?;
    let spec = model.spec(noise_dim).generator;
    let read = |name: String, shape: &[usize]| -> Result<Vec<f32>, String> {
        let view = file
            .tensor(&name)
            .map_err(|_| format!("tensor `{name}` is missing"))?;
        if view.dtype() != safetensors::Dtype::F32 || view.shape() != shape {
            return Err(format!(
                "tensor `{name}` is {:?} {:?}, expected F32 {shape:?}",
                view.dtype(),
                view.shape()
            ));
        }
        Ok(bytemuck::pod_collect_to_vec(view.data()))
    };
    let layers = spec.layers();
    let averaged = file
        .tensor(&format!(
            "{}.kernel",
            layer_name(AVERAGE_STEM, &layers[0], 0)
        ))
        .is_ok();
    let stem = if averaged {
        AVERAGE_STEM
    } else {
        GENERATOR_STEM
    };
    let layers = layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let name = layer_name(stem, layer, i);
            let kernel = read(format!("{name}.kernel"), &layer.kernel_shape())?;
            let bias = read(format!("{name}.bias"), &[layer.bias()])?;
            Ok(Dense::from_values(
                TensorData::new(kernel, layer.matrix()),
                TensorData::new(bias, [layer.bias()]),
                device,
            ))
        })
        .collect::<Result<_, String>>()?;
    Ok(Generator { layers, spec })
}
