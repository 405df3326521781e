//! A described layer's computation over its parameters: `Dense` as a matrix product, the
//! convolutions through Burn's `conv2d` and `conv_transpose2d` (im2col and a matrix product
//! on the CPU backend, CubeCL's kernels on a GPU), their kernels reshaped from the matrix the
//! app holds to Burn's layouts on the way.
//!
//! Between layers the activations stay `[n, features]`, channels last (`Volume`): Keras'
//! layout, so a `Dense` after a convolution reads them in the order Keras' `Flatten` gives.

use burn::tensor::Tensor;
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};

use super::geometry::{Layer, LayerKind, Volume};

/// `x` `[n, input features]` through `layer` with `kernel` (its matrix, [`Layer::matrix`]) and
/// `bias`: `[n, output features]`, before the activation.
pub(super) fn apply(layer: &Layer, x: Tensor<2>, kernel: Tensor<2>, bias: Tensor<1>) -> Tensor<2> {
    let padding = layer.padding();
    match layer.kind {
        LayerKind::Dense { .. } => crate::matmul::matmul(x, kernel) + bias.unsqueeze::<2>(),
        LayerKind::Conv { kernel: k, stride } => {
            let [cin, cout] = [layer.input.channels, layer.output.channels];
            // Keras' [h, w, in, out] → Burn's [out, in, h, w].
            let weight = kernel.reshape([k, k, cin, cout]).permute([3, 2, 0, 1]);
            let options = ConvOptions::new([stride; 2], [padding; 2], [1, 1], 1);
            flat(conv2d(image(x, layer.input), weight, Some(bias), options))
        }
        LayerKind::ConvTranspose { kernel: k, stride } => {
            let [cin, cout] = [layer.input.channels, layer.output.channels];
            // Keras' [h, w, out, in] → Burn's [in, out, h, w].
            let weight = kernel.reshape([k, k, cout, cin]).permute([3, 2, 0, 1]);
            let options = ConvTransposeOptions::new([stride; 2], [padding; 2], [0, 0], [1, 1], 1);
            flat(conv_transpose2d(
                image(x, layer.input),
                weight,
                Some(bias),
                options,
            ))
        }
    }
}

/// `[n, side·side·channels]` channels last → `[n, channels, side, side]`, Burn's layout.
fn image(x: Tensor<2>, volume: Volume) -> Tensor<4> {
    let [n, _] = x.dims();
    x.reshape([n, volume.side, volume.side, volume.channels])
        .permute([0, 3, 1, 2])
}

/// `[n, channels, h, w]` → `[n, h·w·channels]` channels last.
fn flat(y: Tensor<4>) -> Tensor<2> {
    let [n, c, h, w] = y.dims();
    y.permute([0, 2, 3, 1]).reshape([n, h * w * c])
}

/// `x` `[n, side·side·channels]` with `labels` `[n, labels]` joined as that many constant maps:
/// `[n, side·side·(channels + labels)]`, channels last.
pub(super) fn with_label_maps(x: Tensor<2>, labels: Tensor<2>, side: usize) -> Tensor<2> {
    let [n, features] = x.dims();
    let [_, width] = labels.dims();
    let channels = features / (side * side);
    let maps = labels
        .reshape([n, 1, 1, width])
        .expand([n, side, side, width]);
    let x = x.reshape([n, side, side, channels]);
    Tensor::cat(vec![x, maps], 3).reshape([n, side * side * (channels + width)])
}
