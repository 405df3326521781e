//! One layer as a model describes it ([`LayerSpec`]: Keras' `Dense`, `Conv2D` or
//! `Conv2DTranspose`, its outputs and activation) and as its network places it ([`Layer`]: the
//! shapes of its input and output, its kernel's matrix and Keras shape, its padding, its name
//! in the weights file). [`super::NetworkSpec::layers`] derives the one from the other.

use super::Activation;

/// What a layer computes from its input: Keras' layers, convolutions with `padding="same"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// `Dense`: every input to every output. A following convolution reads its output as a
    /// `side × side` image of `units / side²` channels (Keras' `Reshape`); 1 when flat.
    Dense {
        /// The side of the image its output is read as.
        side: usize,
    },
    /// `Conv2D`: a `kernel × kernel` window at every `stride`-th position; the output's side
    /// is the input's over the stride.
    Conv {
        /// The window's side.
        kernel: usize,
        /// The step between windows.
        stride: usize,
    },
    /// `Conv2DTranspose`: the gradient of such a convolution; the output's side is the
    /// input's times the stride.
    ConvTranspose {
        /// The window's side.
        kernel: usize,
        /// The step between windows (in the output).
        stride: usize,
    },
}

/// One layer as a model describes it: what it is, its outputs (units or filters) and what
/// follows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerSpec {
    /// What it computes.
    pub kind: LayerKind,
    /// A `Dense` layer's outputs, a convolution's output channels.
    pub units: usize,
    /// The activation after it.
    pub activation: Activation,
}

impl LayerSpec {
    /// A `Dense` layer of `units` outputs followed by `activation`.
    pub const fn dense(units: usize, activation: Activation) -> Self {
        Self {
            kind: LayerKind::Dense { side: 1 },
            units,
            activation,
        }
    }

    /// A `Dense` layer whose output is a `side × side × channels` image.
    pub const fn dense_image(side: usize, channels: usize, activation: Activation) -> Self {
        Self {
            kind: LayerKind::Dense { side },
            units: side * side * channels,
            activation,
        }
    }

    /// A `Conv2D` of `filters` output channels.
    pub const fn conv(
        filters: usize,
        kernel: usize,
        stride: usize,
        activation: Activation,
    ) -> Self {
        Self {
            kind: LayerKind::Conv { kernel, stride },
            units: filters,
            activation,
        }
    }

    /// A `Conv2DTranspose` of `filters` output channels.
    pub const fn conv_transpose(
        filters: usize,
        kernel: usize,
        stride: usize,
        activation: Activation,
    ) -> Self {
        Self {
            kind: LayerKind::ConvTranspose { kernel, stride },
            units: filters,
            activation,
        }
    }
}

/// Activations between layers: `side × side × channels`, held flat in that order (Keras'
/// channels-last layout, as its `Flatten` reads it). A flat vector has side 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Volume {
    /// Height and width.
    pub side: usize,
    /// Channels.
    pub channels: usize,
}

impl Volume {
    /// Values per image.
    pub fn features(&self) -> usize {
        self.side * self.side * self.channels
    }
}

/// One layer with the shapes of its input and output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layer {
    /// What it computes.
    pub kind: LayerKind,
    /// Its input.
    pub input: Volume,
    /// Its output.
    pub output: Volume,
    /// The activation after it.
    pub activation: Activation,
}

impl Layer {
    /// The kernel as the matrix the app holds, `[rows, cols]`: Keras' kernel with its leading
    /// dimensions flattened (`Dense` `[in, out]`, `Conv2D` `[h·w·in, out]`, `Conv2DTranspose`
    /// `[h·w·out, in]`), the same values in the same order.
    pub fn matrix(&self) -> [usize; 2] {
        match self.kind {
            LayerKind::Dense { .. } => [self.input.features(), self.output.features()],
            LayerKind::Conv { kernel, .. } => {
                [kernel * kernel * self.input.channels, self.output.channels]
            }
            LayerKind::ConvTranspose { kernel, .. } => {
                [kernel * kernel * self.output.channels, self.input.channels]
            }
        }
    }

    /// The kernel's shape in Keras (and in the weights file): `Dense` `[in, out]`, `Conv2D`
    /// `[h, w, in, out]`, `Conv2DTranspose` `[h, w, out, in]`.
    pub fn kernel_shape(&self) -> Vec<usize> {
        match self.kind {
            LayerKind::Dense { .. } => self.matrix().to_vec(),
            LayerKind::Conv { kernel, .. } => {
                vec![kernel, kernel, self.input.channels, self.output.channels]
            }
            LayerKind::ConvTranspose { kernel, .. } => {
                vec![kernel, kernel, self.output.channels, self.input.channels]
            }
        }
    }

    /// Values of its bias: a `Dense` layer's outputs, a convolution's output channels.
    pub fn bias(&self) -> usize {
        match self.kind {
            LayerKind::Dense { .. } => self.output.features(),
            _ => self.output.channels,
        }
    }

    /// Keras' name for its kind: `dense`, `conv2d`, `conv2d_transpose`.
    pub fn keras_name(&self) -> &'static str {
        match self.kind {
            LayerKind::Dense { .. } => "dense",
            LayerKind::Conv { .. } => "conv2d",
            LayerKind::ConvTranspose { .. } => "conv2d_transpose",
        }
    }

    /// A convolution's zero padding on each side, as Keras' `padding="same"` places it
    /// (the same before and after: [`super::NetworkSpec::layers`] accepts no other).
    pub fn padding(&self) -> usize {
        same_padding(self.kind, self.input.side, self.output.side).unwrap_or(0)
    }
}

/// The name of layer `index` of the network under `stem`, as the weights file and the ONNX
/// export name it (its tensors are `NAME.kernel` and `NAME.bias`): Keras' name for its kind and
/// its index in the network, e.g. `gen.dense0`, `gen.conv2d_transpose1`, `disc.conv2d0`.
pub fn layer_name(stem: &str, layer: &Layer, index: usize) -> String {
    format!("{stem}.{}{index}", layer.keras_name())
}

/// `padding="same"`'s total padding of a convolution from `input` to `output` side (for a
/// transposed one, of the convolution it is the gradient of), halved: `None` unless it splits
/// evenly, as TensorFlow puts an odd one's extra row after.
pub(super) fn same_padding(kind: LayerKind, input: usize, output: usize) -> Option<usize> {
    let (kernel, stride, small, large) = match kind {
        LayerKind::Dense { .. } => return Some(0),
        LayerKind::Conv { kernel, stride } => (kernel, stride, output, input),
        LayerKind::ConvTranspose { kernel, stride } => (kernel, stride, input, output),
    };
    let total = ((small.checked_sub(1)?) * stride + kernel).saturating_sub(large);
    total.is_multiple_of(2).then_some(total / 2)
}
