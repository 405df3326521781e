//! A model described once: each network's input, the labels appended to it and its layers.
//! Everything that depends on a model's shape derives from its [`ModelSpec`]: initialisation,
//! the flat parameter layout and the optimizers' slots, the weights file's names and shapes,
//! the ONNX graph, the replicas' gradients. A model is one file giving its spec and one arm
//! of [`ModelKind`].

use serde::{Deserialize, Serialize};

use super::geometry::{Layer, LayerKind, LayerSpec, Volume, same_padding};
use super::{Activation, conditional, sharp, tutorial};

/// The labels a conditional model draws: the ten digits.
pub const DIGITS: usize = 10;

/// The models a run may train, by the name the page, the URL, the command line and the
/// weights file give them. Chosen before a run starts and fixed for its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// The tutorial's vanilla GAN, exactly (the default).
    #[default]
    Tutorial,
    /// The tutorial's networks and optimizers with the digit's one-hot appended to the
    /// generator's noise and to the discriminator's pixels (Mirza & Osindero 2014).
    Conditional,
    /// A small conditional convolutional GAN (transposed convolutions up from 7 × 7, strided
    /// convolutions down), Adam β1 0.5 for both networks, batch 64, a moving average of the
    /// generator's weights shown: it reaches the tutorial's final quality in a few epochs.
    Sharp,
}

impl ModelKind {
    /// Every model, the default first.
    pub const ALL: [Self; 3] = [Self::Tutorial, Self::Conditional, Self::Sharp];

    /// The model's description for noise of `noise_dim` values.
    pub fn spec(self, noise_dim: usize) -> ModelSpec {
        match self {
            Self::Tutorial => tutorial::spec(noise_dim),
            Self::Conditional => conditional::spec(noise_dim),
            Self::Sharp => sharp::spec(noise_dim),
        }
    }

    /// Its name: `tutorial`, `conditional`.
    pub fn name(self) -> &'static str {
        self.spec(1).name
    }

    /// The model of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Every model's name, for messages: "tutorial, conditional, sharp".
    pub fn names() -> String {
        let names: Vec<_> = Self::ALL.iter().map(|m| m.name()).collect();
        names.join(", ")
    }

    /// The stem of a download of a run of this model after `epoch` epochs:
    /// `mnist-gan-epoch-N` for the tutorial, `mnist-gan-conditional-epoch-N` for another model.
    pub fn file_stem(self, epoch: usize) -> String {
        match self {
            Self::Tutorial => format!("mnist-gan-epoch-{epoch}"),
            other => format!("mnist-gan-{other}-epoch-{epoch}"),
        }
    }

    /// What it is, in a few words.
    pub fn summary(self) -> &'static str {
        self.spec(1).summary
    }

    /// How many labels it is conditioned on (0: none).
    pub fn labels(self) -> usize {
        self.spec(1).labels
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One network: its input's features (labels included) and its layers in order.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    /// Features of its input before the labels: the noise, or the image's pixels.
    pub features: usize,
    /// The side of its input read as an image (the discriminator's 28; 1 for noise).
    pub side: usize,
    /// One-hot labels appended to the input (0: none): to a vector's values before a `Dense`
    /// first layer, as that many constant maps (extra channels) before a convolution.
    pub labels: usize,
    /// Its layers, first to last.
    pub layers: Vec<LayerSpec>,
}

impl NetworkSpec {
    /// Values a row of its input holds with its labels, `features + labels` (the first layer's
    /// input when the labels join as values; as maps they take [`NetworkSpec::input`]'s room).
    pub fn inputs(&self) -> usize {
        self.features + self.labels
    }

    /// Whether the labels join the input as maps (its first layer is a convolution).
    pub fn label_maps(&self) -> bool {
        self.labels > 0
            && self
                .layers
                .first()
                .is_some_and(|l| !matches!(l.kind, LayerKind::Dense { .. }))
    }

    /// The first layer's input, labels included.
    pub fn input(&self) -> Volume {
        if self.label_maps() {
            let side = self.side.max(1);
            Volume {
                side,
                channels: self.features / (side * side) + self.labels,
            }
        } else {
            Volume {
                side: 1,
                channels: self.inputs(),
            }
        }
    }

    /// Each layer with its input and output shapes. A description whose convolutions do not
    /// fit their inputs (a side not divisible, an odd `same` padding) has no such list: each
    /// model's is tested (`tests/model.rs`), so this panics only on a broken description.
    pub fn layers(&self) -> Vec<Layer> {
        self.try_layers()
            .unwrap_or_else(|e| panic!("the model description is inconsistent: {e}"))
    }

