//! The page's logic, natively: every phase transition of `Model::update`, and the helpers
//! behind the counters, the clock and the chart.
#![allow(clippy::unwrap_used)]

mod common;

use common::page::*;

use mnist_gan_web::Checkpoint;
use mnist_gan_web::TrainingConfig;
use mnist_gan_web::app::chart::{downsample, label_left, nice_max, x_ticks};
use mnist_gan_web::app::settings::{SettingsForm, is_editable, parse_autosave};
use mnist_gan_web::app::timing::{
    ActiveClock, FrameBudget, FrameWork, StepRate, format_duration, seconds_left,
};
use mnist_gan_web::app::{
    COUNTERS_MS, CapturePurpose, DataState, Effect, Event, MAX_IN_FLIGHT, MAX_RESTARTS,
    PauseReason, RunPhase,
};
use mnist_gan_web::calibration::CalibrationStore;
use mnist_gan_web::matmul::Products;
use mnist_gan_web::onnx::{self, Network};
use mnist_gan_web::path::{ComputePath, PathPreference};
use mnist_gan_web::protocol::{StepReport, TrainerError};
use mnist_gan_web::train::{Progress, StepValues};

#[test]
fn the_path_follows_the_adapter_and_falls_back_to_the_cpu() {
    let measured = measured(5.0, 35.0, 1);
    let mut page = Page::booted(PathPreference::Auto, 2, measured);
    assert_eq!(
        page.send(Event::GpuProbed(hardware())),
        [Effect::StartPath {
            path: ComputePath::WebGpu,
            workers: 1,
            products: Some(Products::Burns),
        }]
    );
    // WebGPU fails to start: the CPU path takes over and says why.
    assert_eq!(
        page.send(Event::PathStarted {
            workers: 1,
            path: ComputePath::WebGpu,
            result: Err("no device".into()),
        }),
        [Effect::StartPath {
            path: ComputePath::Cpu,
            workers: 1,
            products: None,
        }]
    );
    assert!(
        page.model
            .path
            .reason
            .contains("training on the CPU instead")
    );
    // And when the CPU cannot start either, nothing can train.
    page.send(Event::PathStarted {
        workers: 1,
        path: ComputePath::Cpu,
        result: Err("the worker could not start".into()),
    });
    assert!(matches!(page.model.phase, RunPhase::Unavailable(_)));
    assert!(!page.model.can_train());
    assert!(page.send(Event::TrainClicked).is_empty());
}

#[test]
fn while_training_the_counters_are_paced_and_once_paused_they_follow_every_step() {
    let mut page = Page::ready();
    page.send(Event::TrainClicked);
    let version = |page: &Page| page.model.display.counters_version;
    let (start, started_at) = (version(&page), page.now);
    // Frames every 10 ms of the page's clock, each step answered at once: ~100 steps a second.
    let mut steps = 0;
    while page.now - started_at < 1000.0 {
        let asked = page.frame();
        for _ in asked.iter().filter(|e| matches!(e, Effect::Step { .. })) {
            let before = version(&page);
            page.step_done(1.0, None);
            assert_eq!(
                version(&page),
                before,
                "a step while training waits for a frame"
            );
            steps += 1;
        }
    }
    let shown = version(&page) - start;
    let most = ((page.now - started_at) / COUNTERS_MS).ceil() as u64 + 1;
    assert!(
        steps > 3 * most,
        "{steps} steps for {most} refreshes at most"
    );
    assert!(
        (most - 2..=most).contains(&shown),
        "{shown} refreshes in a second"
    );
    // Paused, the steps still in flight come back and each shows at once.
    page.frame();
    let in_flight = page.run().in_flight;
    assert!(in_flight > 0);
    page.pause();
    for _ in 0..in_flight {
        let before = version(&page);
        page.step_done(1.0, None);
        assert_eq!(version(&page), before + 1);
    }
}

