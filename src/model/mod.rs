//! The models' networks, in Keras' layout (`y = x · kernel + bias`, kernel `[in, out]`), so
//! weights move to and from Keras unchanged. What each model's networks are is its
//! description ([`ModelSpec`], one file per model: `tutorial`, `conditional`); the networks
//! here run any description.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::idx::IMAGE_PIXELS;

mod conditional;
mod dense;
mod geometry;
mod layer;
mod sharp;
mod spec;
mod tutorial;

pub use dense::Dense;
pub use geometry::{Layer, LayerKind, LayerSpec, Volume, layer_name};
pub use spec::{DIGITS, ModelDefaults, ModelKind, ModelSpec, NetworkSpec, OptimizerKind};

/// LeakyReLU's slope for negative inputs in both networks.
pub const LEAKY_SLOPE: f64 = 0.01;

/// LeakyReLU with the tutorial's slope as `x · m`, the multiplier `m` taken from the input's
/// value as a constant of the autodiff graph ([`crate::cpu::slope_constant`]): 1 above zero,
/// `slope` at and below it. That is TensorFlow's function (`x`, or `slope·x`, exactly) and its
/// gradient (`grad · m`), in three kernels forward and one backward on a GPU, and one host
/// pass and a product on the CPU. Burn's own LeakyReLU builds boolean masks forward and
/// backward, and the earlier `slope·x + (1 − slope)·relu(x)` took ten kernels per call: on
/// WebGPU each launch costs the host tens of microseconds (BENCHMARKS.md).
pub fn leaky_relu(x: Tensor<2>) -> Tensor<2> {
    let multiplier = leaky_multiplier(&x, LEAKY_SLOPE);
    x * multiplier
}

/// The multiplier a piecewise-linear activation of `slope` below zero applies to `x`: 1 above
/// zero, the slope at and below it (ReLU's 0: TensorFlow's gradient at 0), as a constant of
/// the autodiff graph.
pub fn leaky_multiplier(x: &Tensor<2>, slope: f64) -> Tensor<2> {
    let host_slope = slope as f32;
    crate::cpu::slope_constant(
        x,
        |v| if v > 0.0 { 1.0 } else { host_slope },
        |v| v.sign().clamp(slope, 1.0),
    )
}

/// What follows a layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// Nothing: the layer's output as it is.
    Linear,
    /// `max(x, 0)`, its gradient 0 at 0 as TensorFlow's.
    Relu,
    /// [`leaky_relu`] with this slope for negative inputs.
    LeakyRelu(f64),
    /// tanh, into [−1, 1].
    Tanh,
}

impl Activation {
    /// The slope below zero of a piecewise-linear activation (ReLU's 0), `None` for others.
    pub fn slope(self) -> Option<f64> {
        match self {
            Self::Relu => Some(0.0),
            Self::LeakyRelu(slope) => Some(slope),
            Self::Linear | Self::Tanh => None,
        }
    }
}

/// Hidden and output widths of the generator's Dense layers (its input is the noise).
pub const GENERATOR_UNITS: [usize; 5] = [100, 128, 128, 256, IMAGE_PIXELS];
/// The activation after each of the generator's Dense layers.
pub const GENERATOR_ACTIVATIONS: [Activation; 5] = [
    Activation::Linear,
    Activation::LeakyRelu(LEAKY_SLOPE),
    Activation::LeakyRelu(LEAKY_SLOPE),
    Activation::LeakyRelu(LEAKY_SLOPE),
    Activation::Tanh,
];
/// Hidden and output widths of the discriminator's Dense layers (its input is 784 pixels).
pub const DISCRIMINATOR_UNITS: [usize; 4] = [128, 128, 128, 1];
/// The activation after each of the discriminator's Dense layers (the last gives a logit).
pub const DISCRIMINATOR_ACTIVATIONS: [Activation; 4] = [
    Activation::LeakyRelu(LEAKY_SLOPE),
    Activation::LeakyRelu(LEAKY_SLOPE),
    Activation::LeakyRelu(LEAKY_SLOPE),
    Activation::Linear,
];

