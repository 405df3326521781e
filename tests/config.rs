//! Configuration defaults and validation.
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

use mnist_gan_web::TrainingConfig;
use mnist_gan_web::model::ModelKind;

#[test]
fn defaults_are_the_reference_numbers() {
    let c = TrainingConfig::default();
    assert_eq!(
        (c.epochs, c.batch_size, c.noise_dim, c.k),
        (300, 256, 100, 1)
    );
    assert_eq!((c.generator_lr, c.discriminator_lr), (2e-4, 2e-4));
    assert_eq!(
        (c.adam_beta1, c.adam_beta2, c.adam_epsilon),
        (0.9, 0.999, 1e-7)
    );
    assert_eq!((c.rmsprop_rho, c.rmsprop_epsilon), (0.9, 1e-7));
    assert_eq!((c.real_label, c.snapshot_every), (0.9, 50));
    assert_eq!(
        c.model,
        ModelKind::Tutorial,
        "the tutorial unless chosen otherwise"
    );
    c.validate().unwrap();
}

#[test]
fn snapshots_fall_on_epochs_1_51_101() {
    let c = TrainingConfig::default();
    let epochs: Vec<usize> = (0..=300).filter(|&e| c.is_snapshot_epoch(e)).collect();
    assert_eq!(epochs, [1, 51, 101, 151, 201, 251]);
}