#[test]
fn train_enqueues_at_most_the_in_flight_cap_and_pause_stops_the_frames() {
    let mut page = Page::ready();
    let id = page.run_id();
    page.send(Event::GridRead {
        run: id,
        step: 0,
        result: Ok(vec![0.0; 64 * 784]),
    });
    assert_eq!(page.send(Event::TrainClicked), [Effect::ScheduleFrame]);
    assert_eq!(page.model.phase, RunPhase::Running);
    let effects = page.frame();
    assert!(
        effects.contains(&Effect::Grid {
            run: id,
            step: 3,
            digits: Vec::new()
        }),
        "a redraw is due"
    );
    let steps = effects
        .iter()
        .filter(|e| matches!(e, Effect::Step { .. }))
        .count();
    assert_eq!(steps, MAX_IN_FLIGHT);
    assert!(effects.contains(&Effect::ScheduleFrame));
    assert!(
        effects.contains(&Effect::Stats),
        "memory figures on the first frame"
    );
    // Nothing came back: the next frame enqueues nothing.
    let effects = page.frame();
    assert!(!effects.iter().any(|e| matches!(e, Effect::Step { .. })));
    page.step_done(1.0, None);
    let run = page.run();
    assert_eq!((run.in_flight, run.record.history.len()), (2, 1));
    assert_eq!(run.steps_done(), 1);
    assert_eq!(run.progress.batch, 3);

    // Pause: frames stop; the grid under way shows the model as it is now (one read at a time).
    let effects = page.send(Event::TrainClicked);
    assert_eq!(page.model.phase, RunPhase::Paused(PauseReason::User));
    assert_eq!(effects, [Effect::CancelFrame]);
    let effects = page.send(Event::GridRead {
        run: id,
        step: 3,
        result: Ok(vec![0.0; 64 * 784]),
    });
    assert!(effects.is_empty(), "not behind: no second read");
    assert_eq!(page.shown_step(), 3);
    assert!(page.frame().is_empty(), "a stray frame enqueues nothing");
    // Continue.
    assert_eq!(page.send(Event::TrainClicked), [Effect::ScheduleFrame]);
    assert_eq!(page.model.phase, RunPhase::Running);
}

#[test]
fn the_last_epoch_finishes_the_run_and_more_epochs_reopen_it() {
    let mut page = Page::ready();
    let effects = page.edit("epochs", "1");
    page.ack(&effects);
    page.train_epochs(1);
    assert_eq!(page.model.phase, RunPhase::Finished);
    assert!(!page.model.can_train());
    assert!(
        page.send(Event::TrainClicked).is_empty(),
        "nothing left to train"
    );
    let run = page.run();
    assert_eq!(run.record.epoch_times.len(), 1);
    assert_eq!(run.snapshot_label(1), "epoch 1");
    // Only epochs and the snapshot interval reach a started run, once the worker has them.
    let effects = page.edit("epochs", "3");
    let id = page.run_id();
    assert_eq!(
        effects,
        [Effect::SetLive {
            run: id,
            epochs: 3,
            snapshot_every: 50
        }]
    );
    assert_eq!(page.model.phase, RunPhase::Finished);
    page.send(Event::LiveApplied {
        run: id,
        epochs: 3,
        snapshot_every: 50,
        result: Ok(()),
    });
    assert_eq!(page.model.phase, RunPhase::Paused(PauseReason::User));
    assert!(page.model.can_train());
    assert_eq!(page.run().snapshot_label(3), "epoch 3, final");
    assert!(!is_editable("batch_size", true) && is_editable("epochs", true));
}

#[test]
fn the_last_step_coming_back_after_a_pause_finishes_the_run() {
    let mut page = Page::ready();
    let effects = page.edit("epochs", "1");
    page.ack(&effects);
    page.send(Event::TrainClicked);
    page.frame(); // 3 steps
    for _ in 0..3 {
        page.step_done(1.0, None);
    }
    page.frame(); // the 4th and last
    page.pause();
    page.step_done(1.0, Some(1));
    assert_eq!(page.model.phase, RunPhase::Finished);
}

