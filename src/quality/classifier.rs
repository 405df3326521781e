//! The quality classifier: a small MNIST CNN of our own (two 3×3 convolutions with max-pooling,
//! a 128-unit ReLU layer — the feature space of the Fréchet distance — and 10 logits), trained
//! natively by `examples/train_classifier.rs` and shipped beside MNIST as one safetensors file
//! that also holds the statistics of the 10,000 test images' features.

use std::collections::HashMap;

use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::ops::PadMode;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use safetensors::{Dtype, SafeTensors};

use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::model::Dense;
use crate::quality::stats::FeatureStats;

/// Channels of the two convolutions.
pub const CHANNELS: [usize; 2] = [32, 32];
/// Width of the feature layer (the penultimate one).
pub const FEATURES: usize = 128;
/// Digits.
pub const CLASSES: usize = 10;
/// `format` metadata of the classifier's file.
pub const FORMAT: &str = "mnist-gan-web-classifier";

/// Why a classifier file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClassifierError {
    /// Not a safetensors file.
    #[error("not a valid classifier file: {0}")]
    NotSafetensors(String),
    /// A tensor is missing, or has another shape or dtype.
    #[error("tensor `{0}` is missing or has the wrong shape")]
    BadTensor(String),
}

/// One 3×3 convolution, same padding.
#[derive(Module, Debug)]
pub struct Conv {
    /// `[out, in, 3, 3]`.
    pub weight: Param<Tensor<4>>,
    /// `[out]`.
    pub bias: Param<Tensor<1>>,
}

impl Conv {
    fn glorot(inputs: usize, outputs: usize, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let limit = (6.0 / ((inputs + outputs) * 9) as f64).sqrt() as f32;
        let values: Vec<f32> = (0..outputs * inputs * 9)
            .map(|_| rng.random_range(-limit..limit))
            .collect();
        Self {
            weight: Param::from_data(TensorData::new(values, [outputs, inputs, 3, 3]), device),
            bias: Param::from_data(TensorData::new(vec![0.0f32; outputs], [outputs]), device),
        }
    }

    /// The convolution as nine shifted copies of the padded input and one matrix product
    /// (`[n·h·w, 9·in] × [9·in, out]`): the same sums as Burn's `conv2d`, with ops the app uses
    /// anyway, so the browser's download carries no convolution kernels (BENCHMARKS.md).
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [n, c, h, w] = x.dims();
        let out = self.weight.dims()[0];
        let padded = x.pad([(1, 1), (1, 1)], PadMode::Constant(0.0));
        let shifted: Vec<Tensor<4>> = (0..3)
            .flat_map(|dy| (0..3).map(move |dx| (dy, dx)))
            .map(|(dy, dx)| padded.clone().slice([0..n, 0..c, dy..dy + h, dx..dx + w]))
            .collect();
        // Channel (dy·3 + dx)·in + ci of the patches meets weight[o, ci, dy, dx].
        let columns = Tensor::cat(shifted, 1)
            .permute([0, 2, 3, 1])
            .reshape([n * h * w, 9 * c]);
        let kernel = self
            .weight
            .val()
            .permute([2, 3, 1, 0])
            .reshape([9 * c, out]);
        (crate::matmul::matmul(columns, kernel) + self.bias.val().unsqueeze::<2>())
            .reshape([n, h, w, out])
            .permute([0, 3, 1, 2])
    }
}

/// 2×2 max-pooling, stride 2, as a reshape and two reductions (see [`Conv::forward`]).
fn max_pool_2x2(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h / 2, 2, w / 2, 2])
        .max_dim(5)
        .max_dim(3)
        .reshape([n, c, h / 2, w / 2])
}

/// The classifier.
#[derive(Module, Debug)]
pub struct Classifier {
    /// 1 → 32 channels, 28×28 (then pooled to 14×14).
    pub conv1: Conv,
    /// 32 → 32 channels, 14×14 (then pooled to 7×7).
    pub conv2: Conv,
    /// 7·7·32 → 128, ReLU: the features.
    pub features: Dense,
    /// 128 → 10 logits.
    pub logits: Dense,
}

impl Classifier {
    /// Glorot-initialised from `rng`.
    pub fn glorot(rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let flat = CHANNELS[1] * (IMAGE_SIDE / 4) * (IMAGE_SIDE / 4);
        Self {
            conv1: Conv::glorot(1, CHANNELS[0], rng, device),
            conv2: Conv::glorot(CHANNELS[0], CHANNELS[1], rng, device),
            features: Dense::glorot(flat, FEATURES, rng, device),
            logits: Dense::glorot(FEATURES, CLASSES, rng, device),
        }
    }

    /// Features `[n, 128]` of images `[n, 784]` in [−1, 1] (the GAN's and MNIST's scaling).
    pub fn features(&self, images: Tensor<2>) -> Tensor<2> {
        let n = images.dims()[0];
        let x = images.reshape([n, 1, IMAGE_SIDE, IMAGE_SIDE]);
        let x = max_pool_2x2(relu(self.conv1.forward(x)));
        let x = max_pool_2x2(relu(self.conv2.forward(x)));
        let flat = x.reshape([n, CHANNELS[1] * (IMAGE_SIDE / 4) * (IMAGE_SIDE / 4)]);
        relu(self.features.forward(flat))
    }

