//! The visitor's own data in the page's model, natively: an import staged, converted,
//! previewed, converted again with other options, stored and put to use by a new run; the
//! stored datasets used, renamed and deleted; runs recording their data, resuming on it, and
//! asking for it by name once it was deleted; every failure leaving the run and the data alone.
#![allow(clippy::unwrap_used)]

mod common;

use std::rc::Rc;

use common::page::*;
use mnist_gan_web::app::import::{PREVIEW_IMAGES, name_of_import, preview_images};
use mnist_gan_web::app::library::Listing;
use mnist_gan_web::app::{
    CapturePurpose, DataRef, DataState, DataSummary, DatasetInfo, Effect, Event, ImportPhase,
    RunPhase, SharedImport,
};
use mnist_gan_web::import::{ConvertOptions, Invert};
use mnist_gan_web::path::{ComputePath, PathPreference};
use mnist_gan_web::protocol::ImportedData;
use serde_bytes::ByteBuf;

const HASH: &str = "5e1f";

/// A conversion of `count` images, image `i` all grey level `i`, labelled or not.
fn imported(count: usize, labelled: bool) -> SharedImport {
    SharedImport(Rc::new(ImportedData {
        count,
        pixels: ByteBuf::from((0..count).flat_map(|i| [i as u8; 784]).collect::<Vec<_>>()),
        labels: labelled.then(|| ByteBuf::from(vec![0; count])),
        classes: if labelled {
            vec!["a".into(), "b".into()]
        } else {
            Vec::new()
        },
        inverted: true,
        summary: format!("{count} images (28 × 28, inverted)"),
        skipped: Vec::new(),
    }))
}

fn info(name: &str, classes: usize) -> DatasetInfo {
    DatasetInfo {
        sha256: HASH.into(),
        name: name.into(),
        count: 300,
        classes: (0..classes).map(|c| c.to_string()).collect(),
        labelled: classes > 0,
        saved_at: 5.0,
    }
}

fn summary_of(source: DataRef) -> DataSummary {
    DataSummary {
        source,
        count: 300,
        held_out: 0,
        first_label: 1,
        first_image: vec![9; 784],
    }
}

/// Files picked, staged, converted: the preview of `data`.
fn previewed(page: &mut Page, data: &SharedImport) {
    let effects = page.send(Event::FilesPicked {
        name: "digits/".into(),
        files: Some(300),
        bytes: 90_000,
    });
    assert_eq!(effects, [Effect::ReadImport]);
    page.send(Event::ImportProgress {
        read: 100,
        total: 300,
    });
    assert_eq!(
        page.model.import.phase,
        Some(ImportPhase::Reading {
            read: 100,
            total: Some(300)
        })
    );
    let effects = page.send(Event::FilesStaged(Ok(())));
    assert_eq!(
        effects,
        [Effect::Import {
            options: ConvertOptions::default()
        }]
    );
    assert_eq!(page.model.import.phase, Some(ImportPhase::Converting));
    assert!(page.send(Event::Imported(Ok(data.clone()))).is_empty());
    assert!(
        matches!(&page.model.import.phase, Some(ImportPhase::Preview(p)) if p.data == *data),
        "{:?}",
        page.model.import.phase
    );
    assert_eq!(page.model.import.name, "digits");
}

/// "Use this data" on the preview: stored as `stored`, put to use, a new run on it.
fn kept(page: &mut Page, data: &SharedImport, stored: DatasetInfo) -> Vec<Effect> {
    let effects = page.send(Event::UseImportClicked);
    assert_eq!(
        effects,
        [Effect::KeepImport {
            data: data.clone(),
            name: "digits".into(),
            expect: None
        }]
    );
    let to = stored.data_ref();
    let effects = page.send(Event::ImportKept(Ok(stored)));
    assert!(effects.contains(&Effect::CloseImport), "{effects:?}");
    assert_eq!(effects.last(), Some(&Effect::SwitchData { to: to.clone() }));
    assert_eq!(page.model.import.phase, None);
    assert!(
        !page.model.can_train(),
        "no training while the data changes"
    );
    page.send(Event::DataSwitched(Ok(summary_of(to))))
}