#[test]
fn a_non_finite_loss_stops_the_run_and_rolls_back_to_the_last_save() {
    let mut page = Page::ready();
    page.resume_saved_run();
    page.send(Event::TrainClicked);
    page.frame();
    let effects = page.step_done(f32::NAN, None);
    assert_eq!(page.model.phase, RunPhase::Paused(PauseReason::Diverged));
    assert!(effects.contains(&Effect::CancelFrame));
    assert!(
        page.model
            .status
            .run
            .as_deref()
            .unwrap()
            .contains("diverged")
    );
    assert_eq!(page.model.rollback_offer().unwrap().epoch, 1);
    // Roll back: the saved run comes back, chart and snapshots included.
    let effects = page.send(Event::RollBackClicked);
    assert!(matches!(effects.last(), Some(Effect::Load { .. })));
    page.ack(&effects);
    let run = page.run();
    assert!(!run.diverged && run.started);
    assert_eq!(run.progress.epoch, 1);
    assert_eq!(run.record.history.len(), BATCHES);
    assert_eq!(run.record.snapshots.len(), 1);
    assert_eq!(page.model.phase, RunPhase::Paused(PauseReason::User));
    assert!(page.model.rollback_offer().is_none());
}

#[test]
fn a_diverged_autosave_capture_stops_the_run_and_is_never_saved() {
    let mut page = Page::ready();
    page.send(Event::TrainClicked);
    page.frame();
    let id = page.run_id();
    page.send(Event::Captured {
        run: id,
        purpose: CapturePurpose::Autosave {
            progress: Progress::default(),
        },
        result: Err(TrainerError::Diverged("inf".into())),
    });
    assert_eq!(page.model.phase, RunPhase::Paused(PauseReason::Diverged));
    let effects = page.send(Event::Captured {
        run: id,
        purpose: CapturePurpose::Autosave {
            progress: Progress::default(),
        },
        result: Ok(vec![1, 2, 3]),
    });
    assert!(
        effects.is_empty(),
        "a diverged run is never saved: {effects:?}"
    );
}

#[test]
fn reset_starts_a_new_run_once_the_worker_has_it_and_drops_stale_replies() {
    let mut page = Page::ready();
    page.train_epochs(1);
    page.frame();
    page.pause();
    let old = page.run_id();
    assert_eq!(page.run().in_flight, MAX_IN_FLIGHT);
    let effects = page.send(Event::ResetClicked);
    assert!(effects.contains(&Effect::CancelFrame));
    assert!(matches!(effects.last(), Some(Effect::Create { .. })));
    assert_eq!(
        page.run_id(),
        old,
        "the old run stays until the worker has the new one"
    );
    page.ack(&effects);
    assert_ne!(page.run_id(), old);
    assert_eq!(page.model.phase, RunPhase::Idle);
    // The old run's steps still in flight come back: they are stale.
    page.send(Event::StepDone {
        run: old,
        result: Ok(StepReport {
            values: values(1.0),
            finished_epoch: None,
            snapshot: None,
        }),
    });
    page.send(Event::GridRead {
        run: old,
        step: 9,
        result: Ok(vec![0.0; 784 * 64]),
    });
    let run = page.run();
    assert!(run.record.history.is_empty() && run.grid.shown.is_none());
    assert_eq!(run.in_flight, 0);
}

#[test]
fn a_refused_trainer_leaves_the_run_as_it_was() {
    let mut page = Page::ready();
    let old = page.model.run.clone();
    let effects = page.edit("batch_size", "64");
    let Some(Effect::Create { run, .. }) = effects.last() else {
        panic!("{effects:?}")
    };
    page.send(Event::TrainerReady {
        run: *run,
        result: Err(TrainerError::Refused("out of memory".into())),
    });
    assert_eq!(page.model.run, old);
    assert!(
        page.model
            .status
            .run
            .as_deref()
            .unwrap()
            .contains("out of memory")
    );
    assert!(page.model.can_train());
}

