//! The ONNX export natively: the file decodes with ONNX's own messages into the graph the
//! model's description asks for, its weights are the checkpoint's under the weights file's
//! names, it computes what the app's networks compute (evaluated here node by node), the same
//! weights always give the same bytes, and non-finite weights are refused.
#![allow(clippy::unwrap_used)]

mod common;

use burn::tensor::Tensor;
use mnist_gan_web::model::{DISCRIMINATOR_UNITS, GENERATOR_UNITS};
use mnist_gan_web::onnx::proto::{
    ModelProto, NodeProto, TensorProto, ValueInfoProto, tensor_proto::DataType,
    tensor_shape_proto::dimension::Value as Dim, type_proto,
};
use mnist_gan_web::onnx::{self, ExportError, IR_VERSION, Network, OPSET};
use mnist_gan_web::quality::{EpochScore, Score};
use mnist_gan_web::train::Progress;
use mnist_gan_web::{Checkpoint, Trainer, TrainingConfig};
use prost::Message;

/// A checkpoint of a trainer after two steps, with a score, at a made-up position.
fn trained_checkpoint() -> Checkpoint {
    let config = TrainingConfig {
        batch_size: 32,
        ..TrainingConfig::default()
    };
    let data = mnist_gan_web::Dataset::new(
        mnist_gan_web::idx::parse_images(&common::mnist("t10k-images-idx3-ubyte")).unwrap(),
    );
    let mut trainer = Trainer::new(config, &common::device()).unwrap();
    trainer.step(&data).unwrap();
    trainer.step(&data).unwrap();
    trainer.progress = Progress {
        epoch: 3,
        batch: 1,
        step: 2,
    };
    let checkpoint = common::block_on(Checkpoint::capture(&trainer)).unwrap();
    Checkpoint {
        scores: vec![EpochScore {
            epoch: 1,
            score: Score {
                fid: 212.5,
                inception: 1.75,
                histogram: vec![10; 10],
                samples: 100,
                requested: None,
            },
        }],
        ..checkpoint
    }
}

fn decode(bytes: &[u8]) -> ModelProto {
    ModelProto::decode(bytes).expect("the file decodes with ONNX's messages")
}

fn shape(info: &ValueInfoProto) -> Vec<String> {
    let Some(type_proto::Value::TensorType(tensor)) =
        info.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        panic!("{info:?} is not a tensor")
    };
    assert_eq!(tensor.elem_type, Some(DataType::Float as i32));
    let dims = &tensor.shape.as_ref().unwrap().dim;
    dims.iter()
        .map(|d| match d.value.as_ref().unwrap() {
            Dim::DimParam(name) => name.clone(),
            Dim::DimValue(n) => n.to_string(),
        })
        .collect()
}

