//! "Faithful": three steps of the reference recorded in TensorFlow 2, replayed on Burn's CPU
//! backend from the same initialisation and inputs.
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

mod common;

use burn::tensor::{Tensor, TensorData};
use common::{block_on, device, max_abs_diff, read_fixture, tensor};
use mnist_gan_web::model::ModelKind;
use mnist_gan_web::train::{Labels, LossWeights};
use mnist_gan_web::weights::layer_name;
use mnist_gan_web::{Checkpoint, Trainer, TrainingConfig};
use safetensors::SafeTensors;

const LOSS_REL_TOL: f32 = 1e-5;
const GRAD_ABS_TOL: f32 = 1e-5;
const WEIGHT_ABS_TOL: f32 = 1e-4;

fn upload(trainer: &Trainer, file: &SafeTensors, name: &str) -> Tensor<2> {
    let (values, shape) = tensor(file, name);
    Tensor::from_data(
        TensorData::new(values, [shape[0], shape[1]]),
        trainer.gan.device(),
    )
}

/// Step `step`'s one-hot labels, for a conditional model's fixture.
fn labels(trainer: &Trainer, file: &SafeTensors, step: usize) -> Option<Labels> {
    let name = format!("step{step}.y_real");
    file.tensor(&name).ok()?;
    Some(Labels {
        real: upload(trainer, file, &name),
        fake: upload(trainer, file, &format!("step{step}.y_fake")),
    })
}

fn assert_loss(name: &str, actual: f32, file: &SafeTensors) {
    let (expected, _) = tensor(file, name);
    let relative = ((actual - expected[0]) / expected[0]).abs();
    assert!(
        relative <= LOSS_REL_TOL,
        "{name}: Burn {actual} vs TensorFlow {} (relative error {relative:e})",
        expected[0]
    );
}

fn replay(fixture: &str, config: TrainingConfig, weight_tol: f32) {
    let bytes = read_fixture(fixture);
    let file = SafeTensors::deserialize(&bytes).expect("fixture parses");
    let init = Checkpoint::from_bytes(&bytes, "init.", &config).expect("init.* loads");
    assert!(
        init.optimizers.is_none(),
        "the fixture has no optimizer state"
    );
    assert_eq!(init.config.model, config.model, "the fixture's model");
    let mut trainer = init.into_trainer(&device());

    // Step-1 gradients, from the same forward pass the step uses.
    let x = upload(&trainer, &file, "step1.x");
    let z = upload(&trainer, &file, "step1.z");
    let labels_1 = labels(&trainer, &file, 1);
    assert_eq!(labels_1.is_some(), config.model.labels() > 0);
    let (_, grads) = trainer
        .gan
        .weighted_gradients(x, z, labels_1, LossWeights::WHOLE);
    let spec = config.model.spec(config.noise_dim);
    let networks = [
        ("gen", &trainer.gan.generator.layers, &spec.generator),
        (
            "disc",
            &trainer.gan.discriminator.layers,
            &spec.discriminator,
        ),
    ];
    for (net, layers, network) in networks {
        for (i, (layer, shape)) in layers.iter().zip(network.layers()).enumerate() {
            let kernel = layer.kernel.grad(&grads).expect("kernel gradient");
            let bias = layer.bias.grad(&grads).expect("bias gradient");
            for (part, data) in [("kernel", kernel.into_data()), ("bias", bias.into_data())] {
                let name = format!("step1.grad.{}.{part}", layer_name(net, &shape, i));
                let (expected, _) = tensor(&file, &name);
                let diff = max_abs_diff(data.as_slice::<f32>().unwrap(), &expected);
                assert!(diff <= GRAD_ABS_TOL, "{name}: max abs difference {diff:e}");
            }
        }
    }

    for step in 1..=3 {
        let x = upload(&trainer, &file, &format!("step{step}.x"));
        let z = upload(&trainer, &file, &format!("step{step}.z"));
        let labels = labels(&trainer, &file, step);
        let stats = trainer.gan.labelled_step(x, z, labels).expect("step runs");
        let values = block_on(stats.read()).expect("stats read back");
        assert_loss(&format!("step{step}.d_loss"), values.d_loss, &file);
        assert_loss(&format!("step{step}.g_loss"), values.g_loss, &file);

        let after = block_on(Checkpoint::capture(&trainer)).expect("weights read back");
        assert_eq!(after.average.is_some(), spec.average.is_some());
        for (name, layer) in after.named_layers() {
            for (part, actual) in [("kernel", &layer.kernel), ("bias", &layer.bias)] {
                let full = format!("after{step}.{name}.{part}");
                let (expected, _) = tensor(&file, &full);
                let diff = max_abs_diff(actual, &expected);
                assert!(diff <= weight_tol, "{full}: max abs difference {diff:e}");
            }
        }
    }
    assert_eq!(trainer.gan.generator_optim.iterations(), 3);
    assert_eq!(trainer.gan.discriminator_optim.iterations(), 3);
}

#[test]
fn three_steps_match_tensorflow_with_keras_default_epsilon() {
    replay(
        "keras_3_steps.safetensors",
        TrainingConfig::default(),
        WEIGHT_ABS_TOL,
    );
}

#[test]
fn three_steps_match_tensorflow_with_adam_epsilon_1e_12() {
    // With ε this small, where Adam adds it no longer matters: a mismatch here would point at
    // the update order or the losses rather than the optimizer's formula.
    let config = TrainingConfig {
        adam_epsilon: 1e-12,
        ..TrainingConfig::default()
    };
    replay("keras_3_steps_adam_eps1e-12.safetensors", config, 4e-5);
}

#[test]
fn three_conditional_steps_match_tensorflow() {
    // `tests/fixtures/record_golden.py --model conditional`: the tutorial's networks with the digits'
    // one-hot appended to G's noise and D's pixels, real images with their labels.
    let config = TrainingConfig {
        model: ModelKind::Conditional,
        ..TrainingConfig::default()
    };
    replay("conditional_3_steps.safetensors", config, WEIGHT_ABS_TOL);
}

#[test]
fn three_sharp_steps_match_tensorflow() {
    // `tests/fixtures/record_golden.py --model sharp`: transposed convolutions in G, strided ones in D
    // (the digit as ten constant maps beside the image), Adam β1 0.5 for both networks, and
    // the moving average of G's weights after each step.
    let config = TrainingConfig::for_model(ModelKind::Sharp);
    replay("sharp_3_steps.safetensors", config, WEIGHT_ABS_TOL);
}