#[test]
fn settings_rebuild_an_unstarted_run_and_report_bad_fields() {
    let mut page = Page::ready();
    assert!(page.edit("batch_size", "0").is_empty());
    assert!(!page.model.settings.error("batch_size").is_empty());
    assert!(page.model.status.settings.starts_with("Not applied"));
    let effects = page.edit("batch_size", "64");
    assert!(matches!(&effects[..], [Effect::Create { config, .. }] if config.batch_size == 64));
    page.ack(&effects);
    assert_eq!(page.run().config.batch_size, 64);
    assert_eq!(page.model.batches_per_epoch(), IMAGES.div_ceil(64));
    // The same value again changes nothing.
    assert!(page.edit("batch_size", "64").is_empty());
}

#[test]
fn the_run_moves_to_another_path_with_its_position() {
    let mut page = Page::ready();
    page.train_epochs(1);
    page.pause();
    let id = page.run_id();
    let recorded = page.run().record.history.len();
    let effects = page.send(Event::PathPicked(PathPreference::Force(
        ComputePath::WebGpu,
    )));
    assert_eq!(
        effects,
        [Effect::StartPath {
            path: ComputePath::WebGpu,
            workers: 1,
            products: None,
        }]
    );
    let effects = page.send(Event::PathStarted {
        workers: 1,
        path: ComputePath::WebGpu,
        result: Ok(()),
    });
    assert_eq!(
        page.model.phase,
        RunPhase::Switching {
            to: ComputePath::WebGpu
        }
    );
    assert!(effects.contains(&Effect::Capture {
        run: id,
        purpose: CapturePurpose::Move {
            to: ComputePath::WebGpu
        }
    }));
    assert!(!page.model.can_train());
    let bytes = weights_at(TrainingConfig::default(), page.run().progress);
    let effects = page.send(Event::Captured {
        run: id,
        purpose: CapturePurpose::Move {
            to: ComputePath::WebGpu,
        },
        result: Ok(bytes),
    });
    assert!(
        matches!(&effects[..], [Effect::Load { run, path: ComputePath::WebGpu, .. }] if *run == id)
    );
    page.ack(&effects);
    let run = page.run();
    assert_eq!(
        (run.path, run.id, run.progress.epoch),
        (ComputePath::WebGpu, id, 1)
    );
    assert!(page.model.can_train());
    assert_eq!(
        run.record.history.len(),
        recorded,
        "the chart moved with the run"
    );
    assert_eq!(page.model.phase, RunPhase::Paused(PauseReason::User));
    assert!(page.model.status.run.as_deref().unwrap().contains("moved"));
}

#[test]
fn a_weights_file_loads_once_acknowledged_and_a_bad_one_changes_nothing() {
    let mut page = Page::ready();
    let before = page.model.run.clone();
    let effects = page.send(Event::WeightsChosen {
        name: "junk.safetensors".into(),
        bytes: Ok(b"not a weights file".to_vec()),
    });
    assert!(effects.is_empty());
    assert_eq!(page.model.run, before);
    assert!(page.model.status.weights.contains("not loaded"));

    let config = TrainingConfig {
        batch_size: 32,
        ..TrainingConfig::default()
    };
    let progress = Progress {
        epoch: 2,
        batch: 1,
        step: 9,
    };
    let effects = page.send(Event::WeightsChosen {
        name: "good.safetensors".into(),
        bytes: Ok(weights_at(config, progress)),
    });
    assert!(matches!(effects.last(), Some(Effect::Load { .. })));
    assert_eq!(
        page.model.run, before,
        "nothing changes before the acknowledgement"
    );
    page.ack(&effects);
    let run = page.run();
    assert_eq!((run.progress, run.config.batch_size), (progress, 32));
    assert_eq!(page.model.settings.text("batch_size"), "32");
    assert_eq!(page.model.phase, RunPhase::Paused(PauseReason::User));
    assert!(
        page.model
            .status
            .weights
            .starts_with("Loaded good.safetensors: epoch 2, step 9")
    );
}

