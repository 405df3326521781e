//! The training loop: positions, epochs, resuming exactly, and learning something.
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

mod common;

use common::{block_on, device, mnist};
use mnist_gan_web::idx::IdxImages;
use mnist_gan_web::idx::parse_images;
use mnist_gan_web::{
    Checkpoint, Dataset, Progress, StepValues, TrainError, Trainer, TrainingConfig,
};

fn config() -> TrainingConfig {
    TrainingConfig {
        batch_size: 8,
        epochs: 2,
        ..TrainingConfig::default()
    }
}

fn dataset(count: usize) -> Dataset {
    let pixels = (0..count * 784).map(|i| (i * 31 % 256) as u8).collect();
    Dataset::new(IdxImages { count, pixels })
}

fn run(trainer: &mut Trainer, data: &Dataset, batches: usize) -> Vec<StepValues> {
    (0..batches)
        .map(|_| block_on(trainer.step(data).unwrap().stats.read()).unwrap())
        .collect()
}

#[test]
fn epochs_end_after_ceil_n_over_batch_and_training_stops() {
    let data = dataset(20); // batches of 8, 8, 4
    let mut trainer = Trainer::new(config(), &device()).unwrap();
    let ends: Vec<Option<usize>> = (0..6)
        .map(|_| trainer.step(&data).unwrap().finished_epoch)
        .collect();
    assert_eq!(ends, [None, None, Some(1), None, None, Some(2)]);
    assert!(trainer.is_finished());
    assert_eq!(trainer.progress.step, 6);
    assert!(matches!(trainer.step(&data), Err(TrainError::Finished(2))));
}

#[test]
fn the_position_rule_followed_without_a_trainer_matches_the_trainers() {
    // The page follows the CPU worker's position with `after_batch` alone.
    let data = dataset(20);
    let cfg = TrainingConfig { k: 2, ..config() };
    let mut trainer = Trainer::new(cfg.clone(), &device()).unwrap();
    let mut followed = Progress::default();
    for _ in 0..6 {
        let ended = trainer.step(&data).unwrap().finished_epoch;
        let (next, followed_end) = followed.after_batch(data.batches_per_epoch(8), cfg.k);
        followed = next;
        assert_eq!((followed, followed_end), (trainer.progress, ended));
    }
    assert_eq!(
        followed,
        Progress {
            epoch: 2,
            batch: 0,
            step: 12
        }
    );
}

#[test]
fn a_position_beyond_the_epoch_is_refused_not_a_panic() {
    let data = dataset(20);
    let mut trainer = Trainer::new(config(), &device()).unwrap();
    trainer.progress.batch = 3; // 20 images in batches of 8 make 3 batches: 0, 1, 2
    assert!(matches!(
        trainer.step(&data),
        Err(TrainError::PositionOutOfRange {
            batch: 3,
            batches: 3
        })
    ));
    assert_eq!(trainer.progress.step, 0, "nothing trained");
}

#[test]
fn k_repetitions_take_k_optimizer_steps_per_batch() {
    let data = dataset(20);
    let cfg = TrainingConfig { k: 3, ..config() };
    let mut trainer = Trainer::new(cfg, &device()).unwrap();
    trainer.step(&data).unwrap();
    assert_eq!(trainer.progress.step, 3);
    assert_eq!(trainer.gan.generator_optim.iterations(), 3);
    assert_eq!(trainer.gan.discriminator_optim.iterations(), 3);
    assert_eq!(trainer.progress.batch, 1);
}

#[test]
fn resuming_from_a_saved_file_continues_exactly() {
    let data = dataset(20);
    let mut straight = Trainer::new(config(), &device()).unwrap();
    let expected = run(&mut straight, &data, 5);

    let mut first = Trainer::new(config(), &device()).unwrap();
    let head = run(&mut first, &data, 2);
    let bytes = block_on(Checkpoint::capture(&first)).unwrap().to_bytes();
    drop(first);
    let mut resumed = Checkpoint::from_bytes(&bytes, "", &TrainingConfig::default())
        .unwrap()
        .into_trainer(&device());
    let tail = run(&mut resumed, &data, 3);

    let joined: Vec<StepValues> = head.into_iter().chain(tail).collect();
    assert_eq!(
        joined, expected,
        "same batches, same noise, same losses, to the bit"
    );
    let a = block_on(Checkpoint::capture(&straight)).unwrap();
    let b = block_on(Checkpoint::capture(&resumed)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn the_noise_batch_keeps_the_configured_size_on_a_short_last_batch() {
    let data = dataset(10); // batches of 8 and 2
    let mut trainer = Trainer::new(config(), &device()).unwrap();
    trainer.step(&data).unwrap();
    let last = block_on(trainer.step(&data).unwrap().stats.read()).unwrap();
    assert!(last.is_finite());
    assert_eq!(trainer.step_noise(1).len(), 8 * 100);
}

#[test]
fn four_hundred_steps_on_mnist_teach_the_discriminator_and_move_the_generator() {
    let images = parse_images(&mnist("train-images-idx3-ubyte")).unwrap();
    let subset = IdxImages {
        count: 4096,
        pixels: images.pixels[..4096 * 784].to_vec(),
    };
    let data = Dataset::new(subset);
    let cfg = TrainingConfig {
        batch_size: 64,
        epochs: 10,
        ..TrainingConfig::default()
    };
    let mut trainer = Trainer::new(cfg, &device()).unwrap();
    let noise = trainer.sample_noise(16);
    let before = trainer.gan.generate(noise.clone()).into_data();
    let stats = run(&mut trainer, &data, 400);
    assert!(stats.iter().all(StepValues::is_finite));
    let last = stats.last().unwrap();
    // The discriminator tells real from fake better than chance.
    assert!(last.d_real > last.d_fake, "{last:?}");
    let after = trainer.gan.generate(noise).into_data();
    let mean_ink = |d: &burn::tensor::TensorData| {
        let v = d.as_slice::<f32>().unwrap();
        v.iter().sum::<f32>() / v.len() as f32
    };
    // MNIST is mostly background (−1): the generator's images darken toward it.
    assert!(
        mean_ink(&after) < mean_ink(&before) - 0.2,
        "mean pixel {} → {}",
        mean_ink(&before),
        mean_ink(&after)
    );
}

#[test]
fn a_conditional_model_refuses_data_without_labels() {
    let config = TrainingConfig {
        model: mnist_gan_web::model::ModelKind::Conditional,
        batch_size: 4,
        ..TrainingConfig::default()
    };
    let mut trainer = Trainer::new(config, &device()).unwrap();
    let error = trainer.step(&dataset(8)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the `conditional` model needs labelled images, and this data has no labels"
    );
    assert_eq!(trainer.progress.step, 0, "nothing moved");
}
