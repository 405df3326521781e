//! The CPU step's fused pieces and data-parallel replicas: the host tanh and the fused
//! optimizers equal their plain formulas, shards of a batch add up to the whole batch's
//! gradient, and replicas that combine the same parts stay bit-identical.
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

mod common;

use burn::tensor::{Tensor, TensorData};
use common::{block_on, device, max_abs_diff};
use mnist_gan_web::cpu::{read_now, tanh, tanh_f32};
use mnist_gan_web::idx::IdxImages;
use mnist_gan_web::model::ModelKind;
use mnist_gan_web::shard::{ShardGradients, ShardPlace, combine, shard_rows};
use mnist_gan_web::{Checkpoint, Dataset, Trainer, TrainingConfig};

/// 352 labelled images: with batches of 256 the second batch holds 96, as MNIST's last batch
/// does, while the noise batch stays 256 rows.
fn dataset() -> Dataset {
    let count = 352;
    let pixels = (0..count * 784).map(|i| (i * 37 % 251) as u8).collect();
    let labels = (0..count).map(|i| (i * 7 % 10) as u8).collect();
    Dataset::labelled(IdxImages { count, pixels }, labels).unwrap()
}

fn config() -> TrainingConfig {
    TrainingConfig {
        epochs: 3,
        ..TrainingConfig::default()
    }
}

#[test]
fn shards_cover_a_batch_in_order_and_differ_by_at_most_one_row() {
    for (rows, count) in [(256, 1), (256, 3), (96, 4), (5, 4), (7, 16)] {
        let ranges: Vec<_> = (0..count).map(|i| shard_rows(rows, i, count)).collect();
        assert_eq!(ranges[0].start, 0);
        assert_eq!(ranges[count - 1].end, rows);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "{rows}/{count}");
        }
        let lengths: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
        let (min, max) = (lengths.iter().min(), lengths.iter().max());
        assert!(
            max.unwrap() - min.unwrap() <= 1,
            "{rows}/{count}: {lengths:?}"
        );
    }
    assert_eq!(shard_rows(256, 0, 3), 0..86);
    assert_eq!(shard_rows(256, 2, 3), 171..256);
}

#[test]
fn host_tanh_is_tanh_and_its_gradient_is_one_minus_its_square() {
    let inputs: Vec<f32> = (-1200..1200).map(|i| i as f32 * 0.0075).collect();
    for &x in inputs.iter().chain(&[0.0, 1e-5, -3e-4, 20.0, -20.0, 1e30]) {
        let exact = (x as f64).tanh();
        assert!(
            (tanh_f32(x) as f64 - exact).abs() <= 1e-6,
            "tanh({x}) = {} not {exact}",
            tanh_f32(x)
        );
    }
    let device = device().autodiff();
    let n = inputs.len();
    let x =
        Tensor::<2>::from_data(TensorData::new(inputs.clone(), [n / 4, 4]), &device).require_grad();
    let y = tanh(x.clone());
    let grads = y.clone().sum().backward();
    let values = read_now(y.inner()).unwrap();
    let slope = read_now(x.grad(&grads).unwrap()).unwrap();
    let burn = read_now(burn::tensor::activation::tanh(x.inner())).unwrap();
    assert!(max_abs_diff(&values, &burn) <= 1e-6);
    for ((&x, &y), &d) in inputs.iter().zip(&values).zip(&slope) {
        assert!((y as f64 - (x as f64).tanh()).abs() <= 1e-6, "tanh({x})");
        assert_eq!(d, 1.0 - y * y, "the gradient at {x} is TensorFlow's 1 − y²");
    }
}

/// Plain formulas of Keras' Adam and RMSprop in f64, element by element.
fn keras_reference(trainer: &Trainer, grads: &[f32]) -> Vec<f64> {
    let params = all_params(trainer);
    // The discriminator's parameters come first.
    let split = params.len() - mnist_gan_web::optim::parameter_count(&trainer.gan.generator.layers);
    let (lr_d, rho, eps_d) = (
        trainer.config.discriminator_lr,
        trainer.config.rmsprop_rho,
        trainer.config.rmsprop_epsilon,
    );
    let (lr_g, b1, b2, eps_g) = (
        trainer.config.generator_lr,
        trainer.config.adam_beta1,
        trainer.config.adam_beta2,
        trainer.config.adam_epsilon,
    );
    params
        .iter()
        .zip(grads)
        .enumerate()
        .map(|(i, (&p, &g))| {
            let (p, g) = (p as f64, g as f64);
            if i < split {
                // RMSprop's first step: v = (1 − ρ)g².
                let v = (1.0 - rho) * g * g;
                p - lr_d * g / (v + eps_d).sqrt()
            } else {
                // Adam's first step: m = (1 − β1)g, v = (1 − β2)g², bias-corrected.
                let (m, v) = ((1.0 - b1) * g, (1.0 - b2) * g * g);
                let alpha = lr_g * (1.0 - b2).sqrt() / (1.0 - b1);
                p - alpha * m / (v.sqrt() + eps_g)
            }
        })
        .collect()
}