#[test]
fn an_epoch_end_autosaves_the_run_as_it_was_then() {
    let mut page = Page::ready();
    let effects = page.train_epochs(1);
    let at = effects
        .iter()
        .position(|e| {
            matches!(
                e,
                Effect::Capture {
                    purpose: CapturePurpose::Autosave { .. },
                    ..
                }
            )
        })
        .expect("a capture for the autosave");
    assert!(
        matches!(effects[at - 1], Effect::Step { .. }),
        "right after the epoch's last step"
    );
    let id = page.run_id();
    let effects = page.send(Event::Captured {
        run: id,
        purpose: CapturePurpose::Autosave {
            progress: Progress {
                epoch: 1,
                batch: 0,
                step: BATCHES as u64,
            },
        },
        result: Ok(vec![7; 16]),
    });
    let [Effect::Save { summary, record }] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(record.epoch, 1);
    assert_eq!(record.history_values().len(), BATCHES);
    assert_eq!(record.snapshot_values().len(), 1);
    assert_eq!(
        (summary.key.as_str(), summary.name.as_str()),
        ("tab-1", "Run 1")
    );
    assert_eq!((summary.epoch, summary.step), (1, BATCHES as u64));
    let effects = page.send(Event::Saved {
        key: summary.key.clone(),
        result: Ok(((**summary).clone(), (**record).clone())),
    });
    assert_eq!(
        effects,
        [Effect::PersistStorage],
        "asked once, at the first save"
    );
    assert!(page.model.status.saved.starts_with("Autosaved at epoch 1"));
    assert_eq!(page.model.saved.last.as_ref(), Some(&**record));
    assert!(!page.model.can_resume("tab-1"), "it is the run on screen");
    assert_eq!(page.model.saved.library.runs.len(), 1);
    // Off: no capture at the next epoch's end.
    page.send(Event::AutosaveEdited("0".into()));
    assert_eq!(page.model.status.saved, "Autosave is off.");
    let effects = page.train_epochs(1);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Capture { .. })));
}

#[test]
fn a_stopped_worker_is_replaced_and_the_run_resumes_from_the_last_save() {
    let mut page = Page::ready();
    page.resume_saved_run();
    page.send(Event::TrainClicked);
    page.frame();
    let old = page.run_id();
    let effects = page.send(Event::WorkerStopped("the GPU device was lost".into()));
    assert_eq!(page.model.phase, RunPhase::Recovering { attempt: 1 });
    assert_eq!(
        effects,
        [
            Effect::CancelFrame,
            Effect::DropWorker,
            Effect::StartPath {
                path: ComputePath::Cpu,
                workers: 1,
                products: None,
            }
        ]
    );
    // The stopped worker's requests fail: that changes nothing more.
    page.send(Event::StepDone {
        run: old,
        result: Err(TrainerError::Worker("gone".into())),
    });
    assert_eq!(page.model.phase, RunPhase::Recovering { attempt: 1 });
    let effects = page.send(Event::PathStarted {
        workers: 1,
        path: ComputePath::Cpu,
        result: Ok(()),
    });
    assert!(matches!(effects.last(), Some(Effect::Load { .. })));
    page.ack(&effects);
    assert_eq!(page.model.phase, RunPhase::Paused(PauseReason::User));
    assert_eq!(page.run().progress.epoch, 1);
    assert!(
        page.model
            .status
            .saved
            .contains("restarted from the last save (epoch 1, step 4)")
    );
    assert!(page.model.can_train());
}

#[test]
fn without_a_save_a_new_worker_starts_the_run_over() {
    let mut page = Page::ready();
    page.send(Event::WorkerStopped("crashed".into()));
    let effects = page.send(Event::PathStarted {
        workers: 1,
        path: ComputePath::Cpu,
        result: Ok(()),
    });
    assert!(matches!(effects.last(), Some(Effect::Create { .. })));
    page.ack(&effects);
    assert!(page.model.status.saved.contains("the run starts over"));
    assert_eq!(page.model.phase, RunPhase::Idle);
}