#[test]
fn files_are_previewed_converted_again_with_other_options_and_a_new_run_trains_on_them() {
    let mut page = Page::ready();
    page.train_epochs(1);
    let first = page.run().label.clone();
    assert_eq!(first.data, DataRef::mnist());
    let data = imported(300, true);
    previewed(&mut page, &data);
    assert_eq!(
        page.model.phase,
        RunPhase::Running,
        "a preview leaves the run training"
    );
    // 64 images spread over the 300: image k of the preview is image k × 300 / 64.
    let Some(ImportPhase::Preview(preview)) = &page.model.import.phase else {
        unreachable!()
    };
    assert_eq!(preview.images.len(), PREVIEW_IMAGES * 784);
    assert_eq!(preview.images[784 * 63], (63 * 300 / 64) as u8);

    // Other options convert the staged files again.
    let never = ConvertOptions {
        invert: Invert::Never,
        ..ConvertOptions::default()
    };
    assert_eq!(
        page.send(Event::ImportOptionsPicked(never)),
        [Effect::Import { options: never }]
    );
    let again = imported(300, true);
    page.send(Event::Imported(Ok(again.clone())));

    let effects = kept(&mut page, &again, info("digits", 2));
    let [Effect::Create { .. }] = &effects[..] else {
        panic!("a fresh run on the new data: {effects:?}")
    };
    page.ack(&effects);
    let run = page.run().label.clone();
    assert_ne!(run.key, first.key);
    assert_eq!(run.data.sha256.as_deref(), Some(HASH));
    assert_eq!(page.model.phase, RunPhase::Idle);
    assert_eq!(page.model.datasets.stored.len(), 1);
    assert_eq!(page.model.datasets.status, "Training on “digits”.");

    // Its autosave records the data.
    page.train_epochs(1);
    let progress = page.run().progress;
    let effects = page.send(Event::Captured {
        run: page.run_id(),
        purpose: CapturePurpose::Autosave { progress },
        result: Ok(vec![7; 16]),
    });
    let [Effect::Save { summary, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(summary.dataset, run.data);
}

#[test]
fn a_dropped_folder_is_counted_by_the_import_worker_as_it_reads_it() {
    let mut page = Page::ready();
    // Handles: nothing counted yet, the worker walks the folder.
    let effects = page.send(Event::FilesPicked {
        name: "digits/".into(),
        files: None,
        bytes: 0,
    });
    assert_eq!(effects, [Effect::ReadImport]);
    assert_eq!(
        page.model.import.phase,
        Some(ImportPhase::Reading {
            read: 0,
            total: None
        })
    );
    page.send(Event::ImportProgress {
        read: 0,
        total: 60_000,
    });
    page.send(Event::ImportProgress {
        read: 1_000,
        total: 60_000,
    });
    assert_eq!(
        page.model.import.phase,
        Some(ImportPhase::Reading {
            read: 1_000,
            total: Some(60_000)
        })
    );
    // Past the limit, the worker's refusal is said.
    page.send(Event::FilesStaged(Err(
        "more than 400 MB of files: a dataset comes from at most 400 MB".into(),
    )));
    assert!(
        matches!(&page.model.import.phase, Some(ImportPhase::Failed(m)) if m.starts_with("More than 400 MB")),
        "{:?}",
        page.model.import.phase
    );
}

#[test]
fn a_failed_import_store_or_switch_loses_nothing() {
    let mut page = Page::ready();
    let run = page.run().label.clone();
    // The files could not be staged: said so, the worker closed.
    page.send(Event::FilesPicked {
        name: "x.zip".into(),
        files: Some(1),
        bytes: 10,
    });
    let effects = page.send(Event::FilesStaged(Err("a file could not be read".into())));
    assert_eq!(effects, [Effect::CloseImport]);
    assert_eq!(
        page.model.import.phase,
        Some(ImportPhase::Failed("A file could not be read".into()))
    );
    // Too many bytes are refused before anything is read.
    let effects = page.send(Event::FilesPicked {
        name: "huge/".into(),
        files: Some(2),
        bytes: 400_000_001,
    });
    assert!(effects.is_empty());
    assert!(
        matches!(&page.model.import.phase, Some(ImportPhase::Failed(m)) if m.starts_with("More than 400 MB")),
        "{:?}",
        page.model.import.phase
    );
    // A broken zip: the conversion's error, the run untouched.
    page.send(Event::FilesPicked {
        name: "broken.zip".into(),
        files: Some(1),
        bytes: 10,
    });
    page.send(Event::FilesStaged(Ok(())));
    page.send(Event::Imported(Err(
        "not a readable zip file (broken.zip: no end of central directory)".into(),
    )));
    assert!(matches!(
        &page.model.import.phase,
        Some(ImportPhase::Failed(m)) if m.starts_with("Not a readable zip file")
    ));
    assert_eq!(page.run().label, run);
    assert_eq!(page.model.data_in_use(), DataRef::mnist());

    // Storage full: said so, the preview stays, nothing listed.
    let data = imported(300, true);
    previewed(&mut page, &data);
    page.send(Event::UseImportClicked);
    let effects = page.send(Event::ImportKept(Err(
        "the browser's storage for this site is full".into(),
    )));
    assert!(effects.is_empty());
    assert_eq!(
        page.model.status.import,
        "Not stored: the browser's storage for this site is full."
    );
    assert!(matches!(
        page.model.import.phase,
        Some(ImportPhase::Preview(_))
    ));
    assert!(page.model.datasets.stored.is_empty());

    // Stored, but the workers refuse it: the data in use stays MNIST, the run stays.
    page.send(Event::UseImportClicked);
    page.send(Event::ImportKept(Ok(info("digits", 2))));
    let effects = page.send(Event::DataSwitched(Err("no worker is running".into())));
    assert!(effects.is_empty());
    assert_eq!(page.model.data_in_use(), DataRef::mnist());
    assert!(matches!(page.model.data, DataState::Ready(_)));
    assert_eq!(page.run().label, run);
    assert!(page.model.can_train());

    // Cancel closes the worker; nothing was stored by the import.
    previewed(&mut page, &data);
    assert_eq!(page.send(Event::ImportCancelled), [Effect::CloseImport]);
    assert_eq!(page.model.import.phase, None);
}

#[test]
fn unlabelled_images_are_refused_for_a_model_that_draws_the_digit_asked_for() {
    let mut page = Page::ready();
    let effects = page.edit("model", "conditional");
    page.ack(&effects);
    let data = imported(300, false);
    previewed(&mut page, &data);
    assert!(page.send(Event::UseImportClicked).is_empty());
    assert!(
        page.model
            .status
            .import
            .starts_with("These images have no labels"),
        "{}",
        page.model.status.import
    );
    // A stored unlabelled dataset likewise.
    page.send(Event::DatasetsListed(Ok(vec![info("drawings", 0)])));
    assert!(
        page.send(Event::UseData(info("drawings", 0).data_ref()))
            .is_empty()
    );
    assert!(page.model.datasets.status.contains("has no labels"));
}

#[test]
fn stored_datasets_are_used_renamed_and_deleted_but_not_the_one_in_use() {
    let mut page = Page::ready();
    let stored = info("digits", 10);
    page.send(Event::DatasetsListed(Ok(vec![stored.clone()])));
    assert_eq!(stored.counts_text(), "300 images, 10 labels");
    let effects = page.send(Event::UseData(stored.data_ref()));
    assert!(effects.ends_with(&[Effect::SwitchData {
        to: stored.data_ref()
    }]));
    let effects = page.send(Event::DataSwitched(Ok(summary_of(stored.data_ref()))));
    page.ack(&effects);
    assert_eq!(page.model.data_in_use().sha256.as_deref(), Some(HASH));
    // In use: not deleted.
    assert!(page.send(Event::DeleteDataset(HASH.into())).is_empty());
    // Renamed: the list and the data in use follow; a blank name is refused.
    assert_eq!(
        page.send(Event::RenameDataset {
            sha256: HASH.into(),
            name: "  my   digits ".into()
        }),
        [Effect::RenameDataset {
            sha256: HASH.into(),
            name: "my digits".into()
        }]
    );
    assert_eq!(page.model.data_in_use().name, "my digits");
    assert!(
        page.send(Event::RenameDataset {
            sha256: HASH.into(),
            name: " ".into()
        })
        .is_empty()
    );
    // Back to MNIST; then it can go.
    page.send(Event::UseData(DataRef::mnist()));
    let effects = page.send(Event::DataSwitched(Ok(summary_of(DataRef::mnist()))));
    page.ack(&effects);
    assert_eq!(
        page.send(Event::DeleteDataset(HASH.into())),
        [Effect::DeleteDataset {
            sha256: HASH.into()
        }]
    );
    page.send(Event::DatasetDeleted {
        sha256: HASH.into(),
        result: Ok(()),
    });
    assert!(page.model.datasets.stored.is_empty());
    assert_eq!(page.model.datasets.status, "Deleted “my digits”.");
}

/// A saved run (the page's [`SAVED_KEY`]) trained on `data`.
fn saved_run_on(page: &mut Page, data: &DataRef) {
    page.with_saved_run();
    let mut listing = page.model.saved.library.runs.clone();
    listing[0].dataset = data.clone();
    page.send(Event::RunsListed(Ok(Listing {
        runs: listing,
        ..Listing::default()
    })));
}

/// The workers have `stored`: the saved run waiting for it is claimed.
fn switched_then_claimed(page: &mut Page, stored: &DatasetInfo) {
    let effects = page.send(Event::DataSwitched(Ok(summary_of(stored.data_ref()))));
    assert_eq!(
        effects,
        [Effect::ClaimRun {
            key: SAVED_KEY.into()
        }]
    );
}

#[test]
fn resuming_a_run_brings_its_data_back_or_asks_for_it_by_name_and_refuses_other_data() {
    let mut page = Page::ready();
    let stored = info("digits", 10);
    saved_run_on(&mut page, &stored.data_ref());

    // Its data is stored: put to use first, then the run is claimed.
    page.send(Event::DatasetsListed(Ok(vec![stored.clone()])));
    let effects = page.send(Event::ResumeRun(SAVED_KEY.into()));
    assert!(effects.ends_with(&[Effect::SwitchData {
        to: stored.data_ref()
    }]));
    switched_then_claimed(&mut page, &stored);

    // Deleted: asked for by name; other images are refused, the same ones resume it.
    let mut page = Page::ready();
    saved_run_on(&mut page, &stored.data_ref());
    assert!(page.send(Event::ResumeRun(SAVED_KEY.into())).is_empty());
    assert_eq!(
        page.model.status.saved,
        "“Run 1” trained on “digits”, which is no longer stored in this browser: add the same images again (Add data…) to resume it."
    );
    let data = imported(300, true);
    previewed(&mut page, &data);
    let effects = page.send(Event::UseImportClicked);
    assert_eq!(
        effects,
        [Effect::KeepImport {
            data: data.clone(),
            name: "digits".into(),
            expect: Some(stored.data_ref())
        }]
    );
    // (The effect compares the SHA-256 and refuses.)
    page.send(Event::ImportKept(Err(
        "these are not the images of “digits” the run trained on (their SHA-256 differs)".into(),
    )));
    assert!(
        page.model
            .status
            .import
            .starts_with("Not stored: these are not the images")
    );
    assert_eq!(page.model.data_in_use(), DataRef::mnist());
    page.send(Event::UseImportClicked);
    let effects = page.send(Event::ImportKept(Ok(stored.clone())));
    assert!(effects.ends_with(&[Effect::SwitchData {
        to: stored.data_ref()
    }]));
    switched_then_claimed(&mut page, &stored);
}

#[test]
fn an_import_is_named_after_its_folder_or_file() {
    assert_eq!(name_of_import("digits/"), "digits");
    assert_eq!(name_of_import("fashion.zip"), "fashion");
    assert_eq!(
        name_of_import("train-images-idx3-ubyte.gz"),
        "train-images-idx3-ubyte"
    );
    assert_eq!(name_of_import("a/b/c.png"), "c");
    assert_eq!(name_of_import(".zip"), "My images");
    let few = imported(3, false);
    assert_eq!(preview_images(&few.0).len(), 3 * 784);
}

#[test]
fn nothing_installs_while_the_data_switches_and_a_resume_that_fails_leaves_a_run_on_the_new_data() {
    let mut page = Page::ready();
    let stored = info("digits", 10);
    page.send(Event::DatasetsListed(Ok(vec![stored.clone()])));
    page.send(Event::UseData(stored.data_ref()));
    // While the workers get the data: no Reset, no other path, no second switch.
    assert!(!page.model.can_install());
    page.train_epochs(0);
    assert!(page.send(Event::ResetClicked).is_empty());
    assert!(
        page.send(Event::PathPicked(PathPreference::Force(
            ComputePath::WebGpu
        )))
        .is_empty()
    );
    assert!(page.send(Event::UseData(DataRef::mnist())).is_empty());
    let effects = page.send(Event::DataSwitched(Ok(summary_of(stored.data_ref()))));
    page.ack(&effects);
    assert!(page.model.can_train());

    // A saved run on MNIST: its data comes back, then claiming it fails — a fresh run on MNIST
    // replaces the one on "digits", which could not train there.
    saved_run_on(&mut page, &DataRef::mnist());
    let effects = page.send(Event::ResumeRun(SAVED_KEY.into()));
    assert!(effects.ends_with(&[Effect::SwitchData {
        to: DataRef::mnist()
    }]));
    // Use during that switch is refused and the resume still waits.
    assert!(page.send(Event::UseData(stored.data_ref())).is_empty());
    let effects = page.send(Event::DataSwitched(Ok(summary_of(DataRef::mnist()))));
    assert_eq!(
        effects,
        [Effect::ClaimRun {
            key: SAVED_KEY.into()
        }]
    );
    let effects = page.send(Event::RunClaimed {
        key: SAVED_KEY.into(),
        result: Err("it is open in another tab".into()),
    });
    assert!(
        matches!(effects.last(), Some(Effect::Create { .. })),
        "{effects:?}"
    );
    page.ack(&effects);
    assert_eq!(page.run().label.data, DataRef::mnist());
    assert!(page.model.can_train());
}

#[test]
fn a_run_waiting_for_its_data_is_forgotten_on_cancel_and_drops_that_fail_are_said() {
    let mut page = Page::ready();
    let stored = info("digits", 10);
    saved_run_on(&mut page, &stored.data_ref());
    page.send(Event::ResumeRun(SAVED_KEY.into()));
    assert!(page.model.import.wanted.is_some());
    let data = imported(300, true);
    previewed(&mut page, &data);
    page.send(Event::ImportCancelled);
    assert_eq!(page.model.import.wanted, None);
    // The next import is new data, not the run's.
    previewed(&mut page, &data);
    assert!(matches!(
        &page.send(Event::UseImportClicked)[..],
        [Effect::KeepImport { expect: None, .. }]
    ));
    // Stored again under another name: the new listing replaces the old.
    page.send(Event::DatasetsListed(Ok(vec![info("old name", 10)])));
    page.send(Event::ImportKept(Ok(info("digits", 10))));
    let names: Vec<&str> = page
        .model
        .datasets
        .stored
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names, ["digits"]);

    // A drop that cannot be read: said in place of the preview, not in place of an import
    // under way.
    page.send(Event::FilesPicked {
        name: "more/".into(),
        files: Some(2),
        bytes: 10,
    });
    assert!(
        page.send(Event::DropFailed("the folder is gone".into()))
            .is_empty()
    );
    assert!(matches!(
        page.model.import.phase,
        Some(ImportPhase::Reading { .. })
    ));
    assert_eq!(page.model.status.import, "The folder is gone");
    page.send(Event::ImportCancelled);
    page.send(Event::DropFailed("the folder is gone".into()));
    assert_eq!(
        page.model.import.phase,
        Some(ImportPhase::Failed("The folder is gone".into()))
    );
}

#[test]
fn folders_named_without_labels_count_as_unlabelled() {
    let mut twelve = info("letters", 12);
    twelve.labelled = false;
    assert_eq!(twelve.counts_text(), "300 images, unlabelled");
}
