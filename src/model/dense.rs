//! A layer's parameters ([`Dense`]) and their computation as the description's [`Layer`] says.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::geometry::{Layer, LayerKind};
use super::layer;

/// A layer's parameters without its activation: a Keras `Dense` layer's kernel `[in, out]` and
/// bias `[out]`, or a convolution's kernel as its matrix ([`Layer::matrix`]) and its bias per
/// output channel. The description's [`Layer`] says what it computes.
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

    /// Glorot-uniform parameters for the described `layer` (limit `sqrt(6 / (fan_in +
    /// fan_out))`, a convolution's fans counting its window, as Keras computes them), drawn in
    /// the order of Keras' kernel; zero bias.
    pub fn glorot_for(layer: &Layer, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let [rows, cols] = layer.matrix();
        let window = rows * cols / (layer.input.channels * layer.output.channels).max(1);
        let fans = match layer.kind {
            LayerKind::Dense { .. } => rows + cols,
            _ => window * (layer.input.channels + layer.output.channels),
        };
        let limit = (6.0 / fans as f64).sqrt() as f32;
        let values: Vec<f32> = (0..rows * cols)
            .map(|_| rng.random_range(-limit..limit))
            .collect();
        Self::from_values(
            TensorData::new(values, [rows, cols]),
            TensorData::new(vec![0.0f32; layer.bias()], [layer.bias()]),
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

    /// Number of inputs (of a convolution: rows of its kernel matrix).
    pub fn inputs(&self) -> usize {
        self.kernel.dims()[0]
    }

    /// Number of outputs (of a convolution: columns of its kernel matrix).
    pub fn outputs(&self) -> usize {
        self.kernel.dims()[1]
    }

    /// Values of its kernel and of its bias.
    pub fn lengths(&self) -> [usize; 2] {
        let [rows, cols] = self.kernel.dims();
        [rows * cols, self.bias.dims()[0]]
    }

    /// `x` through the described `layer` holding these parameters, gradients flowing to them.
    pub fn forward_as(&self, layer: &Layer, x: Tensor<2>) -> Tensor<2> {
        layer::apply(layer, x, self.kernel.val(), self.bias.val())
    }

    /// [`Dense::forward_as`] with the parameters held constant ([`Dense::forward_frozen`]).
    pub fn forward_frozen_as(&self, layer: &Layer, x: Tensor<2>) -> Tensor<2> {
        layer::apply(
            layer,
            x,
            constant(self.kernel.val()),
            constant(self.bias.val()),
        )
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