    /// [`NetworkSpec::layers`], or what does not fit.
    pub fn try_layers(&self) -> Result<Vec<Layer>, String> {
        let mut input = self.input();
        let mut out = Vec::with_capacity(self.layers.len());
        for (i, spec) in self.layers.iter().enumerate() {
            let output = match spec.kind {
                LayerKind::Dense { side } => {
                    let side = side.max(1);
                    if !spec.units.is_multiple_of(side * side) {
                        return Err(format!(
                            "layer {i}: {} units are no {side}² image",
                            spec.units
                        ));
                    }
                    Volume {
                        side,
                        channels: spec.units / (side * side),
                    }
                }
                LayerKind::Conv { stride, .. } => {
                    if stride == 0 || !input.side.is_multiple_of(stride) {
                        return Err(format!(
                            "layer {i}: side {} over stride {stride}",
                            input.side
                        ));
                    }
                    Volume {
                        side: input.side / stride,
                        channels: spec.units,
                    }
                }
                LayerKind::ConvTranspose { stride, .. } => Volume {
                    side: input.side * stride,
                    channels: spec.units,
                },
            };
            if same_padding(spec.kind, input.side, output.side).is_none() {
                return Err(format!(
                    "layer {i}: `same` padding is not even on both sides"
                ));
            }
            out.push(Layer {
                kind: spec.kind,
                input,
                output,
                activation: spec.activation,
            });
            input = output;
        }
        Ok(out)
    }

    /// `[rows, cols]` of each layer's kernel matrix ([`Layer::matrix`]).
    pub fn shapes(&self) -> Vec<[usize; 2]> {
        self.layers().iter().map(Layer::matrix).collect()
    }

    /// Number of layers.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Features of its output.
    pub fn outputs(&self) -> usize {
        self.layers()
            .last()
            .map_or(self.inputs(), |l| l.output.features())
    }

    /// Each layer's activation, in order.
    pub fn activations(&self) -> impl Iterator<Item = Activation> + '_ {
        self.layers.iter().map(|l| l.activation)
    }
}

/// How a network's parameters are updated: Keras' optimizers, their settings from the run's
/// configuration (the learning rate of that network, β1, β2 and ε, or ρ and ε).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    /// Keras' `Adam`.
    Adam,
    /// Keras' `RMSprop`.
    RmsProp,
}

/// The settings a model starts from where they differ from the tutorial's
/// ([`crate::TrainingConfig::for_model`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ModelDefaults {
    /// Real images per step.
    pub batch_size: Option<usize>,
    /// The noise's size.
    pub noise_dim: Option<usize>,
    /// The generator's learning rate.
    pub generator_lr: Option<f64>,
    /// The discriminator's learning rate.
    pub discriminator_lr: Option<f64>,
    /// Adam's β1 (both networks').
    pub adam_beta1: Option<f64>,
    /// Epochs.
    pub epochs: Option<usize>,
    /// Snapshots every this many epochs.
    pub snapshot_every: Option<usize>,
}

/// A whole model: both networks, their optimizers and the labels it is conditioned on.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// The model's name ([`ModelKind::name`]).
    pub name: &'static str,
    /// What it is, in a few words (the page's model menu).
    pub summary: &'static str,
    /// Its reference curve's file under `www/data/quality/` (the page's `data/quality/`): the
    /// JSON of a native run at its defaults, scored after every epoch (`quality::reference`).
    pub reference: Option<&'static str>,
    /// How many labels it is conditioned on (0: none; else [`DIGITS`]).
    pub labels: usize,
    /// Noise (and labels) → image pixels in [−1, 1].
    pub generator: NetworkSpec,
    /// Image pixels (and labels) → one logit.
    pub discriminator: NetworkSpec,
    /// The discriminator's optimizer (the generator's is always Adam).
    pub discriminator_optimizer: OptimizerKind,
    /// The settings it starts from.
    pub defaults: ModelDefaults,
    /// The decay of an exponential moving average of the generator's weights, which is then
    /// what the page shows, scores and exports (`None`: the generator itself). Its first
    /// updates decay less (`(1 + t)/(10 + t)` at update `t`, as TensorFlow's
    /// `ExponentialMovingAverage` with `num_updates`), so the first epochs are not dominated
    /// by the initial weights.
    pub average: Option<f32>,
}