fn floats(tensor: &TensorProto) -> Vec<f32> {
    assert_eq!(tensor.data_type, Some(DataType::Float as i32));
    tensor
        .raw_data
        .as_ref()
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Runs the graph's nodes in order on `input` (`[rows, …]` flattened), for the operators the
/// export uses: a reading of ONNX's operator definitions, independent of the app's Burn code.
fn evaluate(model: &ModelProto, input: Vec<f32>, rows: usize) -> Vec<f32> {
    let graph = model.graph.as_ref().unwrap();
    let initializer = |name: &str| {
        graph
            .initializer
            .iter()
            .find(|t| t.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no initializer {name}"))
    };
    let mut x = input;
    for node in &graph.node {
        let op = node.op_type.as_deref().unwrap();
        x = match op {
            "Gemm" => {
                assert!(node.attribute.is_empty(), "plain Gemm: {node:?}");
                let kernel = initializer(&node.input[1]);
                let bias = floats(initializer(&node.input[2]));
                let (inputs, outputs) = (kernel.dims[0] as usize, kernel.dims[1] as usize);
                let kernel = floats(kernel);
                assert_eq!(x.len(), rows * inputs);
                let mut y = Vec::with_capacity(rows * outputs);
                for row in x.chunks_exact(inputs) {
                    for (o, b) in bias.iter().enumerate() {
                        let dot: f64 = row
                            .iter()
                            .enumerate()
                            .map(|(i, v)| *v as f64 * kernel[i * outputs + o] as f64)
                            .sum();
                        y.push((dot + *b as f64) as f32);
                    }
                }
                y
            }
            "LeakyRelu" => {
                let alpha = node.attribute[0].f.unwrap();
                x.iter()
                    .map(|&v| if v >= 0.0 { v } else { alpha * v })
                    .collect()
            }
            "Tanh" => x.iter().map(|v| v.tanh()).collect(),
            "Clip" => {
                let bound = |i: usize| floats(initializer(&node.input[i]))[0];
                let (min, max) = (bound(1), bound(2));
                assert_eq!((min, max), (-1.0, 1.0));
                x.iter().map(|v| v.clamp(min, max)).collect()
            }
            "Reshape" => {
                let target = &initializer(&node.input[1]).int64_data;
                let size: i64 = target.iter().filter(|&&d| d > 0).product();
                assert_eq!(x.len() as i64 % size, 0);
                x
            }
            other => panic!("unexpected operator {other}"),
        };
    }
    x
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    common::max_abs_diff(a, b)
}

#[test]
fn the_generator_is_the_description_s_graph_with_the_checkpoint_s_weights() {
    let checkpoint = trained_checkpoint();
    let model = decode(&onnx::export(&checkpoint, Network::Generator).unwrap());
    assert_eq!(model.ir_version, Some(IR_VERSION));
    assert_eq!(model.opset_import.len(), 1);
    assert_eq!(model.opset_import[0].domain.as_deref(), Some(""));
    assert_eq!(model.opset_import[0].version, Some(OPSET));
    assert_eq!(model.producer_name.as_deref(), Some("mnist-gan-web"));

    let graph = model.graph.as_ref().unwrap();
    assert_eq!(graph.input.len(), 1);
    assert_eq!(graph.input[0].name.as_deref(), Some("noise"));
    assert_eq!(shape(&graph.input[0]), ["batch", "100"]);
    assert_eq!(graph.output.len(), 1);
    assert_eq!(graph.output[0].name.as_deref(), Some("images"));
    assert_eq!(shape(&graph.output[0]), ["batch", "28", "28", "1"]);

    let ops: Vec<&str> = graph
        .node
        .iter()
        .map(|n: &NodeProto| n.op_type.as_deref().unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "Gemm",
            "Gemm",
            "LeakyRelu",
            "Gemm",
            "LeakyRelu",
            "Gemm",
            "LeakyRelu",
            "Gemm",
            "Tanh",
            "Clip",
            "Reshape"
        ]
    );
    for node in graph
        .node
        .iter()
        .filter(|n| n.op_type.as_deref() == Some("LeakyRelu"))
    {
        assert_eq!(node.attribute[0].name.as_deref(), Some("alpha"));
        assert_eq!(node.attribute[0].f, Some(0.01));
    }
    assert_eq!(graph.node.last().unwrap().output, ["images"]);

    // The weights: each layer's kernel [in, out] and bias, under the weights file's names.
    let mut fan_in = 100;
    for (i, &units) in GENERATOR_UNITS.iter().enumerate() {
        let kernel = graph
            .initializer
            .iter()
            .find(|t| t.name.as_deref() == Some(&format!("gen.dense{i}.kernel")))
            .unwrap();
        assert_eq!(kernel.dims, [fan_in as i64, units as i64]);
        assert_eq!(floats(kernel), checkpoint.generator[i].kernel);
        let bias = graph
            .initializer
            .iter()
            .find(|t| t.name.as_deref() == Some(&format!("gen.dense{i}.bias")))
            .unwrap();
        assert_eq!(bias.dims, [units as i64]);
        assert_eq!(floats(bias), checkpoint.generator[i].bias);
        fan_in = units;
    }

    let props: Vec<(&str, &str)> = model
        .metadata_props
        .iter()
        .map(|p| (p.key.as_deref().unwrap(), p.value.as_deref().unwrap()))
        .collect();
    let prop = |key: &str| {
        props
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("no {key} in {props:?}"))
            .1
    };
    assert_eq!(
        prop("app"),
        concat!("mnist-gan-web ", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(prop("model"), "tutorial");
    assert_eq!(prop("network"), "generator");
    assert_eq!(prop("epoch"), "3");
    assert_eq!(prop("step"), "2");
    assert_eq!(
        TrainingConfig::from_json(prop("settings")).unwrap(),
        checkpoint.config
    );
    let scores: Vec<EpochScore> = serde_json::from_str(prop("scores")).unwrap();
    assert_eq!(scores, checkpoint.scores);
    let doc = model.doc_string.as_deref().unwrap();
    assert!(
        doc.contains("noise float32 [batch, 100] -> images float32 [batch, 28, 28, 1]"),
        "{doc}"
    );
}

#[test]
fn the_files_compute_what_the_app_s_networks_compute() {
    let checkpoint = trained_checkpoint();
    let device = common::device();
    let rows = 5;
    let noise = mnist_gan_web::data::normal_noise(7, 0, rows, 100);
    let trainer = checkpoint.clone().into_trainer(&device);
    let gan = &trainer.gan;
    let images = gan.generate(gan.upload(noise.clone(), rows, 100));
    let logits: Tensor<2> = gan.discriminator.forward(images.clone(), None);
    let images = images.into_data().try_to_vec::<f32>().unwrap();
    let logits = logits.into_data().try_to_vec::<f32>().unwrap();

    let generator = decode(&onnx::export(&checkpoint, Network::Generator).unwrap());
    let from_onnx = evaluate(&generator, noise, rows);
    assert!(max_abs_diff(&from_onnx, &images) < 1e-5);

    let discriminator = decode(&onnx::export(&checkpoint, Network::Discriminator).unwrap());
    let graph = discriminator.graph.as_ref().unwrap();
    assert_eq!(graph.input[0].name.as_deref(), Some("images"));
    assert_eq!(shape(&graph.input[0]), ["batch", "28", "28", "1"]);
    assert_eq!(graph.output[0].name.as_deref(), Some("logit"));
    assert_eq!(shape(&graph.output[0]), ["batch", "1"]);
    assert_eq!(
        graph.node.first().unwrap().op_type.as_deref(),
        Some("Reshape")
    );
    assert_eq!(graph.node.last().unwrap().output, ["logit"]);
    let gemms = graph
        .node
        .iter()
        .filter(|n| n.op_type.as_deref() == Some("Gemm"))
        .count();
    assert_eq!(gemms, DISCRIMINATOR_UNITS.len());
    let from_onnx = evaluate(&discriminator, images, rows);
    assert!(
        max_abs_diff(&from_onnx, &logits) < 1e-4,
        "{from_onnx:?} {logits:?}"
    );
}

#[test]
fn the_page_s_export_and_the_native_one_of_the_same_weights_are_the_same_bytes() {
    let checkpoint = trained_checkpoint();
    for network in [Network::Generator, Network::Discriminator] {
        let native = onnx::export(&checkpoint, network).unwrap();
        assert_eq!(native, onnx::export(&checkpoint, network).unwrap());
        // The page exports the weights file the worker captured.
        let page =
            onnx::export_weights_file(&checkpoint.to_bytes(), network, &TrainingConfig::default())
                .unwrap();
        assert_eq!(page, native, "{network:?}");
    }
    assert_eq!(
        Network::Generator.file_name(mnist_gan_web::model::ModelKind::Tutorial, 12),
        "mnist-gan-epoch-12-generator.onnx"
    );
}

#[test]
fn non_finite_weights_and_broken_files_are_refused_with_their_reason() {
    let mut checkpoint = trained_checkpoint();
    checkpoint.discriminator[1].bias[4] = f32::INFINITY;
    assert_eq!(
        onnx::export(&checkpoint, Network::Discriminator),
        Err(ExportError::NonFinite {
            tensor: "disc.dense1.bias".into(),
            index: 4,
            value: f32::INFINITY
        })
    );
    // A diverged discriminator is a diverged run: its generator is refused too, natively as in
    // the page (which reads the captured weights file).
    assert_eq!(
        onnx::export(&checkpoint, Network::Generator)
            .unwrap_err()
            .to_string(),
        "the weights are no longer finite numbers (`disc.dense1.bias` holds inf at index 4), so there is nothing to export"
    );
    let error = onnx::export_weights_file(
        &checkpoint.to_bytes(),
        Network::Generator,
        &TrainingConfig::default(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the weights are no longer finite numbers (`disc.dense1.bias` holds inf at index 4), so there is nothing to export"
    );
    // So is a run whose optimizer state is no longer finite, as the weights file would be.
    let mut checkpoint = trained_checkpoint();
    checkpoint.optimizers.as_mut().unwrap().generator.slots[1][0].bias[3] = f32::NAN;
    let Err(ExportError::NonFinite {
        tensor,
        index,
        value,
    }) = onnx::export(&checkpoint, Network::Generator)
    else {
        panic!("a NaN in the optimizer state is refused")
    };
    assert_eq!((tensor.as_str(), index), ("optim.gen.v.dense0.bias", 3));
    assert!(value.is_nan());
    let error = onnx::export_weights_file(
        b"not a weights file",
        Network::Generator,
        &TrainingConfig::default(),
    )
    .unwrap_err();
    assert!(matches!(error, ExportError::Weights(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("the weights could not be read: not a valid safetensors file")
    );
}
