//! The automatic choice that measures: the rule that compares the two paths' timings, the
//! calibrations remembered per adapter and settings, and the page's flow around them.
#![allow(clippy::unwrap_used)]

mod common;

use common::page::*;
use mnist_gan_web::app::{DataSummary, Effect, Event, RunPhase};
use mnist_gan_web::calibration::{
    Calibration, CalibrationKey, CalibrationStore, MAX_REMEMBERED, ProductTiming, TIE_MARGIN,
    choose_products,
};
use mnist_gan_web::matmul::Products;
use mnist_gan_web::model::ModelKind;
use mnist_gan_web::path::{AdapterInfo, ComputePath, PathPreference};

fn adapter(vendor: &str) -> AdapterInfo {
    AdapterInfo {
        vendor: vendor.into(),
        architecture: "some-gpu".into(),
        ..AdapterInfo::default()
    }
}

fn key(vendor: &str, batch_size: usize, cpu_workers: usize) -> CalibrationKey {
    CalibrationKey::new(
        &adapter(vendor),
        ModelKind::Tutorial,
        batch_size,
        cpu_workers,
    )
}

fn timed(webgpu: Result<f64, &str>, cpu: Result<f64, &str>) -> Calibration {
    Calibration {
        key: key("nvidia", 256, 2),
        webgpu: webgpu.map_err(str::to_string),
        cpu: cpu.map_err(str::to_string),
        products: Vec::new(),
        chosen: None,
    }
}

#[test]
fn the_faster_path_wins_and_the_page_says_both_figures() {
    let choice = timed(Ok(9.0), Ok(35.0)).choice();
    assert_eq!(choice.path, ComputePath::WebGpu);
    assert_eq!(
        choice.reason,
        "WebGPU 9.0 ms/step, CPU (2 workers) 35.0 ms/step: training on WebGPU"
    );
    let choice = timed(Ok(48.5), Ok(30.25)).choice();
    assert_eq!(choice.path, ComputePath::Cpu);
    assert_eq!(
        choice.reason,
        "WebGPU 48.5 ms/step, CPU (2 workers) 30.2 ms/step: training on the CPU"
    );
}

#[test]
fn the_fastest_product_kernel_is_chosen_and_the_adapters_own_keeps_a_tie() {
    let timing = |products, ms: Result<f64, &str>| ProductTiming {
        products,
        ms: ms.map_err(str::to_string),
    };
    let timings = |burns, tiled, split| {
        vec![
            timing(Products::Burns, burns),
            timing(Products::RegisterTiled, tiled),
            timing(Products::SplitDepth, split),
        ]
    };
    let choose = |t: &[ProductTiming], default| choose_products(t, default);
    assert_eq!(
        choose(&timings(Ok(3.0), Ok(2.0), Ok(2.5)), Products::Burns),
        Some(Products::RegisterTiled)
    );
    // The adapter's own kernel keeps its place within the margin, not beyond it.
    let within = 2.0 * (1.0 + TIE_MARGIN) - 1e-9;
    let beyond = 2.0 * (1.0 + TIE_MARGIN) + 1e-6;
    assert_eq!(
        choose(&timings(Ok(within), Ok(2.0), Ok(2.5)), Products::Burns),
        Some(Products::Burns)
    );
    assert_eq!(
        choose(&timings(Ok(beyond), Ok(2.0), Ok(2.5)), Products::Burns),
        Some(Products::RegisterTiled)
    );
    assert_eq!(
        choose(
            &timings(Ok(3.0), Ok(within), Ok(2.0)),
            Products::RegisterTiled
        ),
        Some(Products::RegisterTiled)
    );
    // A kernel that failed, or timed nothing sensible, is not chosen; none at all: no choice.
    assert_eq!(
        choose(
            &timings(Ok(3.0), Err("lost"), Ok(f64::NAN)),
            Products::RegisterTiled
        ),
        Some(Products::Burns)
    );
    assert_eq!(
        choose(&timings(Err("a"), Err("b"), Ok(0.0)), Products::Burns),
        None
    );

    // The calibration's WebGPU figure is its chosen kernel's; with none, the first error.
    let measured = Calibration::measured(
        key("nvidia", 256, 2),
        timings(Ok(3.0), Ok(2.0), Err("lost")),
        Ok(5.0),
        Products::Burns,
    );
    assert_eq!(
        (measured.webgpu, measured.chosen),
        (Ok(2.0), Some(Products::RegisterTiled))
    );
    let failed = Calibration::measured(
        key("nvidia", 256, 2),
        timings(Err("no device"), Err("b"), Err("c")),
        Ok(5.0),
        Products::Burns,
    );
    assert_eq!(
        (failed.webgpu.clone(), failed.chosen),
        (Err("no device".to_string()), None)
    );
    assert_eq!(failed.choice().path, ComputePath::Cpu);
}