/// Glorot-initialised layers of `spec`, drawn from `rng` in order.
fn glorot_layers(spec: &NetworkSpec, rng: &mut ChaCha8Rng, device: &Device) -> Vec<Dense> {
    spec.layers()
        .iter()
        .map(|layer| Dense::glorot_for(layer, rng, device))
        .collect()
}

/// `x` through `activation`; for a piecewise-linear one, also the multiplier it applied
/// (`given`, or computed from `x`).
fn activate(
    x: Tensor<2>,
    activation: Activation,
    given: Option<&Tensor<2>>,
) -> (Tensor<2>, Option<Tensor<2>>) {
    match activation {
        Activation::Linear => (x, None),
        Activation::Tanh => (crate::cpu::tanh(x), None),
        Activation::Relu | Activation::LeakyRelu(_) => {
            let slope = activation.slope().unwrap_or(0.0);
            let multiplier = match given {
                Some(m) => m.clone(),
                None => leaky_multiplier(&x, slope),
            };
            (x * multiplier.clone(), Some(multiplier))
        }
    }
}

/// `labels` (each below `width`) as one-hot rows `[n, width]`, row-major.
pub fn one_hot(labels: &[u8], width: usize) -> Vec<f32> {
    let mut values = vec![0.0; labels.len() * width];
    for (row, &label) in labels.iter().enumerate() {
        values[row * width + usize::from(label) % width.max(1)] = 1.0;
    }
    values
}

/// The labels a conditional generator draws for `rows` samples when none are asked for: the
/// digits in turn, `row mod 10`.
pub fn default_labels(rows: usize) -> Vec<u8> {
    (0..rows).map(|row| (row % DIGITS) as u8).collect()
}

/// `x` with `labels`' one-hot rows appended when `spec` takes labels; without labels given,
/// [`default_labels`].
fn with_labels(spec: &NetworkSpec, x: Tensor<2>, labels: Option<Tensor<2>>) -> Tensor<2> {
    if spec.labels == 0 {
        return x;
    }
    let maps = spec.label_maps();
    let labels = labels.unwrap_or_else(|| {
        let rows = x.dims()[0];
        Tensor::from_data(
            TensorData::new(
                one_hot(&default_labels(rows), spec.labels),
                [rows, spec.labels],
            ),
            &x.device(),
        )
    });
    if maps {
        layer::with_label_maps(x, labels, spec.side)
    } else {
        Tensor::cat(vec![x, labels], 1)
    }
}

/// Noise `[n, noise_dim]` (and, for a conditional model, the digits' one-hot `[n, 10]`) →
/// image `[n, 784]` in [−1, 1], through the layers of its [`NetworkSpec`].
#[derive(Module, Debug)]
pub struct Generator {
    /// `dense0` … in order.
    pub layers: Vec<Dense>,
    /// What it is.
    #[module(skip)]
    pub spec: NetworkSpec,
}

/// Runs `x` through `layers` and their activations.
fn run_layers(layers: &[Dense], spec: &NetworkSpec, mut x: Tensor<2>) -> Tensor<2> {
    for (params, layer) in layers.iter().zip(spec.layers()) {
        x = activate(params.forward_as(&layer, x), layer.activation, None).0;
    }
    x
}

impl Generator {
    /// The generator `spec` describes, Glorot-initialised from `rng`.
    pub fn glorot(spec: &NetworkSpec, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        Self {
            layers: glorot_layers(spec, rng, device),
            spec: spec.clone(),
        }
    }

    /// The generator's images for `noise` and, for a conditional model, the one-hot `labels`
    /// asked for ([`default_labels`] when none are given).
    pub fn forward(&self, noise: Tensor<2>, labels: Option<Tensor<2>>) -> Tensor<2> {
        run_layers(
            &self.layers,
            &self.spec,
            with_labels(&self.spec, noise, labels),
        )
    }

