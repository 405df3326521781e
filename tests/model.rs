//! Model shapes, parameter counts, initialisation and output range.
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

mod common;

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use common::device;
use mnist_gan_web::model::{LEAKY_SLOPE, ModelKind};
use mnist_gan_web::{Trainer, TrainingConfig};

#[test]
fn parameter_counts_match_the_reference() {
    let trainer = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    assert_eq!(trainer.gan.generator.num_params(), 274_052);
    assert_eq!(trainer.gan.discriminator.num_params(), 133_633);
}

#[test]
fn kernels_are_glorot_uniform_and_biases_zero() {
    let trainer = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    for layer in &trainer.gan.generator.layers {
        let [fan_in, fan_out] = layer.kernel.dims();
        let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
        let kernel = layer.kernel.val().into_data();
        let values = kernel.as_slice::<f32>().unwrap();
        assert!(values.iter().all(|v| v.abs() <= limit));
        // Uniform on [−l, l] has variance l²/3.
        let var = values.iter().map(|v| v * v).sum::<f32>() / values.len() as f32;
        assert!(
            (var / (limit * limit / 3.0) - 1.0).abs() < 0.1,
            "variance {var}"
        );
        let bias = layer.bias.val().into_data();
        assert!(bias.as_slice::<f32>().unwrap().iter().all(|&b| b == 0.0));
    }
}

#[test]
fn generator_output_is_an_image_in_minus_one_plus_one() {
    let trainer = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    let noise = trainer.sample_noise(16).mul_scalar(50.0); // saturate tanh on purpose
    let images = trainer.gan.generate(noise);
    assert_eq!(images.dims(), [16, 784]);
    let data = images.into_data();
    let values = data.as_slice::<f32>().unwrap();
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert!(
        values.iter().any(|v| v.abs() > 0.99),
        "large noise reaches tanh's ends"
    );
}

#[test]
fn discriminator_gives_one_logit_per_image() {
    let trainer = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    let images = Tensor::<2>::from_data(
        TensorData::new(vec![0.5f32; 3 * 784], [3, 784]),
        trainer.gan.device(),
    );
    assert_eq!(
        trainer.gan.discriminator.forward(images, None).dims(),
        [3, 1]
    );
}

#[test]
fn the_same_init_seed_gives_the_same_networks() {
    let a = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    let b = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    let other = TrainingConfig {
        init_seed: 99,
        ..TrainingConfig::default()
    };
    let c = Trainer::new(other, &device()).unwrap();
    let first = |t: &Trainer| t.gan.generator.layers[0].kernel.val().into_data();
    assert_eq!(first(&a), first(&b));
    assert_ne!(first(&a), first(&c));
}

/// LeakyReLU's value and gradient for `x`, by our formulation and by Burn's own, on autodiff.
fn leaky_relu_both_ways(x: &[f32]) -> [(Vec<f32>, Vec<f32>); 2] {
    let device = device().autodiff();
    let run = |activation: &dyn Fn(Tensor<2>) -> Tensor<2>| {
        let input = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [1, x.len()]), &device)
            .require_grad();
        let output = activation(input.clone());
        // Weights per element, so each one's gradient is checked on its own.
        let weights: Vec<f32> = (1..=x.len()).map(|i| i as f32).collect();
        let weights = Tensor::<2>::from_data(TensorData::new(weights, [1, x.len()]), &device);
        let grads = (output.clone() * weights).sum().backward();
        let values = output.into_data().try_to_vec::<f32>().unwrap();
        let grad = input
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        (values, grad)
    };
    [
        run(&mnist_gan_web::model::leaky_relu),
        run(&|t| burn::tensor::activation::leaky_relu(t, LEAKY_SLOPE)),
    ]
}