#[test]
fn a_calibration_stored_before_product_kernels_is_measured_again() {
    // Today's text, then the same less the fields that came with the product kernels.
    let mut store = CalibrationStore::default();
    let measured = |adapter| {
        let products = vec![ProductTiming {
            products: Products::Burns,
            ms: Ok(6.0),
        }];
        Calibration::measured(key(adapter, 256, 2), products, Ok(40.0), Products::Burns)
    };
    store.remember(measured("nvidia"));
    store.remember(measured("amd"));
    assert_eq!(CalibrationStore::from_json(&store.to_json()), store);
    let mut json: serde_json::Value = serde_json::from_str(&store.to_json()).unwrap();
    let entry = json["entries"][0].as_object_mut().unwrap();
    assert!(entry.remove("products").is_some() && entry.remove("chosen").is_some());
    let read = CalibrationStore::from_json(&json.to_string());
    assert!(read.find(&key("nvidia", 256, 2)).is_none(), "{read:?}");
    assert!(read.find(&key("amd", 256, 2)).is_some(), "{read:?}");
}

#[test]
fn a_tie_keeps_webgpu_and_beyond_the_margin_the_cpu_wins() {
    assert_eq!(timed(Ok(20.0), Ok(20.0)).choice().path, ComputePath::WebGpu);
    let within = 20.0 * (1.0 + TIE_MARGIN) - 1e-9;
    assert_eq!(
        timed(Ok(within), Ok(20.0)).choice().path,
        ComputePath::WebGpu
    );
    let beyond = 20.0 * (1.0 + TIE_MARGIN) + 1e-6;
    assert_eq!(timed(Ok(beyond), Ok(20.0)).choice().path, ComputePath::Cpu);
}

#[test]
fn a_path_that_failed_loses_and_both_failing_leaves_the_cpu() {
    let choice = timed(Err("the device was lost"), Ok(35.0)).choice();
    assert_eq!(choice.path, ComputePath::Cpu);
    assert!(
        choice.reason.contains("the device was lost"),
        "{}",
        choice.reason
    );
    let choice = timed(Ok(40.0), Err("the worker stopped")).choice();
    assert_eq!(choice.path, ComputePath::WebGpu);
    assert!(
        choice.reason.contains("the worker stopped"),
        "{}",
        choice.reason
    );
    let choice = timed(Err("a"), Err("b")).choice();
    assert_eq!(choice.path, ComputePath::Cpu);
    assert!(choice.reason.contains("neither path"), "{}", choice.reason);
    // A timing that is no time at all counts as a failure, not as infinitely fast.
    for nonsense in [0.0, -3.0, f64::NAN, f64::INFINITY] {
        let choice = timed(Ok(nonsense), Ok(35.0)).choice();
        assert_eq!(choice.path, ComputePath::Cpu, "{nonsense}");
    }
}

