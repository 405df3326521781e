//! The run library, natively: its rules (naming, ordering, the migration of the single-slot
//! autosave, pruning, summaries) and the page's model around it (every run kept, one tab per
//! run, deleting only after asking, making room when storage is full).
#![allow(clippy::unwrap_used)]

mod common;

use common::page::*;
use mnist_gan_web::TrainingConfig;
use mnist_gan_web::app::library::{
    Listing, MIGRATED_KEY, MIGRATED_NAME, RunSummary, SaveFailure, changed_settings, clean_name,
    migrate, name_of_file, next_name, order, prune,
};
use mnist_gan_web::app::saved::SavedRun;
use mnist_gan_web::app::{CapturePurpose, Effect, Event, PauseReason, RunPhase};
use mnist_gan_web::train::Progress;
use serde_bytes::ByteBuf;

fn summary(key: &str, name: &str, saved_at: f64, bytes: u64) -> RunSummary {
    RunSummary {
        key: key.into(),
        name: name.into(),
        model: Default::default(),
        epoch: 1,
        epochs: 300,
        step: 235,
        saved_at,
        bytes,
        changed: Vec::new(),
        thumbnail: None,
        dataset: Default::default(),
    }
}

fn keys(runs: &[RunSummary]) -> Vec<&str> {
    runs.iter().map(|run| run.key.as_str()).collect()
}

#[test]
fn new_runs_are_named_after_the_highest_run_number_and_names_are_cleaned() {
    assert_eq!(next_name(&[]), "Run 1");
    let runs = [
        summary("a", "Run 1", 0.0, 1),
        summary("b", "Run 3", 0.0, 1),
        summary("c", "My best run", 0.0, 1),
        summary("d", "Run 2b", 0.0, 1),
    ];
    assert_eq!(next_name(&runs), "Run 4");
    assert_eq!(clean_name("  two\n words  "), Some("two words".into()));
    assert_eq!(clean_name(" \t "), None);
    assert_eq!(clean_name(&"x".repeat(100)).unwrap().chars().count(), 60);
    assert_eq!(
        name_of_file("mnist-gan-epoch-3.safetensors"),
        "mnist-gan-epoch-3"
    );
    assert_eq!(name_of_file(".safetensors"), "Loaded weights");
}

#[test]
fn runs_are_ordered_newest_save_first_the_same_in_every_tab() {
    let mut runs = vec![
        summary("k1", "B", 10.0, 1),
        summary("k2", "A", 30.0, 1),
        summary("k3", "C", 10.0, 1),
        summary("k0", "B", 10.0, 1),
    ];
    order(&mut runs);
    assert_eq!(keys(&runs), ["k2", "k0", "k1", "k3"]);
}

#[test]
fn pruning_frees_the_space_needed_oldest_first_never_a_kept_run() {
    let runs = [
        summary("new", "", 40.0, 30),
        summary("old", "", 10.0, 30),
        summary("kept", "", 5.0, 30),
        summary("mid", "", 20.0, 30),
    ];
    let kept = ["kept".to_string()];
    assert_eq!(prune(&runs, 1, &kept), ["old"]);
    assert_eq!(prune(&runs, 30, &kept), ["old"]);
    assert_eq!(prune(&runs, 31, &kept), ["old", "mid"]);
    assert_eq!(
        prune(&runs, 1000, &kept),
        ["old", "mid", "new"],
        "all there is"
    );
    assert!(prune(&runs, 0, &kept).is_empty());
}

fn record(config: &TrainingConfig, snapshots: &[(usize, Vec<f32>)]) -> SavedRun {
    let progress = Progress {
        epoch: 2,
        batch: 0,
        step: 8,
    };
    let mut trainer = mnist_gan_web::Trainer::new(config.clone(), &common::device()).unwrap();
    trainer.progress = progress;
    let weights = common::block_on(mnist_gan_web::Checkpoint::capture(&trainer))
        .unwrap()
        .to_bytes();
    SavedRun {
        weights: ByteBuf::from(weights),
        epoch: 2,
        step: 8,
        history: SavedRun::encode_history(&[values(1.0); 8]),
        snapshots: SavedRun::encode_snapshots(snapshots),
        saved_at: 1234.0,
    }
}

