//! A model described once: each network's input, the labels appended to it and its layers.
//! Everything that depends on a model's shape derives from its [`ModelSpec`]: initialisation,
//! the flat parameter layout and the optimizers' slots, the weights file's names and shapes,
//! the ONNX graph, the replicas' gradients. A model is one file giving its spec and one arm
//! of [`ModelKind`].

use serde::{Deserialize, Serialize};

use super::{Activation, conditional, tutorial};

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
}

impl ModelKind {
    /// Every model, the default first.
    pub const ALL: [Self; 2] = [Self::Tutorial, Self::Conditional];

    /// The model's description for noise of `noise_dim` values.
    pub fn spec(self, noise_dim: usize) -> ModelSpec {
        match self {
            Self::Tutorial => tutorial::spec(noise_dim),
            Self::Conditional => conditional::spec(noise_dim),
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

    /// Every model's name, for messages: "tutorial, conditional".
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

/// One Keras `Dense` layer: its width and what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSpec {
    /// Outputs.
    pub units: usize,
    /// The activation after it.
    pub activation: Activation,
}

impl LayerSpec {
    /// A layer of `units` outputs followed by `activation`.
    pub const fn dense(units: usize, activation: Activation) -> Self {
        Self { units, activation }
    }
}

/// One network: its input's features (labels included) and its layers in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// Features of its input before the labels: the noise, or the image's pixels.
    pub features: usize,
    /// One-hot labels appended to the input (0: none).
    pub labels: usize,
    /// Its layers, first to last.
    pub layers: Vec<LayerSpec>,
}

impl NetworkSpec {
    /// Features of its first layer's input: the features and the labels.
    pub fn inputs(&self) -> usize {
        self.features + self.labels
    }

    /// `[in, out]` of each layer's kernel.
    pub fn shapes(&self) -> Vec<[usize; 2]> {
        let mut fan_in = self.inputs();
        self.layers
            .iter()
            .map(|layer| {
                let shape = [fan_in, layer.units];
                fan_in = layer.units;
                shape
            })
            .collect()
    }

    /// Number of layers.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Features of its output.
    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(self.inputs(), |l| l.units)
    }

    /// Each layer's activation, in order.
    pub fn activations(&self) -> impl Iterator<Item = Activation> + '_ {
        self.layers.iter().map(|l| l.activation)
    }
}

/// A whole model: both networks and the labels it is conditioned on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// The model's name ([`ModelKind::name`]).
    pub name: &'static str,
    /// What it is, in a few words (the page's model menu).
    pub summary: &'static str,
    /// Its reference curve: the JSON of a native run at its defaults, scored after every epoch
    /// (`quality::reference`).
    pub reference: Option<&'static str>,
    /// How many labels it is conditioned on (0: none; else [`DIGITS`]).
    pub labels: usize,
    /// Noise (and labels) → image pixels in [−1, 1].
    pub generator: NetworkSpec,
    /// Image pixels (and labels) → one logit.
    pub discriminator: NetworkSpec,
}