#[test]
fn a_calibration_counts_only_for_its_adapter_settings_and_build() {
    let mut store = CalibrationStore::default();
    store.remember(calibration(key("nvidia", 256, 2), Ok(9.0), Ok(35.0)));
    assert!(store.find(&key("nvidia", 256, 2)).is_some());
    assert!(store.find(&key("amd", 256, 2)).is_none(), "another adapter");
    assert!(
        store.find(&key("nvidia", 128, 2)).is_none(),
        "another batch size"
    );
    assert!(
        store.find(&key("nvidia", 256, 4)).is_none(),
        "other CPU workers"
    );
    let other_build = CalibrationKey {
        build: "0.0.0-other".into(),
        ..key("nvidia", 256, 2)
    };
    assert!(store.find(&other_build).is_none(), "another build");
    let other_model = CalibrationKey {
        model: ModelKind::Sharp,
        ..key("nvidia", 256, 2)
    };
    assert!(store.find(&other_model).is_none(), "another model");

    // A new measurement replaces the old one for its key; the oldest go beyond the limit.
    store.remember(calibration(key("nvidia", 256, 2), Ok(50.0), Ok(35.0)));
    assert_eq!(store.entries.len(), 1);
    assert_eq!(
        store.find(&key("nvidia", 256, 2)).unwrap().choice().path,
        ComputePath::Cpu
    );
    for workers in 1..=MAX_REMEMBERED {
        store.remember(calibration(key("amd", 256, workers), Ok(1.0), Ok(2.0)));
    }
    assert_eq!(store.entries.len(), MAX_REMEMBERED);
    assert!(
        store.find(&key("nvidia", 256, 2)).is_none(),
        "the oldest went"
    );

    // Through its text and back; unreadable text is an empty store.
    assert_eq!(CalibrationStore::from_json(&store.to_json()), store);
    assert_eq!(
        CalibrationStore::from_json("{not json"),
        CalibrationStore::default()
    );
    store.forget(&key("amd", 256, 1));
    assert!(store.find(&key("amd", 256, 1)).is_none());
}

fn loaded() -> Event {
    Event::DataLoaded(Ok(DataSummary {
        source: mnist_gan_web::app::DataRef::mnist(),
        count: IMAGES,
        held_out: 0,
        first_label: 5,
        first_image: vec![0; 784],
    }))
}

fn cpu_started(workers: usize) -> Event {
    Event::PathStarted {
        path: ComputePath::Cpu,
        workers,
        result: Ok(()),
    }
}

/// Boots with `store` on a hardware adapter; returns the page and the probe's effects.
fn boot(store: CalibrationStore) -> (Page, Vec<Effect>) {
    let mut page = Page::booted(PathPreference::Auto, 2, store);
    let effects = page.send(Event::GpuProbed(hardware()));
    (page, effects)
}

/// The measurement the page asked for.
fn calibrate_effect(effects: &[Effect]) -> Option<(CalibrationKey, usize)> {
    effects.iter().find_map(|e| match e {
        Effect::Calibrate { key, config } => Some((key.clone(), config.batch_size)),
        _ => None,
    })
}

#[test]
fn measured_on_a_group_already_on_webgpu_the_path_stays_and_its_kernel_changes() {
    let mut page = Page::booted(
        PathPreference::Force(ComputePath::WebGpu),
        2,
        CalibrationStore::default(),
    );
    assert_eq!(
        page.send(Event::GpuProbed(hardware())),
        [Effect::StartPath {
            path: ComputePath::WebGpu,
            workers: 1,
            products: None,
        }]
    );
    // "Automatic" while WebGPU starts: that start goes on, and its group is measured.
    let picked = page.send(Event::PathPicked(PathPreference::Auto));
    assert!(
        !picked.iter().any(|e| matches!(e, Effect::StartPath { .. })),
        "{picked:?}"
    );
    let started = page.send(Event::PathStarted {
        path: ComputePath::WebGpu,
        workers: 1,
        result: Ok(()),
    });
    page.ack(&started);
    let effects = page.send(loaded());
    let (key, _) = calibrate_effect(&effects).expect("measured once MNIST is there");
    let products = vec![
        ProductTiming {
            products: Products::Burns,
            ms: Ok(9.0),
        },
        ProductTiming {
            products: Products::SplitDepth,
            ms: Ok(5.0),
        },
    ];
    let calibration = Calibration::measured(key, products, Ok(40.0), Products::Burns);
    let effects = page.send(Event::Calibrated(calibration));
    assert!(
        effects.contains(&Effect::UseProducts(Products::SplitDepth)),
        "{effects:?}"
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::StartPath { .. })),
        "{effects:?}"
    );
    assert_eq!(page.model.path.active, Some(ComputePath::WebGpu));
}