fn all_params(trainer: &Trainer) -> Vec<f32> {
    let gan = &trainer.gan;
    let mut params = Vec::new();
    for layer in gan.discriminator.layers.iter().chain(&gan.generator.layers) {
        params.extend(read_now(layer.kernel.val().inner()).unwrap());
        params.extend(read_now(layer.bias.val().inner()).unwrap());
    }
    params
}

#[test]
fn fused_updates_equal_the_tensor_ops_and_the_plain_formulas() {
    let data = dataset();
    let mut fused = Trainer::new(config(), &device()).unwrap();
    let mut plain = Trainer::new(config(), &device()).unwrap();
    let whole = fused.shard_gradients(&data, ShardPlace::ALONE).unwrap();
    let expected = keras_reference(&fused, &whole.grads);
    fused.apply_combined(&data, &whole).unwrap();

    // The tensor ops (the WebGPU path's update) on the same gradients.
    let real = plain.gan.upload(first_batch(&plain, &data), 256, 784);
    let noise = plain.gan.upload(plain.step_noise(0), 256, 100);
    let (_, grads) = plain.gan.gradients(real, noise);
    plain
        .gan
        .discriminator_optim
        .step(&mut plain.gan.discriminator.layers, &grads, None)
        .unwrap();
    plain
        .gan
        .generator_optim
        .step(&mut plain.gan.generator.layers, &grads, None)
        .unwrap();

    let (after_fused, after_plain) = (all_params(&fused), all_params(&plain));
    assert!(max_abs_diff(&after_fused, &after_plain) <= 1e-6);
    let worst = after_fused
        .iter()
        .zip(&expected)
        .map(|(&a, &b)| (a as f64 - b).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-6, "fused update off the formula by {worst}");
}

/// Adam's step size as a device tensor (how a replayed WebGPU step reads it) gives the update
/// of the scalar, bit for bit, step after step.
#[test]
fn adam_from_a_step_size_tensor_equals_adam_from_the_scalar() {
    let data = dataset();
    let mut scalar = Trainer::new(config(), &device()).unwrap();
    let mut tensor = Trainer::new(config(), &device()).unwrap();
    let batch = first_batch(&scalar, &data);
    for step in 0..3 {
        let mut params = Vec::new();
        for (trainer, from_tensor) in [(&mut scalar, false), (&mut tensor, true)] {
            let real = trainer.gan.upload(batch.clone(), 256, 784);
            let noise = trainer.gan.upload(trainer.step_noise(step), 256, 100);
            let (_, grads) = trainer.gan.gradients(real, noise);
            let gan = &mut trainer.gan;
            let alpha = gan.generator_optim.next_alpha();
            if from_tensor {
                let alpha = Tensor::from_data([alpha], &device());
                gan.generator_optim
                    .step(&mut gan.generator.layers, &grads, Some(alpha))
                    .unwrap();
            } else {
                gan.generator_optim
                    .step(&mut gan.generator.layers, &grads, None)
                    .unwrap();
            }
            params.push(all_params(trainer));
        }
        assert!(params[0] == params[1], "step {step}: the updates differ");
    }
    assert_eq!(tensor.gan.generator_optim.iterations(), 3);
}

/// The tensor-op update keeps each network's parameters flat between steps (its layers are
/// views of them); a layer replaced between steps must be taken as it is then, not overwritten
/// by the flat copy.
#[test]
fn tensor_op_updates_stay_on_the_fused_ones_over_steps_and_take_a_replaced_layer() {
    let data = dataset();
    let mut fused = Trainer::new(config(), &device()).unwrap();
    let mut plain = Trainer::new(config(), &device()).unwrap();
    let batch = first_batch(&fused, &data);
    let noise = fused.step_noise(0);
    for step in 0..4 {
        if step == 2 {
            // The same new values in both, as new parameters (a loaded file makes new ones).
            for trainer in [&mut fused, &mut plain] {
                let layer = &mut trainer.gan.generator.layers[1];
                let doubled = layer.kernel.val().inner().mul_scalar(2.0);
                layer.kernel = burn::module::Param::from_tensor(Tensor::from_inner(doubled));
            }
        }
        let upload = |t: &Trainer| {
            (
                t.gan.upload(batch.clone(), 256, 784),
                t.gan.upload(noise.clone(), 256, 100),
            )
        };
        let (real, z) = upload(&fused);
        fused.gan.train_step(real, z).unwrap();
        let (real, z) = upload(&plain);
        let (_, grads) = plain.gan.gradients(real, z);
        let gan = &mut plain.gan;
        gan.discriminator_optim
            .step(&mut gan.discriminator.layers, &grads, None)
            .unwrap();
        gan.generator_optim
            .step(&mut gan.generator.layers, &grads, None)
            .unwrap();
        let diff = max_abs_diff(&all_params(&fused), &all_params(&plain));
        assert!(
            diff <= 1e-6,
            "step {step}: tensor ops off the fused update by {diff:e}"
        );
    }
    let capture = |t: &Trainer| block_on(Checkpoint::capture(t)).unwrap();
    let (fused, plain) = (capture(&fused), capture(&plain));
    let slots = |c: &Checkpoint| -> Vec<f32> {
        let optimizers = c.optimizers.as_ref().unwrap();
        [&optimizers.generator, &optimizers.discriminator]
            .iter()
            .flat_map(|o| o.slots.iter().flatten())
            .flat_map(|l| l.kernel.iter().chain(&l.bias).copied())
            .collect()
    };
    assert!(max_abs_diff(&slots(&fused), &slots(&plain)) <= 1e-6);
}