#[test]
fn recovery_gives_up_after_a_few_restarts() {
    let mut page = Page::ready();
    for attempt in 1..=MAX_RESTARTS {
        page.send(Event::WorkerStopped("crashed".into()));
        assert_eq!(page.model.phase, RunPhase::Recovering { attempt });
        let effects = page.send(Event::PathStarted {
            workers: 1,
            path: ComputePath::Cpu,
            result: Ok(()),
        });
        page.ack(&effects);
    }
    let effects = page.send(Event::WorkerStopped("crashed".into()));
    assert!(!effects.contains(&Effect::DropWorker));
    assert!(matches!(
        page.model.phase,
        RunPhase::Idle | RunPhase::Paused(PauseReason::Failed)
    ));
    assert!(
        page.model
            .status
            .run
            .as_deref()
            .unwrap()
            .contains("keeps stopping")
    );
    assert!(!page.model.can_train(), "no worker to train on");
}

#[test]
fn a_failed_read_pauses_training_with_its_reason() {
    let mut page = Page::ready();
    page.send(Event::TrainClicked);
    page.frame();
    let id = page.run_id();
    let effects = page.send(Event::StepDone {
        run: id,
        result: Err(TrainerError::Read("device lost".into())),
    });
    assert_eq!(page.model.phase, RunPhase::Paused(PauseReason::Failed));
    assert!(effects.contains(&Effect::CancelFrame));
    assert!(
        page.model
            .status
            .run
            .as_deref()
            .unwrap()
            .contains("device lost")
    );
}

#[test]
fn a_hidden_tab_stops_the_clock_and_a_visible_one_schedules_frames() {
    let mut page = Page::ready();
    page.send(Event::TrainClicked);
    assert!(
        page.send(Event::VisibilityChanged { hidden: true })
            .is_empty()
    );
    assert!(!page.run().timing.clock.is_running());
    assert_eq!(
        page.send(Event::VisibilityChanged { hidden: false }),
        [Effect::ScheduleFrame]
    );
    assert!(page.run().timing.clock.is_running());
}

#[test]
fn mnist_failures_offer_a_retry_and_downloads_report_their_file() {
    let mut page = Page::booted(PathPreference::Auto, 2, CalibrationStore::default());
    page.send(Event::DataLoaded(Err("checksum mismatch".into())));
    assert_eq!(
        page.model.data,
        DataState::Failed("checksum mismatch".into())
    );
    assert_eq!(page.send(Event::RetryData), [Effect::LoadData]);

    let mut page = Page::ready();
    let effects = page.send(Event::DownloadWeights);
    let [Effect::Capture { run, purpose }] = &effects[..] else {
        panic!("{effects:?}")
    };
    let effects = page.send(Event::Captured {
        run: *run,
        purpose: purpose.clone(),
        result: Ok(vec![1]),
    });
    assert_eq!(
        effects,
        [Effect::Download {
            name: "mnist-gan-epoch-0.safetensors".into(),
            bytes: vec![1]
        }]
    );
}

#[test]
fn onnx_downloads_export_the_captured_weights_and_refuse_diverged_ones() {
    let mut page = Page::ready();
    let effects = page.send(Event::DownloadOnnx(Network::Discriminator));
    let [Effect::Capture { run, purpose }] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(
        purpose,
        &CapturePurpose::Export {
            epoch: 0,
            network: Network::Discriminator
        }
    );
    let weights = weights_at(TrainingConfig::default(), Progress::default());
    let effects = page.send(Event::Captured {
        run: *run,
        purpose: purpose.clone(),
        result: Ok(weights.clone()),
    });
    let file =
        onnx::export_weights_file(&weights, Network::Discriminator, &TrainingConfig::default())
            .unwrap();
    assert_eq!(
        effects,
        [Effect::Download {
            name: "mnist-gan-epoch-0-discriminator.onnx".into(),
            bytes: file
        }]
    );
    assert_eq!(
        page.model.status.weights,
        "Saved mnist-gan-epoch-0-discriminator.onnx."
    );

    let mut diverged = Checkpoint::from_bytes(&weights, "", &TrainingConfig::default()).unwrap();
    diverged.generator[2].kernel[7] = f32::NAN;
    let effects = page.send(Event::Captured {
        run: *run,
        purpose: CapturePurpose::Export {
            epoch: 0,
            network: Network::Generator,
        },
        result: Ok(diverged.to_bytes()),
    });
    assert!(effects.is_empty(), "nothing is downloaded: {effects:?}");
    assert_eq!(
        page.model.status.weights,
        "Not exported as ONNX: the weights are no longer finite numbers (`gen.dense2.kernel` holds NaN at index 7), so there is nothing to export."
    );

    let effects = page.send(Event::Captured {
        run: *run,
        purpose: CapturePurpose::Export {
            epoch: 0,
            network: Network::Generator,
        },
        result: Err(TrainerError::Read("lost".into())),
    });
    assert!(effects.is_empty());
    assert!(
        page.model
            .status
            .weights
            .starts_with("Could not read the weights")
    );
}