#[test]
fn a_hardware_adapter_is_measured_once_the_cpu_group_has_the_images() {
    let (mut page, effects) = boot(CalibrationStore::default());
    // The CPU path starts (it works everywhere) and the page says it is measuring.
    assert_eq!(
        effects,
        [Effect::StartPath {
            path: ComputePath::Cpu,
            workers: 1,
            products: None,
        }]
    );
    assert!(page.model.path.measure.measuring.is_some());
    let created = page.send(cpu_started(1));
    assert!(calibrate_effect(&created).is_none(), "no images yet");
    page.ack(&created);
    let effects = page.send(loaded());
    let (key, batch) = calibrate_effect(&effects).expect("measured once MNIST is there");
    assert_eq!(batch, 256);
    assert_eq!(key.cpu_workers, 1);
    assert_eq!(page.model.phase, RunPhase::Idle);
    assert!(!page.model.can_train(), "not while measuring");
    assert!(!page.model.can_measure_again());
    assert!(page.send(Event::TrainClicked).is_empty());

    // WebGPU is faster, with the register tiles for its products: remembered, and the run
    // moves to WebGPU on the same group, its products through the kernel measured fastest.
    let timing = |products, ms: Result<f64, &str>| ProductTiming {
        products,
        ms: ms.map_err(str::to_string),
    };
    let products = vec![
        timing(Products::Burns, Ok(9.5)),
        timing(Products::RegisterTiled, Ok(6.0)),
        timing(Products::SplitDepth, Err("the device was lost")),
    ];
    let calibration = Calibration::measured(key.clone(), products, Ok(40.0), Products::Burns);
    assert_eq!(calibration.chosen, Some(Products::RegisterTiled));
    let effects = page.send(Event::Calibrated(calibration));
    let Some(Effect::StoreCalibrations(json)) = effects.first() else {
        panic!("{effects:?}")
    };
    let stored = CalibrationStore::from_json(json);
    assert!(stored.find(&key).is_some());
    assert_eq!(
        effects[1..],
        [Effect::StartPath {
            path: ComputePath::WebGpu,
            workers: 1,
            products: Some(Products::RegisterTiled),
        }]
    );
    assert!(
        page.model
            .path
            .reason
            .contains("WebGPU 6.0 ms/step with register tiles"),
        "{}",
        page.model.path.reason
    );
    assert!(page.model.path.measure.measuring.is_none());
    assert!(page.model.can_measure_again());

    // A reload finds the figures: WebGPU at once with the same kernel, nothing measured.
    let (page, effects) = boot(stored);
    assert_eq!(
        effects,
        [Effect::StartPath {
            path: ComputePath::WebGpu,
            workers: 1,
            products: Some(Products::RegisterTiled),
        }]
    );
    assert!(page.model.path.measure.measuring.is_none());
}

#[test]
fn the_cpu_measured_faster_stays_and_measure_again_forgets() {
    let (mut page, _) = boot(measured(80.0, 35.0, 1));
    let created = page.send(cpu_started(1));
    page.ack(&created);
    page.send(loaded());
    assert_eq!(page.model.path.active, Some(ComputePath::Cpu));
    assert!(page.model.can_train());
    assert!(page.model.path.reason.contains("training on the CPU"));

    let effects = page.send(Event::MeasureAgainClicked);
    let Some(Effect::StoreCalibrations(json)) = effects.first() else {
        panic!("{effects:?}")
    };
    assert_eq!(CalibrationStore::from_json(json).entries, []);
    let (key, _) = calibrate_effect(&effects).expect("measured again at once");
    assert!(!page.model.can_train());
    // Nothing learned (both failed): nothing remembered, the CPU path trains.
    let effects = page.send(Event::Calibrated(Calibration {
        key,
        webgpu: Err("the worker stopped".into()),
        cpu: Err("the worker stopped".into()),
        products: Vec::new(),
        chosen: None,
    }));
    assert!(effects.is_empty(), "{effects:?}");
    assert!(page.model.can_train());
    assert!(page.model.path.reason.contains("neither path"));
}