#[test]
fn json_round_trips_and_fills_defaults() {
    let c = TrainingConfig {
        batch_size: 64,
        ..TrainingConfig::default()
    };
    assert_eq!(TrainingConfig::from_json(&c.to_json()).unwrap(), c);
    let partial = TrainingConfig::from_json(r#"{"epochs": 5}"#).unwrap();
    assert_eq!(partial.epochs, 5);
    assert_eq!(partial.batch_size, 256);
    // Settings stored before there were models are the tutorial's.
    assert_eq!(partial.model, ModelKind::Tutorial);
    let conditional = TrainingConfig::from_json(r#"{"model": "conditional"}"#).unwrap();
    assert_eq!(conditional.model, ModelKind::Conditional);
    assert!(TrainingConfig::from_json(r#"{"model": "sharper"}"#).is_err());
    // Each model's name is the one its settings are stored under.
    for model in ModelKind::ALL {
        assert_eq!(serde_json::to_value(model).unwrap(), model.name());
    }
    // A tutorial run's settings leave out what builds before the models would refuse.
    let json = TrainingConfig::default().to_json();
    assert!(
        !json.contains("model") && !json.contains("label_seed"),
        "{json}"
    );
    let conditional_json = TrainingConfig {
        model: ModelKind::Conditional,
        ..TrainingConfig::default()
    }
    .to_json();
    assert!(conditional_json.contains(r#""model":"conditional""#));
    assert_eq!(
        TrainingConfig::from_json(&conditional_json).unwrap().model,
        ModelKind::Conditional
    );
}

#[test]
fn unknown_fields_and_bad_json_are_refused() {
    let err = TrainingConfig::from_json(r#"{"batchsize": 5}"#).unwrap_err();
    assert!(err.to_string().contains("batchsize"), "{err}");
    assert!(TrainingConfig::from_json("{").is_err());
    let err = TrainingConfig::from_json(r#"{"epochs": -1}"#).unwrap_err();
    assert_eq!(err.field, "config");
}

#[test]
fn each_invalid_value_names_its_field() {
    type Spoil = Box<dyn Fn(&mut TrainingConfig)>;
    let cases: Vec<(&str, Spoil)> = vec![
        ("epochs", Box::new(|c| c.epochs = 0)),
        ("epochs", Box::new(|c| c.epochs = 1_000_000)),
        ("batch_size", Box::new(|c| c.batch_size = 0)),
        ("batch_size", Box::new(|c| c.batch_size = 1 << 20)),
        ("noise_dim", Box::new(|c| c.noise_dim = 0)),
        ("k", Box::new(|c| c.k = 0)),
        ("snapshot_every", Box::new(|c| c.snapshot_every = 0)),
        ("generator_lr", Box::new(|c| c.generator_lr = -1e-3)),
        ("generator_lr", Box::new(|c| c.generator_lr = f64::NAN)),
        ("discriminator_lr", Box::new(|c| c.discriminator_lr = 0.0)),
        (
            "discriminator_lr",
            Box::new(|c| c.discriminator_lr = f64::INFINITY),
        ),
        ("adam_beta1", Box::new(|c| c.adam_beta1 = 1.0)),
        ("adam_beta2", Box::new(|c| c.adam_beta2 = -0.1)),
        ("adam_epsilon", Box::new(|c| c.adam_epsilon = 0.0)),
        ("rmsprop_rho", Box::new(|c| c.rmsprop_rho = 1.5)),
        (
            "rmsprop_epsilon",
            Box::new(|c| c.rmsprop_epsilon = f64::NAN),
        ),
        ("real_label", Box::new(|c| c.real_label = 0.0)),
        ("real_label", Box::new(|c| c.real_label = 1.1)),
    ];
    for (field, spoil) in cases {
        let mut c = TrainingConfig::default();
        spoil(&mut c);
        let err = c.validate().expect_err(field);
        assert_eq!(err.field, field);
        assert!(err.to_string().starts_with(field), "{err}");
    }
}

#[test]
fn form_fields_parse_into_a_validated_config() {
    let config =
        TrainingConfig::from_fields([("batch_size", " 64 "), ("generator_lr", "1e-3")]).unwrap();
    assert_eq!(config.batch_size, 64);
    assert_eq!(config.generator_lr, 1e-3);
    assert_eq!(config.epochs, 300, "fields not given keep their defaults");

    let cases = [
        ("epochs", "-1", "whole number"),
        ("epochs", "2.5", "whole number"),
        ("batch_size", "", "whole number"),
        ("generator_lr", "fast", "must be a number"),
        ("generator_lr", "NaN", "must be a number"),
        ("batch_size", "0", "between 1 and"),
        ("real_label", "2", "(0, 1]"),
    ];
    for (field, text, expected) in cases {
        let err = TrainingConfig::from_fields([(field, text)]).expect_err(text);
        assert_eq!(err.field, field, "{field}={text}");
        assert!(err.message.contains(expected), "{field}={text}: {err}");
    }
    let conditional = TrainingConfig::from_fields([("model", " conditional ")]).unwrap();
    assert_eq!(conditional.model, ModelKind::Conditional);
    let err = TrainingConfig::from_fields([("model", "sharper")]).unwrap_err();
    assert_eq!(err.field, "model");
    assert_eq!(
        err.message,
        "must be one of tutorial, conditional, sharp (got `sharper`)"
    );
    assert_eq!(
        TrainingConfig::from_fields([("warp", "9")])
            .unwrap_err()
            .field,
        "warp"
    );
}

#[test]
fn values_at_each_limit_are_accepted_and_one_past_it_refused() {
    use mnist_gan_web::config::{MAX_BATCH_SIZE, MAX_EPOCHS, MAX_K, MAX_NOISE_DIM};
    type Set = Box<dyn Fn(&mut TrainingConfig, bool)>;
    // Each case sets a field to its limit (`true`) or just past it (`false`).
    let cases: Vec<(&str, Set)> = vec![
        (
            "epochs",
            Box::new(|c, at| c.epochs = MAX_EPOCHS + usize::from(!at)),
        ),
        (
            "batch_size",
            Box::new(|c, at| c.batch_size = MAX_BATCH_SIZE + usize::from(!at)),
        ),
        (
            "noise_dim",
            Box::new(|c, at| c.noise_dim = MAX_NOISE_DIM + usize::from(!at)),
        ),
        ("k", Box::new(|c, at| c.k = MAX_K + usize::from(!at))),
        (
            "snapshot_every",
            Box::new(|c, at| c.snapshot_every = MAX_EPOCHS + usize::from(!at)),
        ),
        ("epochs", Box::new(|c, at| c.epochs = usize::from(at))),
        (
            "generator_lr",
            Box::new(|c, at| c.generator_lr = if at { 1.0 } else { 1.0 + 1e-9 }),
        ),
        (
            "discriminator_lr",
            Box::new(|c, at| c.discriminator_lr = if at { 1.0 } else { 1.0 + 1e-9 }),
        ),
        (
            "adam_beta1",
            Box::new(|c, at| c.adam_beta1 = if at { 0.0 } else { -1e-12 }),
        ),
        (
            "adam_beta2",
            Box::new(|c, at| c.adam_beta2 = if at { 0.999_999 } else { 1.0 }),
        ),
        (
            "adam_epsilon",
            Box::new(|c, at| c.adam_epsilon = if at { 1.0 } else { 1.5 }),
        ),
        (
            "rmsprop_rho",
            Box::new(|c, at| c.rmsprop_rho = if at { 0.0 } else { 1.0 }),
        ),
        (
            "rmsprop_epsilon",
            Box::new(|c, at| c.rmsprop_epsilon = if at { 1e-30 } else { 0.0 }),
        ),
        (
            "real_label",
            Box::new(|c, at| c.real_label = if at { 1.0 } else { 1.0 + 1e-9 }),
        ),
    ];
    for (field, set) in cases {
        let mut at = TrainingConfig::default();
        set(&mut at, true);
        assert_eq!(at.validate(), Ok(()), "{field} at its limit");
        let mut past = TrainingConfig::default();
        set(&mut past, false);
        assert_eq!(past.validate().expect_err(field).field, field);
    }
}