#[test]
fn leaky_relu_is_tensorflows_function_and_gradient() {
    let x = [
        -3.5f32, -1.0, -1e-3, -1e-30, 0.0, 1e-30, 1e-3, 0.25, 1.0, 7.0, 1e6, -1e6,
    ];
    let [(values, grad), (plain_values, plain_grad)] = leaky_relu_both_ways(&x);
    for (i, &xi) in x.iter().enumerate() {
        // TensorFlow's LeakyReluGrad takes the slope at exactly 0 (`x > 0 ? 1 : alpha`).
        let slope = if xi > 0.0 { 1.0 } else { LEAKY_SLOPE as f32 };
        let weight = (i + 1) as f32;
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-6 * b.abs().max(f32::MIN_POSITIVE);
        // TensorFlow's LeakyRelu is `x > 0 ? x : x * alpha`: the same bits, not only close.
        assert_eq!(values[i], slope * xi, "value at {xi}");
        assert!(
            close(values[i], plain_values[i]),
            "value at {xi} against Burn's"
        );
        assert!(
            close(grad[i], slope * weight),
            "gradient at {xi}: {}",
            grad[i]
        );
        // Burn's own takes 1 at exactly 0; elsewhere the two agree.
        if xi != 0.0 {
            assert!(
                close(grad[i], plain_grad[i]),
                "gradient at {xi} against Burn's"
            );
        }
    }
}

#[test]
fn the_cross_entropy_rows_are_tensorflows_formula_and_its_gradient() {
    let x = [
        -40.0f32, -7.5, -1.0, -1e-3, 0.0, 1e-3, 0.3, 1.0, 4.0, 7.5, 40.0,
    ];
    let targets = [0.9f32, 0.0, 1.0, 0.9, 0.0, 1.0, 0.9, 0.0, 1.0, 0.9, 0.0];
    let n = x.len();
    let device = device().autodiff();
    let column = |values: &[f32]| TensorData::new(values.to_vec(), [n, 1]);
    let logits = Tensor::<2>::from_data(column(&x), &device).require_grad();
    let losses = mnist_gan_web::train::cross_entropy_rows(
        logits.clone(),
        Tensor::from_data(column(&targets), &device),
    );
    let grads = losses.clone().sum().backward();
    let values = losses.into_data().try_to_vec::<f32>().unwrap();
    let grad = logits
        .grad(&grads)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for i in 0..n {
        let (xi, t) = (x[i] as f64, targets[i] as f64);
        // TensorFlow's sigmoid_cross_entropy_with_logits, and its derivative σ(x) − t.
        let expected = xi.max(0.0) - xi * t + (-xi.abs()).exp().ln_1p();
        let slope = 1.0 / (1.0 + (-xi).exp()) - t;
        let tolerance = 1e-6 * expected.abs().max(1.0);
        assert!(
            (values[i] as f64 - expected).abs() <= tolerance,
            "loss at {xi} for {t}: {} against {expected}",
            values[i]
        );
        assert!(
            (grad[i] as f64 - slope).abs() <= 1e-6,
            "gradient at {xi} for {t}: {} against {slope}",
            grad[i]
        );
    }
}