    /// Logits `[n, 10]` of features `[n, 128]`.
    pub fn logits_of(&self, features: Tensor<2>) -> Tensor<2> {
        self.logits.forward(features)
    }

    /// Logits `[n, 10]` of images `[n, 784]`.
    pub fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        self.logits_of(self.features(images))
    }
}

/// The tensors of a classifier file, in order: name and shape.
fn layout() -> Vec<(&'static str, Vec<usize>)> {
    let flat = CHANNELS[1] * (IMAGE_SIDE / 4) * (IMAGE_SIDE / 4);
    vec![
        ("conv1.weight", vec![CHANNELS[0], 1, 3, 3]),
        ("conv1.bias", vec![CHANNELS[0]]),
        ("conv2.weight", vec![CHANNELS[1], CHANNELS[0], 3, 3]),
        ("conv2.bias", vec![CHANNELS[1]]),
        ("features.kernel", vec![flat, FEATURES]),
        ("features.bias", vec![FEATURES]),
        ("logits.kernel", vec![FEATURES, CLASSES]),
        ("logits.bias", vec![CLASSES]),
        ("test_stats.mean", vec![FEATURES]),
        ("test_stats.covariance", vec![FEATURES, FEATURES]),
    ]
}

/// A classifier with the test set's feature statistics: what the score needs.
#[derive(Debug, Clone)]
pub struct QualityModel {
    /// The network.
    pub classifier: Classifier,
    /// Mean and covariance of the features of the 10,000 MNIST test images.
    pub reference: FeatureStats,
}

impl QualityModel {
    /// Parses a classifier file, checking every tensor's name, dtype and shape.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self, ClassifierError> {
        let file = SafeTensors::deserialize(bytes)
            .map_err(|e| ClassifierError::NotSafetensors(e.to_string()))?;
        let mut values: HashMap<&str, Vec<f32>> = HashMap::new();
        for (name, shape) in layout() {
            let tensor = file
                .tensor(name)
                .map_err(|_| ClassifierError::BadTensor(name.into()))?;
            if tensor.dtype() != Dtype::F32 || tensor.shape() != shape.as_slice() {
                return Err(ClassifierError::BadTensor(name.into()));
            }
            values.insert(name, bytemuck::pod_collect_to_vec(tensor.data()));
        }
        let mut take = |name: &str| values.remove(name).unwrap_or_default();
        let shapes: HashMap<&str, Vec<usize>> = layout().into_iter().collect();
        let data = |name: &str, values: Vec<f32>| TensorData::new(values, shapes[name].clone());
        let conv = |w: &str, b: &str, take: &mut dyn FnMut(&str) -> Vec<f32>| Conv {
            weight: Param::from_data(data(w, take(w)), device),
            bias: Param::from_data(data(b, take(b)), device),
        };
        let conv1 = conv("conv1.weight", "conv1.bias", &mut take);
        let conv2 = conv("conv2.weight", "conv2.bias", &mut take);
        let dense = |k: &str, b: &str, take: &mut dyn FnMut(&str) -> Vec<f32>| {
            Dense::from_values(data(k, take(k)), data(b, take(b)), device)
        };
        let features = dense("features.kernel", "features.bias", &mut take);
        let logits = dense("logits.kernel", "logits.bias", &mut take);
        let mean = take("test_stats.mean");
        let covariance = take("test_stats.covariance");
        Ok(Self {
            classifier: Classifier {
                conv1,
                conv2,
                features,
                logits,
            },
            reference: FeatureStats::from_f32(&mean, &covariance),
        })
    }

    /// The file: every tensor of the classifier and the reference statistics, as float32.
    /// Natively only (`examples/train_classifier.rs`): it reads the tensors synchronously, which
    /// WebGPU in the browser refuses, so the wasm build leaves it out; the page only ever reads
    /// the committed file.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn to_bytes(&self) -> Vec<u8> {
        let c = &self.classifier;
        let read = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap_or_default();
        let flat4 = |t: Tensor<4>| read(t.flatten(0, 3));
        let flat2 = |t: Tensor<2>| read(t.flatten(0, 1));
        let (mean, covariance) = self.reference.to_f32();
        let tensors: Vec<Vec<f32>> = vec![
            flat4(c.conv1.weight.val()),
            read(c.conv1.bias.val()),
            flat4(c.conv2.weight.val()),
            read(c.conv2.bias.val()),
            flat2(c.features.kernel.val()),
            read(c.features.bias.val()),
            flat2(c.logits.kernel.val()),
            read(c.logits.bias.val()),
            mean,
            covariance,
        ];
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = layout()
            .into_iter()
            .zip(&tensors)
            .map(|((name, shape), values)| {
                let view = safetensors::tensor::TensorView::new(
                    Dtype::F32,
                    shape,
                    bytemuck::cast_slice(values),
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
                (name.to_string(), view)
            })
            .collect();
        let metadata = HashMap::from([("format".to_string(), FORMAT.to_string())]);
        safetensors::serialize(views, Some(metadata)).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Scales MNIST bytes `[n × 784]` to the classifier's input on `device`.
pub fn images_tensor(pixels: &[u8], device: &Device) -> Tensor<2> {
    let n = pixels.len() / IMAGE_PIXELS;
    let values: Vec<f32> = pixels
        .iter()
        .map(|&p| crate::data::scale_pixel(p))
        .collect();
    Tensor::from_data(TensorData::new(values, [n, IMAGE_PIXELS]), device)
}
