//! The reference's two multilayer perceptrons, in Keras' layout (`y = x · kernel + bias`,
//! kernel `[in, out]`), so weights move to and from Keras unchanged.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::idx::IMAGE_PIXELS;

/// The model this build trains, by the name files and the page give it: the tutorial's.
pub const MODEL: &str = "tutorial";

/// LeakyReLU's slope for negative inputs in both networks.
pub const LEAKY_SLOPE: f64 = 0.01;

/// LeakyReLU as `x · m`, the multiplier `m` taken from the input's value as a constant of the
/// autodiff graph ([`crate::cpu::slope_constant`]): 1 above zero, `slope` at and below it. That
/// is TensorFlow's function (`x`, or `slope·x`, exactly) and its gradient (`grad · m`), in three
/// kernels forward and one backward on a GPU, and one host pass and a product on the CPU.
/// Burn's own LeakyReLU builds boolean masks forward and backward, and the earlier
/// `slope·x + (1 − slope)·relu(x)` took ten kernels per call: on WebGPU each launch costs the
/// host tens of microseconds (BENCHMARKS.md).
pub fn leaky_relu(x: Tensor<2>) -> Tensor<2> {
    let multiplier = leaky_multiplier(&x);
    x * multiplier
}

/// The multiplier [`leaky_relu`] applies to `x`: 1 above zero, the slope at and below it, as a
/// constant of the autodiff graph.
pub fn leaky_multiplier(x: &Tensor<2>) -> Tensor<2> {
    let slope = LEAKY_SLOPE as f32;
    crate::cpu::slope_constant(
        x,
        |v| if v > 0.0 { 1.0 } else { slope },
        |v| v.sign().clamp(LEAKY_SLOPE, 1.0),
    )
}

/// What follows a Dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Nothing: the layer's output as it is.
    Linear,
    /// [`leaky_relu`] with [`LEAKY_SLOPE`].
    LeakyRelu,
    /// tanh, into [−1, 1].
    Tanh,
}

/// Hidden and output widths of the generator's Dense layers (its input is the noise).
pub const GENERATOR_UNITS: [usize; 5] = [100, 128, 128, 256, IMAGE_PIXELS];
/// The activation after each of the generator's Dense layers.
pub const GENERATOR_ACTIVATIONS: [Activation; 5] = [
    Activation::Linear,
    Activation::LeakyRelu,
    Activation::LeakyRelu,
    Activation::LeakyRelu,
    Activation::Tanh,
];
/// Hidden and output widths of the discriminator's Dense layers (its input is 784 pixels).
pub const DISCRIMINATOR_UNITS: [usize; 4] = [128, 128, 128, 1];
/// The activation after each of the discriminator's Dense layers (the last gives a logit).
pub const DISCRIMINATOR_ACTIVATIONS: [Activation; 4] = [
    Activation::LeakyRelu,
    Activation::LeakyRelu,
    Activation::LeakyRelu,
    Activation::Linear,
];

/// A Keras `Dense` layer without its activation.
#[derive(Module, Debug)]
pub struct Dense {
    /// `[in, out]`.
    pub kernel: Param<Tensor<2>>,
    /// `[out]`.
    pub bias: Param<Tensor<1>>,
}

impl Dense {
    /// Glorot-uniform kernel (limit `sqrt(6 / (in + out))`) and zero bias, as Keras initialises.
    pub fn glorot(inputs: usize, outputs: usize, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let limit = (6.0 / (inputs + outputs) as f64).sqrt() as f32;
        let values: Vec<f32> = (0..inputs * outputs)
            .map(|_| rng.random_range(-limit..limit))
            .collect();
        Self::from_values(
            TensorData::new(values, [inputs, outputs]),
            TensorData::new(vec![0.0f32; outputs], [outputs]),
            device,
        )
    }

    /// A layer holding the given kernel `[in, out]` and bias `[out]`.
    pub fn from_values(kernel: TensorData, bias: TensorData, device: &Device) -> Self {
        Self {
            kernel: Param::from_data(kernel, device),
            bias: Param::from_data(bias, device),
        }
    }

    /// Number of inputs.
    pub fn inputs(&self) -> usize {
        self.kernel.dims()[0]
    }

    /// Number of outputs.
    pub fn outputs(&self) -> usize {
        self.kernel.dims()[1]
    }

    fn apply(x: Tensor<2>, kernel: Tensor<2>, bias: Tensor<1>) -> Tensor<2> {
        crate::matmul::matmul(x, kernel) + bias.unsqueeze::<2>()
    }

    /// `x · kernel + bias`, gradients flowing to the parameters.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        Self::apply(x, self.kernel.val(), self.bias.val())
    }

    /// The same with the parameters held constant: gradients reach `x` but not this layer.
    /// Constants, not `detach()`ed: Burn's `detach` keeps a parameter's `require_grad`, so
    /// backward would still compute the kernel's and the bias's gradients (four matrix products
    /// and four reductions a step, a fifteenth of the step's products) for a copy nobody reads.
    pub fn forward_frozen(&self, x: Tensor<2>) -> Tensor<2> {
        Self::apply(x, constant(self.kernel.val()), constant(self.bias.val()))
    }
}

