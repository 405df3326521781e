//! One network's ONNX graph, derived from the model's description: its inputs, a `Gemm` and an
//! activation per Dense layer (tanh followed by a `Clip` to [-1, 1]), the reshapes between flat
//! pixels and images, and its output.

use super::Network;
use super::proto::{self, tensor_proto::DataType, tensor_shape_proto::dimension};
use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::model::{Activation, LEAKY_SLOPE, NetworkSpec};
use crate::weights::{Checkpoint, DISCRIMINATOR_STEM, GENERATOR_STEM, HostDense, layer_name};

/// The dynamic batch dimension's name.
const BATCH: &str = "batch";

/// A dimension of an input or output: the dynamic batch, or a fixed size.
#[derive(Clone, Copy)]
enum Dim {
    Batch,
    Fixed(usize),
}

/// What a network takes and gives, and its layers.
struct Plan<'a> {
    /// The weights file's prefix of its tensors ([`GENERATOR_STEM`], [`DISCRIMINATOR_STEM`]).
    stem: &'static str,
    layers: &'a [HostDense],
    spec: NetworkSpec,
    input: (&'static str, Vec<Dim>),
    output: (&'static str, Vec<Dim>),
}

fn image_dims() -> Vec<Dim> {
    vec![
        Dim::Batch,
        Dim::Fixed(IMAGE_SIDE),
        Dim::Fixed(IMAGE_SIDE),
        Dim::Fixed(1),
    ]
}

/// The input of one-hot labels of a conditional model's networks.
const LABELS: &str = "labels";

fn plan(checkpoint: &Checkpoint, network: Network) -> Plan<'_> {
    let spec = checkpoint.config.model.spec(checkpoint.config.noise_dim);
    match network {
        Network::Generator => Plan {
            stem: GENERATOR_STEM,
            layers: &checkpoint.generator,
            spec: spec.generator,
            input: (
                "noise",
                vec![Dim::Batch, Dim::Fixed(checkpoint.config.noise_dim)],
            ),
            output: ("images", image_dims()),
        },
        Network::Discriminator => Plan {
            stem: DISCRIMINATOR_STEM,
            layers: &checkpoint.discriminator,
            spec: spec.discriminator,
            input: ("images", image_dims()),
            output: ("logit", vec![Dim::Batch, Dim::Fixed(1)]),
        },
    }
}

/// Nodes and initializers as they are added; each node's output is named after the node.
#[derive(Default)]
struct Builder {
    nodes: Vec<proto::NodeProto>,
    initializers: Vec<proto::TensorProto>,
}

impl Builder {
    /// Adds a node of `op` named `name` over `inputs`; its output is `name`.
    fn node(
        &mut self,
        op: &str,
        name: String,
        inputs: Vec<String>,
        attributes: Vec<proto::AttributeProto>,
    ) -> String {
        self.nodes.push(proto::NodeProto {
            op_type: Some(op.into()),
            name: Some(name.clone()),
            input: inputs,
            output: vec![name.clone()],
            attribute: attributes,
            ..Default::default()
        });
        name
    }

    /// A float32 initializer.
    fn floats(&mut self, name: String, dims: &[usize], values: &[f32]) -> String {
        self.initializers.push(proto::TensorProto {
            name: Some(name.clone()),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(DataType::Float as i32),
            raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
            ..Default::default()
        });
        name
    }

    /// `x` reshaped to `shape` (−1: the batch), as the node `name`.
    fn reshape(&mut self, name: String, x: String, shape: &[i64]) -> String {
        let shape_name = format!("{name}.shape");
        self.initializers.push(proto::TensorProto {
            name: Some(shape_name.clone()),
            dims: vec![shape.len() as i64],
            data_type: Some(DataType::Int64 as i32),
            int64_data: shape.to_vec(),
            ..Default::default()
        });
        self.node("Reshape", name, vec![x, shape_name], Vec::new())
    }

    /// Keras' Dense, `x · kernel + bias`, as a `Gemm` named `name` over initializers
    /// `name.kernel` `[in, out]` and `name.bias` `[out]`.
    fn dense(&mut self, name: String, x: String, layer: &HostDense) -> String {
        let outputs = layer.bias.len();
        let inputs = layer.kernel.len() / outputs.max(1);
        let kernel = self.floats(format!("{name}.kernel"), &[inputs, outputs], &layer.kernel);
        let bias = self.floats(format!("{name}.bias"), &[outputs], &layer.bias);
        self.node("Gemm", name, vec![x, kernel, bias], Vec::new())
    }

