//! Weights files: round trips, the fixture through the same loader, and hostile files.
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

mod common;

use common::{block_on, device, read_fixture};
use mnist_gan_web::idx::IdxImages;
use mnist_gan_web::model::ModelKind;
use mnist_gan_web::{Checkpoint, Dataset, Trainer, TrainingConfig, WeightsError};
use safetensors::{Dtype, SafeTensors};

fn small_config() -> TrainingConfig {
    TrainingConfig {
        batch_size: 8,
        epochs: 2,
        ..TrainingConfig::default()
    }
}

fn small_dataset() -> Dataset {
    let pixels = (0..20 * 784).map(|i| (i * 7 % 256) as u8).collect();
    Dataset::new(IdxImages { count: 20, pixels })
}

/// A trainer that has taken a few steps, so its optimizer state is not zero.
fn trained() -> Trainer {
    let mut trainer = Trainer::new(small_config(), &device()).unwrap();
    let data = small_dataset();
    for _ in 0..2 {
        trainer.step(&data).unwrap();
    }
    trainer
}

fn export(trainer: &Trainer) -> Vec<u8> {
    block_on(Checkpoint::capture(trainer)).unwrap().to_bytes()
}

fn import(bytes: &[u8]) -> Result<Checkpoint, WeightsError> {
    Checkpoint::from_bytes(bytes, "", &TrainingConfig::default())
}

/// Rewrites a file's tensors through `edit(name, dtype, shape, data)`; `None` drops a tensor.
fn rewrite(
    bytes: &[u8],
    edit: impl Fn(&str, Dtype, Vec<usize>, Vec<u8>) -> Option<(Dtype, Vec<usize>, Vec<u8>)>,
) -> Vec<u8> {
    let file = SafeTensors::deserialize(bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    let kept: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .filter_map(|(name, view)| {
            edit(
                &name,
                view.dtype(),
                view.shape().to_vec(),
                view.data().to_vec(),
            )
            .map(|(d, s, b)| (name, d, s, b))
        })
        .collect();
    let views = kept.iter().map(|(name, dtype, shape, data)| {
        (
            name.clone(),
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), data).unwrap(),
        )
    });
    safetensors::serialize(views, header.metadata().clone()).unwrap()
}

#[test]
fn export_then_import_is_bit_identical() {
    let trainer = trained();
    let original = block_on(Checkpoint::capture(&trainer)).unwrap();
    assert_eq!(original.progress.step, 2);
    let loaded = import(&original.to_bytes()).unwrap();
    assert_eq!(
        loaded, original,
        "weights, optimizer state, config and position"
    );
    let optimizers = loaded.optimizers.as_ref().unwrap();
    assert_eq!(optimizers.generator.iterations, 2);
    assert!(
        optimizers.generator.slots[1][0]
            .kernel
            .iter()
            .any(|&v| v != 0.0)
    );

    // Through a fresh trainer and back: still identical, to the bit.
    let again = block_on(Checkpoint::capture(&loaded.clone().into_trainer(&device()))).unwrap();
    assert_eq!(again, original);
}

#[test]
fn file_has_keras_names_layout_and_metadata() {
    let bytes = export(&trained());
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let kernel = file.tensor("gen.dense0.kernel").unwrap();
    assert_eq!(kernel.shape(), [100, 100]);
    assert_eq!(
        file.tensor("gen.dense4.kernel").unwrap().shape(),
        [256, 784]
    );
    assert_eq!(
        file.tensor("disc.dense0.kernel").unwrap().shape(),
        [784, 128]
    );
    assert_eq!(file.tensor("disc.dense3.bias").unwrap().shape(), [1]);
    assert_eq!(
        file.tensor("optim.gen.m.dense4.kernel").unwrap().shape(),
        [256, 784]
    );
    assert_eq!(
        file.tensor("optim.disc.v.dense3.kernel").unwrap().shape(),
        [128, 1]
    );
    let model_names = file
        .names()
        .into_iter()
        .filter(|n| !n.starts_with("optim."))
        .count();
    assert_eq!(model_names, 18);
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["format_version"], "1");
    assert_eq!(meta["step"], "2");
    assert_eq!(meta["epoch"], "0");
    assert!(meta["config"].contains("\"noise_seed\":3"));
    assert_eq!(meta["optim.gen.iterations"], "2");
}

#[test]
fn golden_fixture_init_loads_through_the_same_loader() {
    let bytes = read_fixture("keras_3_steps.safetensors");
    let init = Checkpoint::from_bytes(&bytes, "init.", &TrainingConfig::default()).unwrap();
    assert_eq!(init.generator.len(), 5);
    assert_eq!(init.discriminator[0].kernel.len(), 784 * 128);
    assert!(init.optimizers.is_none());
    // Without a prefix the fixture's other tensors are foreign to the app.
    assert!(matches!(
        import(&bytes),
        Err(WeightsError::UnexpectedTensor(_))
    ));
}