/// `value` as a constant of the autodiff graph: no gradient is computed for it.
fn constant<const D: usize>(value: Tensor<D>) -> Tensor<D> {
    Tensor::from_inner(value.inner())
}

/// Builds Glorot-initialised layers of the given widths after an input of `inputs`.
fn glorot_layers(
    inputs: usize,
    units: &[usize],
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Vec<Dense> {
    let mut layers = Vec::with_capacity(units.len());
    let mut fan_in = inputs;
    for &fan_out in units {
        layers.push(Dense::glorot(fan_in, fan_out, rng, device));
        fan_in = fan_out;
    }
    layers
}

/// Noise `[n, noise_dim]` → image `[n, 784]` in [−1, 1]: Dense(100) linear, three LeakyReLU
/// layers (128, 128, 256), Dense(784) tanh.
#[derive(Module, Debug)]
pub struct Generator {
    /// `dense0` … `dense4`.
    pub layers: Vec<Dense>,
}

impl Generator {
    /// Number of Dense layers.
    pub const DEPTH: usize = GENERATOR_UNITS.len();

    /// The generator for noise of size `noise_dim`, Glorot-initialised from `rng`.
    pub fn glorot(noise_dim: usize, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        Self {
            layers: glorot_layers(noise_dim, &GENERATOR_UNITS, rng, device),
        }
    }

    /// The generator's images for `noise`.
    pub fn forward(&self, noise: Tensor<2>) -> Tensor<2> {
        let mut x = noise;
        for (layer, activation) in self.layers.iter().zip(GENERATOR_ACTIVATIONS) {
            x = layer.forward(x);
            x = match activation {
                Activation::Linear => x,
                Activation::LeakyRelu => leaky_relu(x),
                Activation::Tanh => crate::cpu::tanh(x),
            };
        }
        x
    }

    /// The generator's images for `noise`, without autodiff: `[n, 784]` in [−1, 1].
    pub fn generate(&self, noise: Tensor<2>) -> Tensor<2> {
        self.forward(noise.detach()).inner()
    }

    /// Size of the noise vector it takes.
    pub fn noise_dim(&self) -> usize {
        self.layers[0].inputs()
    }
}

/// Image `[n, 784]` → logit `[n, 1]`: three LeakyReLU layers of 128, then a linear Dense(1).
#[derive(Module, Debug)]
pub struct Discriminator {
    /// `dense0` … `dense3`.
    pub layers: Vec<Dense>,
}

impl Discriminator {
    /// Number of Dense layers.
    pub const DEPTH: usize = DISCRIMINATOR_UNITS.len();

    /// The discriminator, Glorot-initialised from `rng`.
    pub fn glorot(rng: &mut ChaCha8Rng, device: &Device) -> Self {
        Self {
            layers: glorot_layers(IMAGE_PIXELS, &DISCRIMINATOR_UNITS, rng, device),
        }
    }

    /// The logits and each LeakyReLU layer's multiplier ([`DISCRIMINATOR_ACTIVATIONS`]):
    /// `given` ones, or computed from the layer's values.
    fn run(
        &self,
        images: Tensor<2>,
        frozen: bool,
        given: Option<&[Tensor<2>]>,
    ) -> (Tensor<2>, Vec<Tensor<2>>) {
        let mut multipliers = Vec::with_capacity(self.layers.len());
        let mut x = images;
        for (layer, activation) in self.layers.iter().zip(DISCRIMINATOR_ACTIVATIONS) {
            x = if frozen {
                layer.forward_frozen(x)
            } else {
                layer.forward(x)
            };
            x = match activation {
                Activation::Linear => x,
                Activation::LeakyRelu => {
                    let multiplier = match given.and_then(|m| m.get(multipliers.len())) {
                        Some(m) => m.clone(),
                        None => leaky_multiplier(&x),
                    };
                    multipliers.push(multiplier.clone());
                    x * multiplier
                }
                Activation::Tanh => crate::cpu::tanh(x),
            };
        }
        (x, multipliers)
    }

    /// Logits for `images`, gradients flowing to the discriminator's parameters.
    pub fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        self.run(images, false, None).0
    }

    /// [`Discriminator::forward`], with the LeakyReLU multiplier of each hidden layer (constants
    /// of the graph, a row per image).
    pub fn forward_with_multipliers(&self, images: Tensor<2>) -> (Tensor<2>, Vec<Tensor<2>>) {
        self.run(images, false, None)
    }

    /// Logits with the parameters held constant: the generator's loss goes through the
    /// discriminator as it is, without producing gradients for it.
    pub fn forward_frozen(&self, images: Tensor<2>) -> Tensor<2> {
        self.run(images, true, None).0
    }

    /// [`Discriminator::forward_frozen`] with the hidden layers' multipliers given: those of a
    /// pass over the same images through the same parameters, which are the ones it would
    /// compute. On a GPU that saves two kernels per hidden layer.
    pub fn forward_frozen_with(&self, images: Tensor<2>, multipliers: &[Tensor<2>]) -> Tensor<2> {
        self.run(images, true, Some(multipliers)).0
    }
}

/// Seeds the Glorot initialisation of both networks (generator first, as Keras builds them).
pub fn init_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}