    /// `activation` of `x`, after the layer `layer`.
    fn activation(&mut self, layer: &str, x: String, activation: Activation) -> String {
        match activation {
            Activation::Linear => x,
            Activation::LeakyRelu => {
                let alpha = proto::AttributeProto {
                    name: Some("alpha".into()),
                    r#type: Some(proto::attribute_proto::AttributeType::Float as i32),
                    f: Some(LEAKY_SLOPE as f32),
                    ..Default::default()
                };
                self.node(
                    "LeakyRelu",
                    format!("{layer}.leaky_relu"),
                    vec![x],
                    vec![alpha],
                )
            }
            Activation::Tanh => {
                let tanh = self.node("Tanh", format!("{layer}.tanh"), vec![x], Vec::new());
                // ONNX Runtime's tanh can round a saturated value one float32 step past 1:
                // the clip keeps the output within [-1, 1], as the app's is.
                let min = self.floats(format!("{layer}.clip.min"), &[], &[-1.0]);
                let max = self.floats(format!("{layer}.clip.max"), &[], &[1.0]);
                self.node(
                    "Clip",
                    format!("{layer}.clip"),
                    vec![tanh, min, max],
                    Vec::new(),
                )
            }
        }
    }
}

fn value_info(name: &str, dims: &[Dim]) -> proto::ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| proto::tensor_shape_proto::Dimension {
            value: Some(match d {
                Dim::Batch => dimension::Value::DimParam(BATCH.into()),
                Dim::Fixed(n) => dimension::Value::DimValue(*n as i64),
            }),
            ..Default::default()
        })
        .collect();
    proto::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(proto::TypeProto {
            value: Some(proto::type_proto::Value::TensorType(
                proto::type_proto::Tensor {
                    elem_type: Some(DataType::Float as i32),
                    shape: Some(proto::TensorShapeProto { dim }),
                },
            )),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The inputs of `plan`'s network: its own, then its one-hot labels if it takes them.
fn inputs(plan: &Plan) -> Vec<(&'static str, Vec<Dim>)> {
    let mut inputs = vec![plan.input.clone()];
    if plan.spec.labels > 0 {
        inputs.push((LABELS, vec![Dim::Batch, Dim::Fixed(plan.spec.labels)]));
    }
    inputs
}

/// The ONNX reshape target for `dims` (the batch as −1).
fn reshape_target(dims: &[Dim]) -> Vec<i64> {
    dims.iter()
        .map(|d| match d {
            Dim::Batch => -1,
            Dim::Fixed(n) => *n as i64,
        })
        .collect()
}

/// The graph of `network` with `checkpoint`'s weights.
pub(super) fn build(checkpoint: &Checkpoint, network: Network) -> proto::GraphProto {
    let plan = plan(checkpoint, network);
    let mut builder = Builder::default();
    let (input, input_dims) = &plan.input;
    let mut x = input.to_string();
    if input_dims.len() != 2 {
        let flat = [Dim::Batch, Dim::Fixed(IMAGE_PIXELS)];
        x = builder.reshape(format!("{}.flatten", plan.stem), x, &reshape_target(&flat));
    }
    if plan.spec.labels > 0 {
        let axis = proto::AttributeProto {
            name: Some("axis".into()),
            r#type: Some(proto::attribute_proto::AttributeType::Int as i32),
            i: Some(1),
            ..Default::default()
        };
        let name = format!("{}.{LABELS}", plan.stem);
        x = builder.node("Concat", name, vec![x, LABELS.into()], vec![axis]);
    }
    for (i, (layer, activation)) in plan.layers.iter().zip(plan.spec.activations()).enumerate() {
        let name = layer_name(plan.stem, i);
        x = builder.dense(name.clone(), x, layer);
        x = builder.activation(&name, x, activation);
    }
    let (output, output_dims) = &plan.output;
    if output_dims.len() != 2 {
        builder.reshape(output.to_string(), x, &reshape_target(output_dims));
    } else if let Some(last) = builder.nodes.last_mut() {
        last.output = vec![output.to_string()];
    }
    proto::GraphProto {
        name: Some(format!("{}_{}", checkpoint.config.model, network.name())),
        initializer: builder.initializers,
        input: inputs(&plan)
            .iter()
            .map(|(name, dims)| value_info(name, dims))
            .collect(),
        node: builder.nodes,
        output: vec![value_info(output, output_dims)],
        ..Default::default()
    }
}

fn describe_dims(dims: &[Dim]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| match d {
            Dim::Batch => BATCH.to_string(),
            Dim::Fixed(n) => n.to_string(),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// The model's `doc_string`: what it is and what it takes and gives.
pub(super) fn describe(checkpoint: &Checkpoint, network: Network) -> String {
    let plan = plan(checkpoint, network);
    let takes = inputs(&plan)
        .iter()
        .map(|(name, dims)| format!("{name} float32 {}", describe_dims(dims)))
        .collect::<Vec<_>>()
        .join(" and ");
    let range = match network {
        Network::Generator => " in [-1, 1]",
        Network::Discriminator => " (> 0: taken for a real digit)",
    };
    format!(
        "The {} of the `{}` GAN ({} {}) after {} epochs ({} steps): {takes} -> {} float32 {}{range}. Weights under the app's weights-file names, kernels in Keras' [in, out] layout.",
        network.name(),
        checkpoint.config.model,
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        checkpoint.progress.epoch,
        checkpoint.progress.step,
        plan.output.0,
        describe_dims(&plan.output.1),
    )
}