#[test]
fn a_file_without_optimizer_state_loads_with_fresh_optimizers() {
    let bytes = rewrite(&export(&trained()), |name, d, s, b| {
        (!name.starts_with("optim.")).then_some((d, s, b))
    });
    let checkpoint = import(&bytes).unwrap();
    assert!(checkpoint.optimizers.is_none());
    let trainer = checkpoint.into_trainer(&device());
    assert_eq!(trainer.gan.generator_optim.iterations(), 0);
}

/// Each hostile file is refused with its own error.
#[test]
fn hostile_files_are_refused() {
    let good = export(&trained());
    let check = |bytes: &[u8], what: &str, expected: fn(&WeightsError) -> bool| {
        let err = import(bytes).expect_err(what);
        assert!(expected(&err), "{what}: unexpected error {err:?}");
        assert!(!err.to_string().is_empty());
    };
    check(b"PK\x03\x04 this is a zip", "not safetensors", |e| {
        matches!(e, WeightsError::NotSafetensors(_))
    });
    check(&[], "empty", |e| {
        matches!(e, WeightsError::NotSafetensors(_))
    });
    check(&good[..good.len() / 2], "truncated", |e| {
        matches!(e, WeightsError::NotSafetensors(_))
    });
    let mut beyond = good.clone();
    beyond[..8].copy_from_slice(&(good.len() as u64 * 2).to_le_bytes());
    check(&beyond, "header length beyond the file", |e| {
        matches!(e, WeightsError::NotSafetensors(_))
    });
    let mut absurd = good.clone();
    absurd[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    check(&absurd, "absurd header length", |e| {
        matches!(e, WeightsError::NotSafetensors(_))
    });
    let f16 = rewrite(&good, |name, d, s, b| {
        Some(if name == "gen.dense1.bias" {
            (Dtype::F16, vec![s[0] * 2], b)
        } else {
            (d, s, b)
        })
    });
    check(
        &f16,
        "wrong dtype",
        |e| matches!(e, WeightsError::WrongDtype { name, .. } if name == "gen.dense1.bias"),
    );
    let reshaped = rewrite(&good, |name, d, s, b| {
        Some(if name == "disc.dense0.kernel" {
            (d, vec![128, 784], b)
        } else {
            (d, s, b)
        })
    });
    check(
        &reshaped,
        "wrong shape",
        |e| matches!(e, WeightsError::WrongShape { expected, .. } if expected == &[784, 128]),
    );
    let missing = rewrite(&good, |name, d, s, b| {
        (name != "gen.dense2.kernel").then_some((d, s, b))
    });
    check(
        &missing,
        "missing tensor",
        |e| matches!(e, WeightsError::MissingTensor(n) if n == "gen.dense2.kernel"),
    );
    let half_optim = rewrite(&good, |name, d, s, b| {
        (name != "optim.gen.v.dense0.bias").then_some((d, s, b))
    });
    check(
        &half_optim,
        "partial optimizer state",
        |e| matches!(e, WeightsError::MissingTensor(n) if n == "optim.gen.v.dense0.bias"),
    );
    let extra = {
        // Add one unknown tensor next to the real ones.
        let file = SafeTensors::deserialize(&good).unwrap();
        let (_, header) = SafeTensors::read_metadata(&good).unwrap();
        let mut views: Vec<_> = file.tensors();
        let unknown = 1f32.to_le_bytes();
        views.push((
            "gen.dense5.kernel".into(),
            safetensors::tensor::TensorView::new(Dtype::F32, vec![1], &unknown).unwrap(),
        ));
        safetensors::serialize(views, header.metadata().clone()).unwrap()
    };
    check(
        &extra,
        "extra tensor",
        |e| matches!(e, WeightsError::UnexpectedTensor(n) if n == "gen.dense5.kernel"),
    );
    let nan = rewrite(&good, |name, d, s, mut b| {
        if name == "gen.dense3.kernel" {
            b[40..44].copy_from_slice(&f32::NAN.to_le_bytes());
        }
        Some((d, s, b))
    });
    check(
        &nan,
        "NaN",
        |e| matches!(e, WeightsError::NonFinite { name, index: 10, .. } if name == "gen.dense3.kernel"),
    );
    let inf = rewrite(&good, |name, d, s, mut b| {
        if name == "optim.disc.v.dense0.bias" {
            b[..4].copy_from_slice(&f32::INFINITY.to_le_bytes());
        }
        Some((d, s, b))
    });
    check(&inf, "infinity in optimizer state", |e| {
        matches!(e, WeightsError::NonFinite { .. })
    });
}

fn with_metadata(bytes: &[u8], key: &str, value: &str) -> Vec<u8> {
    let file = SafeTensors::deserialize(bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap();
    meta.insert(key.into(), value.into());
    safetensors::serialize(file.tensors(), Some(meta)).unwrap()
}

#[test]
fn bad_metadata_is_refused() {
    let good = export(&trained());
    assert_eq!(
        import(&with_metadata(&good, "format_version", "2")).unwrap_err(),
        WeightsError::NewerFormat { found: 2 }
    );
    assert!(matches!(
        import(&with_metadata(&good, "step", "many")).unwrap_err(),
        WeightsError::BadMetadata { key, .. } if key == "step"
    ));
    assert!(matches!(
        import(&with_metadata(&good, "config", r#"{"batch_size": 0}"#)).unwrap_err(),
        WeightsError::BadConfig(e) if e.field == "batch_size"
    ));
    assert!(matches!(
        import(&with_metadata(&good, "batch", "100000")).unwrap_err(),
        WeightsError::BadMetadata { key, .. } if key == "batch"
    ));
    // A stored noise size that disagrees with the tensors is a shape error.
    let config = TrainingConfig {
        noise_dim: 64,
        ..small_config()
    };
    assert!(matches!(
        import(&with_metadata(&good, "config", &config.to_json())).unwrap_err(),
        WeightsError::WrongShape { .. }
    ));
}

fn labelled_dataset() -> Dataset {
    let pixels = (0..20 * 784).map(|i| (i * 7 % 256) as u8).collect();
    let labels = (0..20).map(|i| (i % 10) as u8).collect();
    Dataset::labelled(IdxImages { count: 20, pixels }, labels).unwrap()
}

fn trained_conditional() -> Trainer {
    let config = TrainingConfig {
        model: ModelKind::Conditional,
        ..small_config()
    };
    let mut trainer = Trainer::new(config, &device()).unwrap();
    for _ in 0..2 {
        trainer.step(&labelled_dataset()).unwrap();
    }
    trainer
}

#[test]
fn a_conditional_run_round_trips_and_names_its_model() {
    let trainer = trained_conditional();
    let bytes = export(&trainer);
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().clone().unwrap();
    assert_eq!(metadata["model"], "conditional");
    let file = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(
        file.tensor("gen.dense0.kernel").unwrap().shape(),
        [110, 100]
    );
    assert_eq!(
        file.tensor("disc.dense0.kernel").unwrap().shape(),
        [794, 128]
    );
    let loaded = import(&bytes).unwrap();
    assert_eq!(loaded.config.model, ModelKind::Conditional);
    assert_eq!(loaded, block_on(Checkpoint::capture(&trainer)).unwrap());
    // Loaded, it trains on as the same model.
    let mut again = loaded.into_trainer(&device());
    assert_eq!(again.gan.labels(), 10);
    again.step(&labelled_dataset()).unwrap();
}

#[test]
fn a_file_of_one_model_is_refused_by_another_naming_both() {
    let conditional = export(&trained_conditional());
    let tutorial = export(&trained());
    // The stored settings say another model than the tensors are.
    let relabelled = with_metadata(
        &with_metadata(&conditional, "config", &small_config().to_json()),
        "model",
        "tutorial",
    );
    let error = import(&relabelled).unwrap_err();
    assert_eq!(
        error,
        WeightsError::WrongModel {
            found: ModelKind::Conditional,
            expected: ModelKind::Tutorial,
        }
    );
    assert_eq!(
        error.to_string(),
        "the file holds the `conditional` model's weights, not the `tutorial` model's"
    );
    // A file without settings (a Keras export) loads as the model asked for, or is refused.
    let bare = |bytes: &[u8]| {
        let file = SafeTensors::deserialize(bytes).unwrap();
        safetensors::serialize(file.tensors(), None).unwrap()
    };
    let as_conditional = TrainingConfig {
        model: ModelKind::Conditional,
        ..small_config()
    };
    assert_eq!(
        Checkpoint::from_bytes(&bare(&tutorial), "", &as_conditional).unwrap_err(),
        WeightsError::WrongModel {
            found: ModelKind::Tutorial,
            expected: ModelKind::Conditional,
        }
    );
    let loaded = Checkpoint::from_bytes(&bare(&conditional), "", &as_conditional).unwrap();
    assert_eq!(loaded.config.model, ModelKind::Conditional);
    // The model's name is checked, and must agree with the stored settings.
    assert!(matches!(
        import(&with_metadata(&tutorial, "model", "sharper")).unwrap_err(),
        WeightsError::BadMetadata { key, message } if key == "model" && message.contains("sharper")
    ));
    assert!(matches!(
        import(&with_metadata(&tutorial, "model", "conditional")).unwrap_err(),
        WeightsError::BadMetadata { key, .. } if key == "model"
    ));
}

fn trained_sharp() -> Trainer {
    let config = TrainingConfig {
        batch_size: 8,
        ..TrainingConfig::for_model(ModelKind::Sharp)
    };
    let mut trainer = Trainer::new(config, &device()).unwrap();
    for _ in 0..2 {
        trainer.step(&labelled_dataset()).unwrap();
    }
    trainer
}

#[test]
fn a_sharp_run_holds_keras_convolution_kernels_its_average_and_adam_for_both_networks() {
    let trainer = trained_sharp();
    let bytes = export(&trainer);
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let shape = |name: &str| file.tensor(name).unwrap().shape().to_vec();
    // Keras' names and layouts: Conv2DTranspose [h, w, out, in], Conv2D [h, w, in, out].
    assert_eq!(shape("gen.dense0.kernel"), [74, 3136]);
    assert_eq!(shape("gen.conv2d_transpose1.kernel"), [4, 4, 32, 64]);
    assert_eq!(shape("gen.conv2d_transpose2.kernel"), [4, 4, 1, 32]);
    assert_eq!(shape("gen.conv2d_transpose2.bias"), [1]);
    assert_eq!(shape("disc.conv2d0.kernel"), [4, 4, 11, 32]);
    assert_eq!(shape("disc.conv2d1.kernel"), [4, 4, 32, 64]);
    assert_eq!(shape("disc.dense2.kernel"), [3136, 1]);
    // The generator's moving average, and Adam's two slots for the discriminator too.
    assert_eq!(shape("gen_avg.conv2d_transpose1.kernel"), [4, 4, 32, 64]);
    assert_eq!(shape("optim.disc.m.conv2d0.kernel"), [4, 4, 11, 32]);
    assert_eq!(shape("optim.disc.v.dense2.bias"), [1]);
    let captured = block_on(Checkpoint::capture(&trainer)).unwrap();
    let average = captured.average.as_ref().expect("the average is saved");
    assert_ne!(average, &captured.generator, "the average lags the weights");

    let loaded = import(&bytes).unwrap();
    assert_eq!(loaded, captured);
    // Loaded, it trains on as the same model, its average included.
    let mut again = loaded.into_trainer(&device());
    let mut twin = Checkpoint::from_bytes(&bytes, "", &small_config())
        .unwrap()
        .into_trainer(&device());
    again.step(&labelled_dataset()).unwrap();
    twin.step(&labelled_dataset()).unwrap();
    assert_eq!(
        block_on(Checkpoint::capture(&again)).unwrap(),
        block_on(Checkpoint::capture(&twin)).unwrap()
    );

    // The tutorial's settings refuse it, naming both models.
    let relabelled = with_metadata(
        &with_metadata(&bytes, "config", &small_config().to_json()),
        "model",
        "tutorial",
    );
    assert_eq!(
        import(&relabelled).unwrap_err().to_string(),
        "the file holds the `sharp` model's weights, not the `tutorial` model's"
    );
}

#[test]
fn the_average_follows_the_weights_with_a_warm_up() {
    use mnist_gan_web::train::decay_at;
    assert_eq!(decay_at(0.999, 1), 2.0 / 11.0);
    assert_eq!(decay_at(0.999, 90), 91.0 / 100.0);
    assert_eq!(decay_at(0.999, 1_000_000), 0.999);
    // After one update the average is 2/11 of the initial weights and 9/11 of the new ones.
    let config = TrainingConfig {
        batch_size: 8,
        ..TrainingConfig::for_model(ModelKind::Sharp)
    };
    let mut trainer = Trainer::new(config, &device()).unwrap();
    let initial = block_on(Checkpoint::capture(&trainer)).unwrap();
    assert_eq!(initial.average.as_ref(), Some(&initial.generator));
    trainer.step(&labelled_dataset()).unwrap();
    let after = block_on(Checkpoint::capture(&trainer)).unwrap();
    let d = decay_at(0.999, 1);
    for ((avg, before), now) in after
        .average
        .unwrap()
        .iter()
        .zip(&initial.generator)
        .zip(&after.generator)
    {
        for ((a, b), w) in avg.kernel.iter().zip(&before.kernel).zip(&now.kernel) {
            assert_eq!(*a, b * d + w * (1.0 - d));
        }
    }
}