#[test]
fn a_summary_says_what_the_list_shows_and_the_old_autosave_migrates() {
    let config = TrainingConfig {
        batch_size: 64,
        epochs: 20,
        ..TrainingConfig::default()
    };
    let mut last = vec![-1.0; 784];
    last[0] = 1.0;
    let saved = record(&config, &[(1, vec![0.0; 784]), (2, last)]);
    let summary = RunSummary::of("k", "Mine", &config, &saved);
    assert_eq!((summary.epoch, summary.epochs, summary.step), (2, 20, 8));
    assert_eq!(summary.saved_at, 1234.0);
    assert_eq!(
        summary.bytes as usize,
        saved.weights.len() + saved.history.len() + 2 * 784 * 4
    );
    let thumbnail = summary.thumbnail.as_ref().unwrap();
    assert_eq!(
        (thumbnail.len(), thumbnail[0], thumbnail[1]),
        (784, 255, 0),
        "the latest snapshot"
    );
    assert!(
        summary
            .changed
            .contains(&("batch_size".into(), "64".into()))
    );
    assert!(summary.changed.contains(&("epochs".into(), "20".into())));
    assert!(summary.settings_text().contains("batch_size 64"));
    assert!(changed_settings(&TrainingConfig::default()).is_empty());
    // The model is told apart from the settings, and a summary stored before there were
    // models is the tutorial's.
    let conditional = TrainingConfig {
        model: mnist_gan_web::model::ModelKind::Conditional,
        ..TrainingConfig::default()
    };
    assert!(changed_settings(&conditional).is_empty());
    assert_eq!(summary.model, mnist_gan_web::model::ModelKind::Tutorial);
    let mut stored = serde_json::to_value(&summary).unwrap();
    stored.as_object_mut().unwrap().remove("model");
    let old: RunSummary = serde_json::from_value(stored).unwrap();
    assert_eq!(old.model, mnist_gan_web::model::ModelKind::Tutorial);

    // The single-slot autosave of earlier versions: its settings come from its weights file.
    let migrated = migrate(&saved).unwrap();
    assert_eq!(
        (migrated.key.as_str(), migrated.name.as_str()),
        (MIGRATED_KEY, MIGRATED_NAME)
    );
    assert_eq!(migrated.changed, summary.changed);
    assert_eq!(migrated.epoch, 2);
    let corrupt = SavedRun {
        weights: ByteBuf::from(vec![1, 2, 3]),
        ..saved
    };
    assert!(migrate(&corrupt).unwrap_err().contains("cannot be read"));
}

/// The autosave of the run on screen after its first epoch, written.
fn autosave(page: &mut Page) -> (RunSummary, SavedRun) {
    page.train_epochs(1);
    let id = page.run_id();
    let progress = page.run().progress;
    let effects = page.send(Event::Captured {
        run: id,
        purpose: CapturePurpose::Autosave { progress },
        result: Ok(vec![7; 16]),
    });
    let [Effect::Save { summary, record }] = &effects[..] else {
        panic!("{effects:?}")
    };
    let saved = ((**summary).clone(), (**record).clone());
    page.send(Event::Saved {
        key: summary.key.clone(),
        result: Ok(saved.clone()),
    });
    saved
}

#[test]
fn reset_starts_a_new_run_and_keeps_the_old_one_in_the_list() {
    let mut page = Page::ready();
    let (first, _) = autosave(&mut page);
    assert_eq!(
        (first.key.as_str(), first.name.as_str()),
        ("tab-1", "Run 1")
    );
    page.pause();
    let effects = page.send(Event::ResetClicked);
    let effects = page.ack(&effects);
    assert!(
        effects.contains(&Effect::ReleaseRun {
            key: "tab-1".into()
        }),
        "the old run is let go: {effects:?}"
    );
    assert!(
        page.model.saved.last.is_none(),
        "the new run has no save yet"
    );
    assert!(page.model.can_resume("tab-1"), "the old run can come back");
    let (second, _) = autosave(&mut page);
    assert_ne!(second.key, first.key);
    assert_eq!(second.name, "Run 2");
    assert_eq!(
        keys(&page.model.saved.library.runs),
        [second.key.as_str(), first.key.as_str()],
        "both kept, newest first"
    );
}

#[test]
fn a_run_open_in_another_tab_cannot_be_resumed_deleted_or_renamed_here() {
    let mut page = Page::ready();
    page.with_saved_run();
    page.send(Event::RunsListed(Ok(Listing {
        runs: page.model.saved.library.runs.clone(),
        elsewhere: vec![SAVED_KEY.into()],
        ..Listing::default()
    })));
    assert!(!page.model.can_resume(SAVED_KEY));
    assert!(page.send(Event::ResumeRun(SAVED_KEY.into())).is_empty());
    assert!(page.model.status.saved.contains("open in another tab"));
    assert!(page.send(Event::DeleteRun(SAVED_KEY.into())).is_empty());
    assert!(page.model.saved.library.confirming.is_none());
    let rename = Event::RenameRun {
        key: SAVED_KEY.into(),
        name: "Mine".into(),
    };
    assert!(page.send(rename).is_empty());
    // The other tab lets it go: it can be resumed here.
    page.send(Event::RunsListed(Ok(Listing {
        runs: page.model.saved.library.runs.clone(),
        ..Listing::default()
    })));
    assert_eq!(
        page.send(Event::ResumeRun(SAVED_KEY.into())),
        [Effect::ClaimRun {
            key: SAVED_KEY.into()
        }]
    );
    // Taken by another tab meanwhile: the claim fails and the list is read again.
    let effects = page.send(Event::RunClaimed {
        key: SAVED_KEY.into(),
        result: Err("it is open in another tab".into()),
    });
    assert_eq!(effects, [Effect::ListRuns]);
    assert!(page.model.status.saved.contains("cannot be resumed"));
    assert_eq!(page.run().label.key, "tab-1", "the run on screen stays");
}