fn first_batch(trainer: &Trainer, data: &Dataset) -> Vec<f32> {
    let order = mnist_gan_web::data::epoch_order(trainer.config.shuffle_seed, 0, data.len());
    data.batch(&order, 0, trainer.config.batch_size)
}

/// Moves every replica to the last batch of the first epoch (96 real rows, 256 noise rows) by
/// whole-batch steps.
fn at_last_batch(replicas: usize, data: &Dataset) -> Vec<Trainer> {
    at_last_batch_of(config(), replicas, data)
}

fn at_last_batch_of(config: TrainingConfig, replicas: usize, data: &Dataset) -> Vec<Trainer> {
    (0..replicas)
        .map(|_| {
            let mut trainer = Trainer::new(config.clone(), &device()).unwrap();
            trainer.step(data).unwrap();
            trainer
        })
        .collect()
}

fn group_step(replicas: &mut [Trainer], data: &Dataset) -> ShardGradients {
    let count = replicas.len();
    let parts: Vec<ShardGradients> = replicas
        .iter_mut()
        .enumerate()
        .map(|(i, r)| {
            r.shard_gradients(data, ShardPlace::new(i, count).unwrap())
                .unwrap()
        })
        .collect();
    let whole = combine(parts).unwrap();
    for replica in replicas.iter_mut() {
        replica.apply_combined(data, &whole).unwrap();
    }
    whole
}

#[test]
fn unequal_shards_of_the_last_batch_add_up_to_the_whole_batch_gradient() {
    let data = dataset();
    let mut whole = at_last_batch(1, &data);
    let reference = whole[0].shard_gradients(&data, ShardPlace::ALONE).unwrap();
    for count in [2, 3, 4] {
        let mut replicas = at_last_batch(count, &data);
        let parts: Vec<ShardGradients> = (0..count)
            .map(|i| {
                replicas[i]
                    .shard_gradients(&data, ShardPlace::new(i, count).unwrap())
                    .unwrap()
            })
            .collect();
        let combined = combine(parts.clone()).unwrap();
        let diff = max_abs_diff(&combined.grads, &reference.grads);
        assert!(diff <= 1e-6, "{count} shards: gradient off by {diff}");
        let (a, b) = (combined.values, reference.values);
        for (x, y) in [
            (a.d_loss, b.d_loss),
            (a.g_loss, b.g_loss),
            (a.d_real, b.d_real),
            (a.d_fake, b.d_fake),
        ] {
            assert!((x - y).abs() <= 1e-6, "{count} shards: {x} vs {y}");
        }
        // A part by itself is not the whole: the weights matter.
        assert!(max_abs_diff(&parts[0].grads, &reference.grads) > 1e-4);
    }
}

#[test]
fn replicas_stay_bit_identical_and_their_checkpoint_trains_on_alone() {
    let data = dataset();
    let mut replicas = at_last_batch(2, &data);
    let mut single = at_last_batch(1, &data).remove(0);
    // Four group steps cross an epoch's end; the position follows.
    for _ in 0..4 {
        group_step(&mut replicas, &data);
    }
    assert_eq!(replicas[0].progress, replicas[1].progress);
    assert_eq!(replicas[0].progress.epoch, 2);
    assert_eq!(
        replicas[0].checksum().unwrap(),
        replicas[1].checksum().unwrap()
    );
    assert_eq!(all_params(&replicas[0]), all_params(&replicas[1]));
    for _ in 0..4 {
        single.step(&data).unwrap();
    }
    assert_ne!(single.checksum().unwrap(), replicas[0].checksum().unwrap());

    // The group's checkpoint loads into one trainer; its next step agrees with the group's.
    let bytes = block_on(Checkpoint::capture(&replicas[0]))
        .unwrap()
        .to_bytes();
    let mut alone = Checkpoint::from_bytes(&bytes, "", &config())
        .unwrap()
        .into_trainer(&device());
    assert_eq!(alone.progress, replicas[0].progress);
    let next_alone = block_on(alone.step(&data).unwrap().stats.read()).unwrap();
    let next_group = group_step(&mut replicas, &data).values;
    for (x, y) in [
        (next_alone.d_loss, next_group.d_loss),
        (next_alone.g_loss, next_group.g_loss),
        (next_alone.d_real, next_group.d_real),
        (next_alone.d_fake, next_group.d_fake),
    ] {
        assert!((x - y).abs() <= 1e-5, "{x} vs {y}");
    }
}