#[test]
fn an_onnx_file_is_not_offered_as_weights_to_load() {
    let mut page = Page::ready();
    let before = page.run_id();
    let effects = page.send(Event::WeightsChosen {
        name: "mnist-gan-epoch-3-generator.ONNX".into(),
        bytes: Ok(vec![8, 8, 18, 13]),
    });
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(
        page.model.status.weights,
        "mnist-gan-epoch-3-generator.ONNX was not loaded: an ONNX file is an export for other programs. Load the run's .safetensors weights file instead. The current model is unchanged."
    );
    assert_eq!(page.run_id(), before);
}

#[test]
fn the_untrained_sample_comes_from_the_first_grid_of_a_fresh_run() {
    let mut page = Page::ready();
    let id = page.run_id();
    assert!(page.run().grid.pending, "read once installed");
    page.send(Event::GridRead {
        run: id,
        step: 0,
        result: Ok((0..64 * 784).map(|i| i as f32).collect()),
    });
    let untrained = page.model.display.untrained.as_ref().unwrap();
    assert_eq!(untrained.len(), 784);
    assert_eq!(untrained[783], 783.0);
    assert_eq!(page.shown_step(), 0);
}

// ----- the helpers ------------------------------------------------------------------------

#[test]
fn the_epoch_clock_counts_only_running_visible_time() {
    let mut clock = ActiveClock::default();
    clock.resume(100.0);
    clock.resume(150.0); // already running: no restart
    clock.pause(300.0);
    clock.resume(1000.0);
    assert_eq!(clock.lap(1100.0), 300.0);
    assert_eq!(clock.lap(1200.0), 100.0);
    clock.pause(1250.0);
    assert_eq!(clock.lap(5000.0), 50.0);
}

#[test]
fn the_rate_and_the_time_left() {
    let mut rate = StepRate::default();
    assert_eq!(rate.per_second(), None);
    for i in 0..11 {
        rate.record(f64::from(i) * 100.0);
    }
    assert!((rate.per_second().unwrap() - 10.0).abs() < 1e-9);
    // Old completions leave the window.
    rate.record(10_000.0);
    rate.record(10_500.0);
    assert!((rate.per_second().unwrap() - 2.0).abs() < 1e-9);
    assert_eq!(seconds_left(100.0, Some(10.0)), Some(10.0));
    assert_eq!(seconds_left(100.0, None), None);
    assert_eq!(format_duration(Some(42.4)), "42 s");
    assert_eq!(format_duration(Some(185.0)), "3 min 05 s");
    assert_eq!(format_duration(Some(7620.0)), "2 h 07 min");
    assert_eq!(format_duration(Some(f64::INFINITY)), "—");
    assert_eq!(format_duration(None), "—");
}

