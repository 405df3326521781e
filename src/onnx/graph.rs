//! One network's ONNX graph, derived from the model's description: its inputs, a `Gemm` per
//! Dense layer and a `Conv` or `ConvTranspose` per convolution (between transposes from and to
//! the app's channels-last layout), an activation after each (tanh followed by a `Clip` to
//! [-1, 1]), the reshapes between flat pixels and images, and its output. A conditional
//! network's labels join its input as values (`Concat`) or as constant maps (`Expand`).

use super::Network;
use super::proto::{self, tensor_proto::DataType, tensor_shape_proto::dimension};
use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::model::{Activation, Layer, LayerKind, NetworkSpec};
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
            layers: checkpoint.shown_layers(),
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

    /// An integer-list attribute.
    fn ints(name: &str, values: &[usize]) -> proto::AttributeProto {
        proto::AttributeProto {
            name: Some(name.into()),
            r#type: Some(proto::attribute_proto::AttributeType::Ints as i32),
            ints: values.iter().map(|&v| v as i64).collect(),
            ..Default::default()
        }
    }

    /// `x` transposed by `perm`, as the node `name`.
    fn transpose(&mut self, name: String, x: String, perm: &[usize]) -> String {
        self.node("Transpose", name, vec![x], vec![Self::ints("perm", perm)])
    }

    /// A described convolution (`Conv`, `ConvTranspose`) of flat channels-last `x`: reshaped
    /// to an image, transposed to ONNX's channels-first layout and back, flattened again. The
    /// kernel is stored in ONNX's layout (`Conv` `[out, in, h, w]`, `ConvTranspose`
    /// `[in, out, h, w]`: both Keras' kernel with its axes reversed pairwise).
    fn convolution(&mut self, name: String, x: String, shape: &Layer, layer: &HostDense) -> String {
        let (op, kernel, stride) = match shape.kind {
            LayerKind::Conv { kernel, stride } => ("Conv", kernel, stride),
            LayerKind::ConvTranspose { kernel, stride } => ("ConvTranspose", kernel, stride),
            LayerKind::Dense { .. } => return self.dense(name, x, layer),
        };
        let keras = shape.kernel_shape();
        let onnx_dims = [keras[3], keras[2], keras[0], keras[1]];
        let values = keras_to_onnx_kernel(&layer.kernel, [keras[0], keras[1], keras[2], keras[3]]);
        let weight = self.floats(format!("{name}.kernel"), &onnx_dims, &values);
        let bias = self.floats(format!("{name}.bias"), &[layer.bias.len()], &layer.bias);
        let input = shape.input;
        let image = self.reshape(
            format!("{name}.image"),
            x,
            &[
                -1,
                input.side as i64,
                input.side as i64,
                input.channels as i64,
            ],
        );
        let first = self.transpose(format!("{name}.channels_first"), image, &[0, 3, 1, 2]);
        let pad = shape.padding();
        let attributes = vec![
            Self::ints("kernel_shape", &[kernel, kernel]),
            Self::ints("strides", &[stride, stride]),
            Self::ints("pads", &[pad, pad, pad, pad]),
        ];
        let y = self.node(op, name.clone(), vec![first, weight, bias], attributes);
        let last = self.transpose(format!("{name}.channels_last"), y, &[0, 2, 3, 1]);
        self.reshape(
            format!("{name}.flat"),
            last,
            &[-1, shape.output.features() as i64],
        )
    }

    /// `activation` of `x`, after the layer `layer`.
    fn activation(&mut self, layer: &str, x: String, activation: Activation) -> String {
        match activation {
            Activation::Linear => x,
            Activation::Relu => self.node("Relu", format!("{layer}.relu"), vec![x], Vec::new()),
            Activation::LeakyRelu(slope) => {
                let alpha = proto::AttributeProto {
                    name: Some("alpha".into()),
                    r#type: Some(proto::attribute_proto::AttributeType::Float as i32),
                    f: Some(slope as f32),
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

/// A Keras kernel `[a, b, c, d]` (row-major) with its axes reversed pairwise, `[d, c, a, b]`:
/// `Conv2D` `[h, w, in, out]` → ONNX `Conv` `[out, in, h, w]`, `Conv2DTranspose`
/// `[h, w, out, in]` → ONNX `ConvTranspose` `[in, out, h, w]`.
fn keras_to_onnx_kernel(values: &[f32], [a, b, c, d]: [usize; 4]) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for i in 0..a {
        for j in 0..b {
            for k in 0..c {
                for l in 0..d {
                    out[((l * c + k) * a + i) * b + j] = values[((i * b + j) * c + k) * d + l];
                }
            }
        }
    }
    out
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
        let axis = |i| proto::AttributeProto {
            name: Some("axis".into()),
            r#type: Some(proto::attribute_proto::AttributeType::Int as i32),
            i: Some(i),
            ..Default::default()
        };
        let name = format!("{}.{LABELS}", plan.stem);
        x = if plan.spec.label_maps() {
            // The labels as constant maps, extra channels of the image (channels last).
            let input = plan.spec.input();
            let side = input.side as i64;
            let width = plan.spec.labels as i64;
            let channels = input.channels as i64 - width;
            let labels =
                builder.reshape(format!("{name}.pixel"), LABELS.into(), &[-1, 1, 1, width]);
            let sides = format!("{name}.sides");
            builder.initializers.push(proto::TensorProto {
                name: Some(sides.clone()),
                dims: vec![4],
                data_type: Some(DataType::Int64 as i32),
                int64_data: vec![1, side, side, 1],
                ..Default::default()
            });
            let maps = builder.node(
                "Expand",
                format!("{name}.maps"),
                vec![labels, sides],
                Vec::new(),
            );
            let image = builder.reshape(format!("{name}.image"), x, &[-1, side, side, channels]);
            let joined = builder.node("Concat", name.clone(), vec![image, maps], vec![axis(3)]);
            builder.reshape(
                format!("{name}.flat"),
                joined,
                &[-1, input.features() as i64],
            )
        } else {
            builder.node("Concat", name, vec![x, LABELS.into()], vec![axis(1)])
        };
    }
    for (i, (layer, shape)) in plan.layers.iter().zip(plan.spec.layers()).enumerate() {
        let name = layer_name(plan.stem, &shape, i);
        x = builder.convolution(name.clone(), x, &shape, layer);
        x = builder.activation(&name, x, shape.activation);
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
        "The {} of the `{}` GAN ({} {}) after {} epochs ({} steps): {takes} -> {} float32 {}{range}. Weights under the app's weights-file names (a generator the app shows as a moving average holds the average's values): Dense kernels in Keras' [in, out] layout, convolution kernels in ONNX's.",
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