#[test]
fn a_part_of_another_step_or_length_is_refused() {
    let data = dataset();
    let mut trainer = Trainer::new(config(), &device()).unwrap();
    let mut part = trainer.shard_gradients(&data, ShardPlace::ALONE).unwrap();
    let short = ShardGradients {
        grads: part.grads[1..].to_vec(),
        ..part.clone()
    };
    assert!(combine([part.clone(), short.clone()]).is_err());
    assert!(combine([]).is_err());
    assert!(trainer.apply_combined(&data, &short).is_err());
    part.step += 1;
    assert!(trainer.apply_combined(&data, &part).is_err());
    assert_eq!(trainer.progress.step, 0, "a refused part moves nothing");
    assert!(ShardPlace::new(2, 2).is_none() && ShardPlace::new(0, 17).is_none());
}

/// On a GPU every part of a flat tensor starts 256 bytes aligned and the whole is padded to a
/// multiple (so CubeCL can take a part as a view), the parts keep their lengths and order
/// without overlapping, and host values land in their parts with zero between them.
#[test]
fn an_aligned_flat_layout_places_every_part_at_an_aligned_offset() {
    use mnist_gan_web::optim::FlatLayout;
    let lengths = [10_000, 100, 12_800, 128, 784, 1];
    let layout = FlatLayout::aligned(lengths, 64);
    let parts = layout.parts();
    assert_eq!(parts.len(), lengths.len());
    for (part, &len) in parts.iter().zip(&lengths) {
        assert_eq!(part.start % 64, 0, "{part:?}");
        assert_eq!(part.len(), len);
    }
    assert!(parts.windows(2).all(|w| w[0].end <= w[1].start));
    let last = parts[parts.len() - 1].end;
    assert!(
        layout.len() >= last && layout.len().is_multiple_of(64),
        "padded to a multiple"
    );
    assert!(layout.len() - last < 64);

    let values: Vec<Vec<f32>> = lengths
        .iter()
        .enumerate()
        .map(|(i, &n)| vec![i as f32 + 1.0; n])
        .collect();
    let flat = layout.join_host(values.iter().map(Vec::as_slice)).unwrap();
    for (i, part) in parts.iter().enumerate() {
        assert!(flat[part.clone()].iter().all(|&v| v == i as f32 + 1.0));
    }
    let padding = flat.len() - lengths.iter().sum::<usize>();
    assert_eq!(flat.iter().filter(|&&v| v == 0.0).count(), padding);
    assert!(padding > 0);

    // A part of the wrong length, or too few parts, is refused.
    let mut short = values.clone();
    short[1].pop();
    assert!(layout.join_host(short.iter().map(Vec::as_slice)).is_err());
    assert!(
        layout
            .join_host(values[..5].iter().map(Vec::as_slice))
            .is_err()
    );
    // Packed, the layout is a whole gradient's.
    assert_eq!(
        FlatLayout::aligned(lengths, 1).len(),
        lengths.iter().sum::<usize>()
    );
}

#[test]
fn groups_of_one_two_and_four_replicas_of_each_model_stay_identical_and_agree() {
    let data = dataset();
    for model in ModelKind::ALL {
        let config = TrainingConfig { model, ..config() };
        let mut weights: Vec<Vec<f32>> = Vec::new();
        for count in [1, 2, 4] {
            let mut replicas = at_last_batch_of(config.clone(), count, &data);
            // Four steps: the last batch's unequal shards, then three of the next epoch.
            for _ in 0..4 {
                group_step(&mut replicas, &data);
            }
            let checksum = replicas[0].checksum().unwrap();
            for replica in &replicas[1..] {
                assert_eq!(
                    replica.checksum().unwrap(),
                    checksum,
                    "{model}, {count} replicas"
                );
            }
            weights.push(all_params(&replicas[0]));
        }
        // Shards add in another order than one whole batch: equal within rounding.
        for (count, other) in [2, 4].into_iter().zip(&weights[1..]) {
            let diff = max_abs_diff(other, &weights[0]);
            assert!(
                diff <= 1e-5,
                "{model}: {count} replicas off one by {diff:e}"
            );
        }
    }
}