#[test]
fn deleting_asks_first_and_never_takes_the_run_on_screen() {
    let mut page = Page::ready();
    page.with_saved_run();
    assert!(page.send(Event::DeleteRun(SAVED_KEY.into())).is_empty());
    assert_eq!(
        page.model.saved.library.confirming.as_deref(),
        Some(SAVED_KEY)
    );
    let keep = Event::DeleteAnswered {
        key: SAVED_KEY.into(),
        confirmed: false,
    };
    assert!(page.send(keep).is_empty());
    assert!(page.model.saved.library.confirming.is_none());
    assert_eq!(page.model.saved.library.runs.len(), 1);
    page.send(Event::DeleteRun(SAVED_KEY.into()));
    let effects = page.send(Event::DeleteAnswered {
        key: SAVED_KEY.into(),
        confirmed: true,
    });
    assert_eq!(
        effects,
        [Effect::DeleteRuns {
            keys: vec![SAVED_KEY.into()]
        }]
    );
    let effects = page.send(Event::RunsDeleted(Ok(vec![SAVED_KEY.into()])));
    assert_eq!(effects, [Effect::ListRuns]);
    assert!(page.model.saved.library.runs.is_empty());
    assert!(page.model.status.saved.starts_with("Deleted 1 run"));

    // The run on screen is not offered for deletion.
    let (on_screen, _) = autosave(&mut page);
    assert!(
        page.send(Event::DeleteRun(on_screen.key.clone()))
            .is_empty()
    );
    assert!(page.model.saved.library.confirming.is_none());
}

#[test]
fn a_full_storage_keeps_training_and_offers_the_oldest_other_runs() {
    let mut page = Page::ready();
    page.send(Event::RunsListed(Ok(Listing {
        runs: vec![
            summary("old", "Run 1", 10.0, 30),
            summary("older-elsewhere", "Run 2", 5.0, 30),
            summary("newer", "Run 3", 20.0, 30),
        ],
        elsewhere: vec!["older-elsewhere".into()],
        ..Listing::default()
    })));
    page.train_epochs(1);
    let key = page.run().label.key.clone();
    let effects = page.send(Event::Saved {
        key,
        result: Err(SaveFailure::Full { needed: 45 }),
    });
    assert!(effects.is_empty());
    assert_eq!(page.model.phase, RunPhase::Running, "training goes on");
    assert!(
        page.model
            .status
            .saved
            .contains("storage for this site is full")
    );
    assert_eq!(page.model.saved.library.prune_offer, ["old", "newer"]);
    assert_eq!(
        page.send(Event::PruneClicked),
        [Effect::DeleteRuns {
            keys: vec!["old".into(), "newer".into()]
        }]
    );
    assert!(page.model.saved.library.prune_offer.is_empty());
}

#[test]
fn renaming_changes_the_list_and_the_name_the_next_autosave_writes() {
    let mut page = Page::ready();
    let (saved, _) = autosave(&mut page);
    assert!(
        page.send(Event::RenameRun {
            key: saved.key.clone(),
            name: "   ".into()
        })
        .is_empty()
    );
    assert_eq!(page.model.status.saved, "A run needs a name.");
    let effects = page.send(Event::RenameRun {
        key: saved.key.clone(),
        name: " Long  run ".into(),
    });
    assert_eq!(
        effects,
        [Effect::RenameRun {
            key: saved.key.clone(),
            name: "Long run".into()
        }]
    );
    assert_eq!(
        page.model.saved.library.get(&saved.key).unwrap().name,
        "Long run"
    );
    let (next, _) = autosave(&mut page);
    assert_eq!(next.name, "Long run");
}

#[test]
fn a_resumed_run_is_the_saved_one_and_its_save_is_what_a_roll_back_restores() {
    let mut page = Page::ready();
    let saved = page.resume_saved_run();
    assert_eq!(page.run().label.key, SAVED_KEY);
    assert_eq!(page.run().label.name, "Run 1");
    assert_eq!(page.model.saved.last.as_ref(), Some(&saved));
    assert!(!page.model.can_resume(SAVED_KEY), "it is on screen");
    assert_eq!(page.model.phase, RunPhase::Paused(PauseReason::User));
    assert!(page.model.status.saved.starts_with("Resumed at epoch 1"));
    // Its autosaves keep its key and name: one entry, updated.
    let (next, _) = autosave(&mut page);
    assert_eq!((next.key.as_str(), next.epoch), (SAVED_KEY, 2));
    assert_eq!(page.model.saved.library.runs.len(), 1);
}