    /// [`Generator::forward`] without autodiff: `[n, 784]` in [−1, 1].
    pub fn generate(&self, noise: Tensor<2>, labels: Option<Tensor<2>>) -> Tensor<2> {
        self.forward(noise.detach(), labels.map(Tensor::detach))
            .inner()
    }

    /// [`Generator::generate`] for `rows` host noise vectors and, for a conditional model,
    /// their labels' (possibly blended) one-hot rows, uploaded to `device`.
    pub fn generate_values(
        &self,
        noise: Vec<f32>,
        rows: usize,
        labels: Option<Vec<f32>>,
        device: &Device,
    ) -> Tensor<2> {
        let upload =
            |values, cols| Tensor::from_data(TensorData::new(values, [rows, cols]), device);
        let labels = labels.map(|labels| upload(labels, self.spec.labels));
        self.generate(upload(noise, self.noise_dim()), labels)
    }

    /// Size of the noise vector it takes.
    pub fn noise_dim(&self) -> usize {
        self.spec.features
    }
}

/// Image `[n, 784]` (and, for a conditional model, the digits' one-hot `[n, 10]`) → logit
/// `[n, 1]`, through the layers of its [`NetworkSpec`].
#[derive(Module, Debug)]
pub struct Discriminator {
    /// `dense0` … in order.
    pub layers: Vec<Dense>,
    /// What it is.
    #[module(skip)]
    pub spec: NetworkSpec,
}

impl Discriminator {
    /// The discriminator `spec` describes, Glorot-initialised from `rng`.
    pub fn glorot(spec: &NetworkSpec, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        Self {
            layers: glorot_layers(spec, rng, device),
            spec: spec.clone(),
        }
    }

    /// The logits and each LeakyReLU layer's multiplier: `given` ones, or computed from the
    /// layer's values.
    fn run(
        &self,
        images: Tensor<2>,
        labels: Option<Tensor<2>>,
        frozen: bool,
        given: Option<&[Tensor<2>]>,
    ) -> (Tensor<2>, Vec<Tensor<2>>) {
        let mut multipliers = Vec::with_capacity(self.layers.len());
        let mut x = with_labels(&self.spec, images, labels);
        for (params, layer) in self.layers.iter().zip(self.spec.layers()) {
            x = if frozen {
                params.forward_frozen_as(&layer, x)
            } else {
                params.forward_as(&layer, x)
            };
            let given = given.and_then(|m| m.get(multipliers.len()));
            let (y, multiplier) = activate(x, layer.activation, given);
            x = y;
            multipliers.extend(multiplier);
        }
        (x, multipliers)
    }

    /// Logits for `images` (with their one-hot `labels` for a conditional model), gradients
    /// flowing to the discriminator's parameters.
    pub fn forward(&self, images: Tensor<2>, labels: Option<Tensor<2>>) -> Tensor<2> {
        self.run(images, labels, false, None).0
    }

    /// [`Discriminator::forward`], with the LeakyReLU multiplier of each hidden layer (constants
    /// of the graph, a row per image).
    pub fn forward_with_multipliers(
        &self,
        images: Tensor<2>,
        labels: Option<Tensor<2>>,
    ) -> (Tensor<2>, Vec<Tensor<2>>) {
        self.run(images, labels, false, None)
    }

    /// Logits with the parameters held constant: the generator's loss goes through the
    /// discriminator as it is, without producing gradients for it.
    pub fn forward_frozen(&self, images: Tensor<2>, labels: Option<Tensor<2>>) -> Tensor<2> {
        self.run(images, labels, true, None).0
    }

    /// [`Discriminator::forward_frozen`] with the hidden layers' multipliers given: those of a
    /// pass over the same images through the same parameters, which are the ones it would
    /// compute. On a GPU that saves two kernels per hidden layer.
    pub fn forward_frozen_with(
        &self,
        images: Tensor<2>,
        labels: Option<Tensor<2>>,
        multipliers: &[Tensor<2>],
    ) -> Tensor<2> {
        self.run(images, labels, true, Some(multipliers)).0
    }
}

/// Seeds the Glorot initialisation of both networks (generator first, as Keras builds them).
pub fn init_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}
