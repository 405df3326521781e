//! The quality panel and the latent explorer in the page's model, natively: when scores are
//! asked for (before the autosave that must include them), what comes back, and walks.
#![allow(clippy::unwrap_used)]

mod common;

use common::page::*;
use mnist_gan_web::app::{CapturePurpose, Effect, Event};
use mnist_gan_web::model::ModelKind;
use mnist_gan_web::quality::{EpochScore, Score};

fn score(fid: f64) -> Score {
    Score {
        fid,
        inception: 3.0,
        histogram: vec![200; 10],
        samples: 2000,
        requested: None,
    }
}

/// The effects of training `epochs` epochs, with the classifier in the worker.
fn scored_page() -> Page {
    let mut page = Page::ready();
    page.send(Event::QualityReady(Ok(())));
    page
}

fn scores_asked(effects: &[Effect]) -> Vec<usize> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Score { epoch, samples, .. } => {
                assert_eq!(*samples, 2000);
                Some(*epoch)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_generator_is_scored_after_epoch_1_and_every_nth_before_that_epochs_autosave() {
    let mut page = scored_page();
    page.send(Event::ScoreEveryEdited("2".into()));
    let effects = page.train_epochs(4);
    assert_eq!(scores_asked(&effects), [1, 2, 4]);
    // Each right after its epoch's last step and before that epoch's autosave capture.
    let at = effects
        .iter()
        .position(|e| matches!(e, Effect::Score { epoch: 2, .. }))
        .unwrap();
    assert!(matches!(effects[at - 1], Effect::Step { .. }));
    assert!(matches!(
        effects[at + 1],
        Effect::Capture {
            purpose: CapturePurpose::Autosave { .. },
            ..
        }
    ));
    // Off, or before the classifier is there: no scores.
    page.send(Event::ScoreEveryEdited("0".into()));
    assert_eq!(page.model.quality.status, "Scoring is off.");
    assert!(scores_asked(&page.train_epochs(1)).is_empty());
    let mut waiting = Page::ready();
    assert!(scores_asked(&waiting.train_epochs(1)).is_empty());
    waiting.send(Event::ScoreEveryEdited("x".into()));
    assert!(waiting.model.quality.status.contains("whole number"));
    assert_eq!(
        waiting.model.quality.every, 5,
        "a bad interval changes nothing"
    );
}

#[test]
fn scores_come_back_into_the_run_and_are_compared_with_the_reference() {
    let mut page = scored_page();
    page.train_epochs(1);
    let run = page.run_id();
    let version = page.model.display.chart_version;
    page.send(Event::Scored {
        run,
        epoch: 1,
        result: Ok(score(500.0)),
    });
    assert_eq!(
        page.run().record.scores,
        [EpochScore {
            epoch: 1,
            score: score(500.0)
        }]
    );
    assert!(
        page.model.display.chart_version > version,
        "the chart is drawn again"
    );
    let status = &page.model.quality.status;
    assert!(
        status.starts_with("After epoch 1: FID 500.0 · IS 3.00 (the reference run: FID"),
        "{status}"
    );
    // A stale reply (another run) is dropped; a failure is said.
    page.send(Event::Scored {
        run: run + 100,
        epoch: 2,
        result: Ok(score(1.0)),
    });
    assert_eq!(page.run().record.scores.len(), 1);
    page.send(Event::Scored {
        run,
        epoch: 2,
        result: Err(mnist_gan_web::protocol::TrainerError::Read("lost".into())),
    });
    assert!(page.model.quality.status.contains("failed"));
}

#[test]
fn two_picked_digits_start_a_walk_and_new_noise_redraws_the_grid() {
    let mut page = scored_page();
    let run = page.run_id();
    assert!(page.send(Event::GridClicked(3)).is_empty());
    assert_eq!(page.model.quality.explorer.picks, [3]);
    assert!(page.model.quality.status.contains("pick another"));
    assert_eq!(
        page.send(Event::GridClicked(60)),
        [Effect::Walk {
            run,
            from: 3,
            to: 60,
            frames: 10,
            digits: Vec::new(),
        }]
    );
    assert!(
        page.send(Event::GridClicked(5)).is_empty(),
        "one walk at a time"
    );
    page.send(Event::Walked {
        run,
        from: 3,
        to: 60,
        result: Ok(vec![0.5; 10 * 784]),
    });
    let walk = page.model.quality.explorer.walk.as_ref().unwrap();
    assert_eq!((walk.0, walk.1, walk.2.len()), (3, 60, 7840));
    // A third pick starts over.
    assert!(page.send(Event::GridClicked(7)).is_empty());
    assert_eq!(page.model.quality.explorer.picks, [7]);
    assert!(
        page.send(Event::GridClicked(64)).is_empty(),
        "outside the grid"
    );

    let effects = page.send(Event::NewNoiseClicked);
    assert!(matches!(effects[..], [Effect::GridNoise { .. }]));
    assert!(
        page.model.quality.explorer.picks.is_empty() && page.model.quality.explorer.walk.is_none()
    );
    let effects = page.send(Event::NoiseRedrawn {
        run,
        result: Ok(()),
    });
    assert!(
        matches!(effects[..], [Effect::Grid { .. }]),
        "the new grid is shown: {effects:?}"
    );
    assert!(!page.model.quality.explorer.pending);
    assert_eq!(
        page.send(Event::DownloadWalk),
        [Effect::DownloadCanvas {
            id: "walk-strip",
            name: "walk.png".into()
        }]
    );
}

#[test]
fn a_loaded_file_brings_its_scores() {
    let mut page = scored_page();
    let progress = mnist_gan_web::train::Progress {
        epoch: 1,
        batch: 0,
        step: BATCHES as u64,
    };
    let mut trainer = mnist_gan_web::Trainer::new(Default::default(), &common::device()).unwrap();
    trainer.progress = progress;
    let checkpoint = common::block_on(mnist_gan_web::Checkpoint::capture(&trainer)).unwrap();
    let scores = vec![EpochScore {
        epoch: 1,
        score: score(321.0),
    }];
    let bytes = mnist_gan_web::Checkpoint {
        scores: scores.clone(),
        dataset: Default::default(),
        ..checkpoint
    }
    .to_bytes();
    let effects = page.send(Event::WeightsChosen {
        name: "scored.safetensors".into(),
        bytes: Ok(bytes),
    });
    page.ack(&effects);
    assert_eq!(page.run().record.scores, scores);
    assert_eq!(page.run().label.name, "scored");
}

#[test]
fn a_conditional_runs_grid_has_a_column_per_picked_digit() {
    let mut page = scored_page();
    // The model is a setting: before the run starts, choosing it makes a new trainer.
    let effects = page.edit("model", "conditional");
    let Some(Effect::Create { config, .. }) = effects.first() else {
        panic!("{effects:?}")
    };
    assert_eq!(config.model, ModelKind::Conditional);
    let installed = page.ack(&effects);
    assert_eq!(page.run().config.model, ModelKind::Conditional);
    let all: Vec<u8> = (0..10).collect();
    let grids = |effects: &[Effect]| -> Vec<Vec<u8>> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Grid { digits, .. } => Some(digits.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(grids(&installed), vec![all.clone()], "the new run's grid");
    let run = page.run_id();
    page.send(Event::GridRead {
        run,
        step: 0,
        result: Ok(vec![0.0; 80 * 784]),
    });
    page.train_epochs(1);

    // Switching a digit off redraws the grid without it, and forgets the picks.
    page.send(Event::GridClicked(3));
    let effects = page.send(Event::DigitToggled(4));
    let without_4: Vec<u8> = all.iter().copied().filter(|&d| d != 4).collect();
    assert_eq!(grids(&effects), vec![without_4.clone()]);
    assert!(page.model.quality.explorer.picks.is_empty());
    // 8 rows of 9 digits: the last cell is 71.
    assert!(page.send(Event::GridClicked(72)).is_empty());
    page.send(Event::GridClicked(0));
    let effects = page.send(Event::GridClicked(71));
    assert!(
        matches!(&effects[..], [Effect::Walk { from: 0, to: 71, digits, .. }] if *digits == without_4),
        "{effects:?}"
    );
    page.send(Event::Walked {
        run: page.run_id(),
        from: 0,
        to: 71,
        result: Ok(vec![0.0; 10 * 784]),
    });
    // Switched on again it comes back in order; the last digit on stays on.
    page.send(Event::DigitToggled(4));
    assert_eq!(page.model.quality.digits, all);
    for digit in 0..9 {
        page.send(Event::DigitToggled(digit));
    }
    assert_eq!(page.model.quality.digits, [9]);
    assert!(page.send(Event::DigitToggled(9)).is_empty());
    assert_eq!(page.model.quality.digits, [9]);
    assert!(page.model.quality.status.contains("At least one digit"));
}

#[test]
fn a_tutorial_runs_grid_ignores_the_digit_picker() {
    let mut page = scored_page();
    page.send(Event::DigitToggled(2));
    let effects = page.edit("batch_size", "128");
    let installed = page.ack(&effects);
    assert!(
        installed
            .iter()
            .any(|e| matches!(e, Effect::Grid { digits, .. } if digits.is_empty())),
        "{installed:?}"
    );
    page.train_epochs(1);
    page.send(Event::GridClicked(0));
    let effects = page.send(Event::GridClicked(63));
    assert!(matches!(&effects[..], [Effect::Walk { to: 63, digits, .. }] if digits.is_empty()));
}

#[test]
fn samples_download_as_numpy_files() {
    let mut page = scored_page();
    page.train_epochs(1);
    let run = page.run_id();
    assert_eq!(
        page.send(Event::DownloadSamples),
        [Effect::Samples {
            run,
            epoch: 1,
            count: 10_000
        }]
    );
    assert!(
        page.send(Event::DownloadSamples).is_empty(),
        "one draw at a time"
    );
    let pixels: Vec<u8> = (0..2 * 784)
        .flat_map(|i| (i as f32 / 2000.0).to_le_bytes())
        .collect();
    let effects = page.send(Event::SamplesRead {
        run,
        epoch: 1,
        result: Ok(pixels.clone()),
    });
    let [Effect::Download { name, bytes }] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(name, "mnist-gan-epoch-1-samples.npy");
    assert_eq!(
        bytes[..],
        mnist_gan_web::samples::npy("<f4", &[2, 28, 28], &pixels)[..]
    );
    assert!(page.model.status.weights.contains("float32 [2, 28, 28]"));
    // A model without labels has no labels file.
    assert!(page.send(Event::DownloadSampleLabels).is_empty());
    page.send(Event::SamplesRead {
        run,
        epoch: 1,
        result: Err(mnist_gan_web::protocol::TrainerError::Read("lost".into())),
    });
    assert!(page.model.status.weights.contains("could not be drawn"));

    let effects = page.edit("model", "conditional");
    assert!(
        effects.is_empty(),
        "a started run keeps its model: {effects:?}"
    );
    assert_eq!(page.run().config.model, ModelKind::Tutorial);
    // Reset starts a run of the settings shown, the model included.
    let reset = page.send(Event::ResetClicked);
    page.ack(&reset);
    assert_eq!(page.run().config.model, ModelKind::Conditional);
    let effects = page.send(Event::DownloadSampleLabels);
    let [Effect::Download { name, bytes }] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(name, "mnist-gan-conditional-epoch-0-labels.npy");
    let labels: Vec<u8> = (0..10_000).map(|i| (i % 10) as u8).collect();
    assert_eq!(
        bytes[..],
        mnist_gan_web::samples::npy("|u1", &[10_000], &labels)[..]
    );
}