#[test]
fn figures_for_other_settings_or_no_measurement_at_all() {
    // Measured with 4 CPU workers; this page wants 1: measured anew.
    let (page, _) = boot(measured(5.0, 35.0, 4));
    assert!(page.model.path.measure.measuring.is_some());

    // A software adapter, or a path the user chose, is never measured.
    let mut page = Page::booted(PathPreference::Auto, 2, CalibrationStore::default());
    page.send(Event::GpuProbed(software()));
    assert!(page.model.calibration_key().is_none());
    assert!(page.model.path.measure.measuring.is_none());
    let mut page = Page::booted(
        PathPreference::Force(ComputePath::WebGpu),
        2,
        CalibrationStore::default(),
    );
    let effects = page.send(Event::GpuProbed(hardware()));
    assert_eq!(
        effects,
        [Effect::StartPath {
            path: ComputePath::WebGpu,
            workers: 1,
            products: None,
        }]
    );
    assert!(page.model.calibration_key().is_none());
    assert!(!page.model.can_measure_again());

    // Choosing "automatic" again measures.
    let (mut page, _) = boot(CalibrationStore::default());
    page.send(Event::PathPicked(PathPreference::Force(ComputePath::Cpu)));
    assert!(page.model.path.measure.measuring.is_none());
    page.send(Event::PathPicked(PathPreference::Auto));
    assert!(page.model.path.measure.measuring.is_some());
    // A result for a measurement no longer awaited is remembered but chooses nothing.
    let stale = calibration(key("amd", 256, 1), Ok(1.0), Ok(2.0));
    let effects = page.send(Event::Calibrated(stale));
    assert!(
        matches!(effects[..], [Effect::StoreCalibrations(_)]),
        "{effects:?}"
    );
    assert!(page.model.path.measure.measuring.is_some());
}

/// Remembered: WebGPU faster with 3 CPU workers (4 cores). A reload trains on WebGPU in a new
/// group of one worker, MNIST loaded.
fn on_remembered_webgpu() -> Page {
    let store = measured(5.0, 35.0, 3);
    let mut page = Page::booted(PathPreference::Auto, 4, store);
    page.send(Event::GpuProbed(hardware()));
    let created = page.send(Event::PathStarted {
        path: ComputePath::WebGpu,
        workers: 1,
        result: Ok(()),
    });
    page.ack(&created);
    page.send(loaded());
    page
}

#[test]
fn measuring_again_times_the_cpu_workers_asked_for() {
    let mut page = on_remembered_webgpu();
    assert_eq!(page.model.path.group, Some(1));
    // Before the run starts, measuring again starts a group of the 3 CPU workers asked for.
    let effects = page.send(Event::MeasureAgainClicked);
    assert!(effects.contains(&Effect::DropWorker), "{effects:?}");
    assert!(effects.contains(&Effect::StartPath {
        path: ComputePath::Cpu,
        workers: 3,
        products: None,
    }));
    let created = page.send(cpu_started(3));
    let (key, _) = calibrate_effect(&created).expect("measured on the new group");
    assert_eq!(key.cpu_workers, 3);

    // Once a run has started on that one-worker group, measuring again is not offered.
    let mut page = on_remembered_webgpu();
    page.train_epochs(1);
    page.pause();
    assert!(!page.model.can_measure_again());
    assert!(page.send(Event::MeasureAgainClicked).is_empty());
}
