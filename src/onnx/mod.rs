//! The trained networks as ONNX files, for every runtime that reads the format (ONNX Runtime in
//! Python, C#, Java and the browser, OpenCV's DNN module, Netron).
//!
//! [`export`] turns a [`Checkpoint`] into one network's `.onnx` file, derived from the model's
//! description ([`crate::model::ModelSpec`]): each Dense layer a `Gemm` whose initializers
//! carry the weights file's names and Keras' `[in, out]` kernels, each convolution a `Conv` or
//! `ConvTranspose` (kernels in ONNX's layout, between transposes from and to the channels-last
//! layout), each activation its standard operator (tanh followed by a `Clip` to [-1, 1], as
//! ONNX Runtime's tanh can round one float32 step past 1), and a `Reshape` between the flat 784
//! pixels and images `[batch, 28, 28, 1]`. The generator exported is the one the app shows
//! (a model's moving average where it keeps one). The batch is dynamic. The bytes depend on the
//! checkpoint alone (no clock, no map order), so the page's export and the native one of the
//! same weights are the same file.

mod graph;
pub mod proto;

use prost::Message;
use thiserror::Error;

use crate::weights::{Checkpoint, WeightsError};

/// The ONNX IR version the files declare (8: ONNX 1.10, read by every ONNX Runtime since 1.10).
pub const IR_VERSION: i64 = 8;
/// The default domain's operator set the files use (17: ONNX 1.12).
pub const OPSET: i64 = 17;

/// Which network to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Noise → images.
    Generator,
    /// Images → a logit per image.
    Discriminator,
}

impl Network {
    /// Its name in file names and metadata.
    pub fn name(self) -> &'static str {
        match self {
            Self::Generator => "generator",
            Self::Discriminator => "discriminator",
        }
    }

    /// The name a download of it takes, of a run of `model` after `epoch` epochs.
    pub fn file_name(self, model: crate::model::ModelKind, epoch: usize) -> String {
        format!("{}-{}.onnx", model.file_stem(epoch), self.name())
    }
}

/// Why a network was not exported.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ExportError {
    /// A weight of the run is NaN or infinite: it diverged, and a file of it would draw nothing.
    #[error(
        "the weights are no longer finite numbers (`{tensor}` holds {value} at index {index}), so there is nothing to export"
    )]
    NonFinite {
        /// The tensor, by its name in the weights file.
        tensor: String,
        /// The flat index of the first bad value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// The weights could not be read.
    #[error("the weights could not be read: {0}")]
    Weights(WeightsError),
}

impl From<WeightsError> for ExportError {
    fn from(error: WeightsError) -> Self {
        match error {
            WeightsError::NonFinite { name, index, value } => Self::NonFinite {
                tensor: name,
                index,
                value,
            },
            other => Self::Weights(other),
        }
    }
}

/// One network of `checkpoint` as an ONNX file. A run with any weight (of either network, or
/// of the optimizers' state) that is not a finite number is refused: it diverged.
pub fn export(checkpoint: &Checkpoint, network: Network) -> Result<Vec<u8>, ExportError> {
    if let Some(error) = checkpoint.non_finite() {
        return Err(error.into());
    }
    let graph = graph::build(checkpoint, network);
    let model = proto::ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![proto::OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        producer_name: Some(env!("CARGO_PKG_NAME").into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        model_version: Some(checkpoint.progress.epoch as i64),
        doc_string: Some(graph::describe(checkpoint, network)),
        graph: Some(graph),
        metadata_props: metadata(checkpoint, network)
            .into_iter()
            .map(|(key, value)| proto::StringStringEntryProto {
                key: Some(key.into()),
                value: Some(value),
            })
            .collect(),
        ..Default::default()
    };
    Ok(model.encode_to_vec())
}

/// [`export`] for the weights file `bytes` (the app's own safetensors, as the page captures
/// it); a file without metadata takes `fallback` as its settings.
pub fn export_weights_file(
    bytes: &[u8],
    network: Network,
    fallback: &crate::TrainingConfig,
) -> Result<Vec<u8>, ExportError> {
    let checkpoint = Checkpoint::from_bytes(bytes, "", fallback)?;
    export(&checkpoint, network)
}

/// The file's `metadata_props`, in a fixed order.
fn metadata(checkpoint: &Checkpoint, network: Network) -> Vec<(&'static str, String)> {
    let mut props = vec![
        (
            "app",
            concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION")).to_string(),
        ),
        ("model", checkpoint.config.model.name().to_string()),
        ("network", network.name().to_string()),
        ("epoch", checkpoint.progress.epoch.to_string()),
        ("step", checkpoint.progress.step.to_string()),
        ("settings", checkpoint.config.to_json()),
    ];
    if !checkpoint.scores.is_empty() {
        let json = serde_json::to_string(&checkpoint.scores).expect("scores are plain numbers");
        props.push(("scores", json));
    }
    props
}