#[test]
fn the_frame_budget_shrinks_after_long_frames_and_grows_while_used() {
    let mut budget = FrameBudget::default();
    assert_eq!(budget.steps(3), 3);
    assert_eq!(budget.steps(0), 0);
    budget.adapt(FrameWork {
        spent_ms: 30.0,
        enqueued: 3,
    });
    assert!((budget.ms - 2.8).abs() < 1e-9);
    for _ in 0..20 {
        budget.adapt(FrameWork {
            spent_ms: 40.0,
            enqueued: 1,
        });
    }
    assert_eq!(budget.ms, 2.0, "never below the floor");
    assert_eq!(budget.steps(3), 1, "a slow enqueue allows one step a frame");
    let mut budget = FrameBudget::default();
    for _ in 0..50 {
        budget.adapt(FrameWork {
            spent_ms: budget.ms,
            enqueued: 3,
        });
    }
    assert_eq!(budget.ms, 10.0, "never above the ceiling");
}

#[test]
fn the_chart_scales_and_its_last_label_stays_inside() {
    assert_eq!(nice_max(0.73), 1.0);
    assert_eq!(nice_max(1.3), 2.0);
    assert_eq!(nice_max(2.2), 2.5);
    assert_eq!(nice_max(37.0), 50.0);
    assert_eq!(nice_max(f32::NAN), 1.0);
    assert_eq!(x_ticks(11_750, 4), [0, 2937, 5875, 8812, 11_750]);
    // "11750" centred on the right edge would be cut: it ends at the edge instead.
    let width = 30.0;
    assert_eq!(label_left(710.0, width, 0.0, 720.0), 690.0);
    assert_eq!(label_left(40.0, width, 0.0, 720.0), 25.0);
    assert_eq!(label_left(5.0, width, 0.0, 720.0), 0.0);
    let history: Vec<StepValues> = (0..10).map(|i| values(i as f32)).collect();
    let points = downsample(&history, 5, |v| v.d_loss);
    assert_eq!(points, [(1, 0.5), (3, 2.5), (5, 4.5), (7, 6.5), (9, 8.5)]);
}

#[test]
fn the_settings_form_parses_all_fields_and_names_the_bad_one() {
    let mut form = SettingsForm::new(&TrainingConfig::default());
    assert_eq!(form.text("batch_size"), "256");
    assert_eq!(form.text("generator_lr"), "0.0002");
    assert!(form.edit("k", "2"));
    assert_eq!(form.parsed().as_ref().unwrap().k, 2);
    assert!(form.edit("adam_beta1", "1.5"));
    assert!(!form.error("adam_beta1").is_empty());
    assert_eq!(form.error("k"), "");
    assert!(!form.edit("no_such_field", "1"));
    assert_eq!(parse_autosave(" 3 "), Ok(3));
    assert!(parse_autosave("x").is_err());
}

#[test]
fn choosing_a_model_takes_its_defaults_and_keeps_what_was_changed() {
    use mnist_gan_web::model::ModelKind;
    let mut form = SettingsForm::new(&TrainingConfig::default());
    assert!(form.edit("init_seed", "9"));
    assert!(form.edit("model", "sharp"));
    let sharp = TrainingConfig::for_model(ModelKind::Sharp);
    let parsed = form.parsed().clone().unwrap();
    assert_eq!(parsed.model, ModelKind::Sharp);
    assert_eq!(
        (parsed.batch_size, parsed.noise_dim, parsed.adam_beta1),
        (64, 64, 0.5)
    );
    assert_eq!(parsed.generator_lr, sharp.generator_lr);
    assert_eq!(parsed.init_seed, 9, "a setting changed by hand stays");
    // A field changed while on `sharp` stays when going back; the rest return.
    assert!(form.edit("batch_size", "128"));
    assert!(form.edit("model", "tutorial"));
    let parsed = form.parsed().clone().unwrap();
    assert_eq!((parsed.batch_size, parsed.noise_dim), (128, 100));
    assert_eq!(parsed.generator_lr, TrainingConfig::default().generator_lr);
    // An unknown model moves nothing and is refused.
    assert!(form.edit("model", "sharper"));
    assert_eq!(form.text("noise_dim"), "100");
    assert!(!form.error("model").is_empty());
}