/// The frozen discriminator pass on the fake rows, with the LeakyReLU multipliers of the main
/// pass over real and fake rows together (as the step runs it), gives the same logits and the
/// same gradient for the fake images as the frozen pass computing its own, and none for the
/// discriminator's parameters.
#[test]
fn the_frozen_pass_with_the_main_pass_multipliers_is_the_frozen_pass() {
    let trainer = Trainer::new(TrainingConfig::default(), &device()).unwrap();
    let gan = &trainer.gan;
    let (n_real, n_fake) = (24, 40);
    let pixels = |n: usize, seed: usize| -> Vec<f32> {
        (0..n * 784)
            .map(|i| ((i * 7919 + seed) % 2001) as f32 / 1000.0 - 1.0)
            .collect()
    };
    let real = gan.upload(pixels(n_real, 1), n_real, 784);
    let fake_values = pixels(n_fake, 2);
    let discriminator = &gan.discriminator;
    let run = |given: bool| {
        let fake = gan.upload(fake_values.clone(), n_fake, 784).require_grad();
        let logits = if given {
            let images = Tensor::cat(vec![real.clone(), fake.clone().detach()], 0);
            let (_, multipliers) = discriminator.forward_with_multipliers(images, None);
            let rows: Vec<_> = multipliers
                .into_iter()
                .map(|m| m.narrow(0, n_real, n_fake))
                .collect();
            discriminator.forward_frozen_with(fake.clone(), None, &rows)
        } else {
            discriminator.forward_frozen(fake.clone(), None)
        };
        let grads = logits.clone().sum().backward();
        let layer = &discriminator.layers[0];
        assert!(layer.kernel.grad(&grads).is_none() && layer.bias.grad(&grads).is_none());
        let read = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
        (read(logits), read(fake.grad(&grads).unwrap()))
    };
    let ((logits, grad), (own_logits, own_grad)) = (run(true), run(false));
    assert_eq!(logits.len(), n_fake);
    assert!(common::max_abs_diff(&logits, &own_logits) <= 1e-6);
    assert!(common::max_abs_diff(&grad, &own_grad) <= 1e-6);
    assert!(grad.iter().any(|&g| g != 0.0));
}

#[test]
fn every_model_description_fits_together() {
    for model in ModelKind::ALL {
        let spec = model.spec(64);
        for network in [&spec.generator, &spec.discriminator] {
            network
                .try_layers()
                .unwrap_or_else(|e| panic!("{model}: {e}"));
        }
        assert_eq!(spec.generator.outputs(), 784, "{model}: G draws 28 × 28");
        assert_eq!(spec.discriminator.outputs(), 1, "{model}: D gives a logit");
        assert_eq!(ModelKind::from_name(model.name()), Some(model));
    }
}

#[test]
fn the_sharp_model_is_transposed_convolutions_up_and_strided_ones_down() {
    use mnist_gan_web::model::{Activation, Volume};
    let spec = ModelKind::Sharp.spec(64);
    let volume = |side, channels| Volume { side, channels };
    let g: Vec<_> = spec.generator.layers().iter().map(|l| l.output).collect();
    assert_eq!(g, [volume(7, 64), volume(14, 32), volume(28, 1)]);
    assert_eq!(spec.generator.input(), volume(1, 74), "noise and one-hot");
    // The discriminator takes the digit as ten maps beside the image.
    assert!(spec.discriminator.label_maps());
    assert_eq!(spec.discriminator.input(), volume(28, 11));
    let d = spec.discriminator.layers();
    let outputs: Vec<_> = d.iter().map(|l| l.output).collect();
    assert_eq!(outputs, [volume(14, 32), volume(7, 64), volume(1, 1)]);
    assert_eq!(d[0].activation, Activation::LeakyRelu(0.2));
    // `same` padding of a 4 × 4 window at stride 2: one row and column on each side.
    assert!(d[..2].iter().all(|l| l.padding() == 1));
    assert_eq!(d[0].matrix(), [4 * 4 * 11, 32]);
    assert_eq!(spec.generator.layers()[1].matrix(), [4 * 4 * 32, 64]);
    // No BatchNorm: the parameters are all kernels and biases.
    let params = |network: &mnist_gan_web::model::NetworkSpec| -> usize {
        network
            .layers()
            .iter()
            .map(|l| l.matrix()[0] * l.matrix()[1] + l.bias())
            .sum()
    };
    assert_eq!(
        params(&spec.generator),
        74 * 3136 + 3136 + 16 * 32 * 64 + 32 + 16 * 32 + 1
    );
    assert_eq!(
        params(&spec.discriminator),
        16 * 11 * 32 + 32 + 16 * 32 * 64 + 64 + 3136 + 1
    );
    // An inconsistent description is refused, naming the layer.
    let mut broken = spec.discriminator.clone();
    broken.side = 27;
    assert!(broken.try_layers().unwrap_err().contains("layer 0"));
}
