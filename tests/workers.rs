//! How many CPU workers train, natively: the default from the machine's cores, the menu (a new
//! group at once before a run starts, from the next run after), a group restarted after a
//! worker stops keeping its size, and WebGPU on one worker.
#![allow(clippy::unwrap_used)]

mod common;

use common::page::*;
use mnist_gan_web::app::{Effect, Event, RunPhase};
use mnist_gan_web::calibration::CalibrationStore;
use mnist_gan_web::matmul::Products;
use mnist_gan_web::path::{ComputePath, CpuWorkers, PathPreference, default_cpu_workers};

fn start(workers: usize) -> Effect {
    Effect::StartPath {
        path: ComputePath::Cpu,
        workers,
        products: None,
    }
}

fn started(workers: usize) -> Event {
    Event::PathStarted {
        path: ComputePath::Cpu,
        workers,
        result: Ok(()),
    }
}

/// The group of `workers` started: it holds no trainer, so a fresh run is made on it.
fn fresh_run_on_new_group(page: &mut Page, workers: usize) {
    let created = page.send(started(workers));
    assert!(
        matches!(created[..], [Effect::Create { .. }]),
        "{created:?}"
    );
    page.ack(&created);
}

#[test]
fn the_default_leaves_the_page_a_core_and_stops_at_four() {
    let defaults: Vec<usize> = [0, 1, 2, 3, 4, 5, 8, 64]
        .iter()
        .map(|&cores| default_cpu_workers(cores))
        .collect();
    assert_eq!(defaults, [1, 1, 1, 2, 3, 4, 4, 4]);
    assert_eq!(CpuWorkers::parse("auto"), Some(None));
    assert_eq!(CpuWorkers::parse(" 2 "), Some(Some(2)));
    for bad in ["0", "9", "two", "-1"] {
        assert_eq!(CpuWorkers::parse(bad), None, "{bad}");
    }
    let chosen = CpuWorkers {
        chosen: Some(6),
        ..CpuWorkers::new(2)
    };
    assert_eq!(
        (chosen.wanted(), chosen.choice_name()),
        (6, "6".to_string())
    );
    assert_eq!(CpuWorkers::new(8).choice_name(), "auto");
}

#[test]
fn a_cpu_group_starts_with_the_wanted_workers_and_webgpu_with_one() {
    let mut page = Page::booted(PathPreference::Auto, 8, CalibrationStore::default());
    assert_eq!(page.send(Event::GpuProbed(software())), [start(4)]);
    let created = page.send(started(4));
    assert!(
        matches!(created[..], [Effect::Create { .. }]),
        "{created:?}"
    );
    assert_eq!(page.model.path.group, Some(4));

    let measured = measured(5.0, 35.0, 4);
    let mut page = Page::booted(PathPreference::Auto, 8, measured);
    assert_eq!(
        page.send(Event::GpuProbed(hardware())),
        [Effect::StartPath {
            path: ComputePath::WebGpu,
            workers: 1,
            products: Some(Products::Burns),
        }]
    );
}

#[test]
fn picking_workers_before_the_run_starts_regroups_at_once() {
    let mut page = Page::ready();
    assert_eq!(page.model.path.group, Some(1));
    let effects = page.send(Event::WorkersPicked(Some(2)));
    assert_eq!(effects, [Effect::CancelFrame, Effect::DropWorker, start(2)]);
    assert_eq!(page.model.path.group, None);
    // The new group holds no trainer: a fresh run is made on it.
    fresh_run_on_new_group(&mut page, 2);
    assert_eq!(page.model.path.group, Some(2));
    assert_eq!(page.model.phase, RunPhase::Idle);
    // The same choice again changes nothing.
    assert!(page.send(Event::WorkersPicked(Some(2))).is_empty());
}

#[test]
fn during_a_run_the_choice_waits_for_reset_and_a_restart_keeps_the_size() {
    let mut page = Page::ready();
    page.train_epochs(1);
    page.pause();
    let effects = page.send(Event::WorkersPicked(Some(3)));
    assert!(effects.is_empty(), "{effects:?}");
    assert!(page.model.status.settings.contains("next run"));
    assert_eq!(page.model.path.group, Some(1));
    // Reset starts the new group, then the fresh run on it.
    let effects = page.send(Event::ResetClicked);
    assert!(effects.contains(&Effect::DropWorker) && effects.contains(&start(3)));
    fresh_run_on_new_group(&mut page, 3);
    assert_eq!(page.run().progress.step, 0);
    // A worker of the group stops: the new group has the same size.
    let effects = page.send(Event::WorkerStopped("gone".into()));
    assert!(effects.contains(&Effect::DropWorker) && effects.contains(&start(3)));
}

#[test]
fn workers_picked_while_a_new_run_installs_apply_once_it_is_in() {
    let mut page = Page::ready();
    // A new batch size sends a fresh run to the worker; the menu changes before it is in.
    let created = page.edit("batch_size", "64");
    assert!(
        matches!(created[..], [Effect::Create { .. }]),
        "{created:?}"
    );
    assert!(page.send(Event::WorkersPicked(Some(2))).is_empty());
    // Once it is in, the group of two starts (and gets a fresh run of its own).
    let effects = page.ack(&created);
    assert!(effects.contains(&Effect::DropWorker), "{effects:?}");
    assert!(effects.contains(&start(2)), "{effects:?}");
    fresh_run_on_new_group(&mut page, 2);
    assert_eq!(page.model.path.group, Some(2));
    assert_eq!(page.run().config.batch_size, 64);
}
