//! The page's model driven as the runtime drives it, for the tests of `app`.
#![allow(dead_code)]

use mnist_gan_web::app::library::{Listing, RunSummary};
use mnist_gan_web::app::saved::SavedRun;
use mnist_gan_web::app::timing::FrameWork;
use mnist_gan_web::app::{DataRef, DataSummary, Effect, Event, Model, Run, RunPhase};
use mnist_gan_web::calibration::{Calibration, CalibrationKey, CalibrationStore, ProductTiming};
use mnist_gan_web::matmul::Products;
use mnist_gan_web::model::ModelKind;
use mnist_gan_web::path::{AdapterInfo, ComputePath, CpuWorkers, GpuProbe, PathPreference};
use mnist_gan_web::protocol::StepReport;
use mnist_gan_web::quality::reference::{ReferenceCurve, reference_curve};
use mnist_gan_web::train::{Progress, StepValues, Trainer};
use mnist_gan_web::{Checkpoint, TrainingConfig};
use serde_bytes::ByteBuf;

/// The tab id the page boots with.
pub const TAB: &str = "tab";
/// The key of the saved run of [`Page::with_saved_run`].
pub const SAVED_KEY: &str = "other-7";

/// 1,000 images at batch 256: four batches per epoch.
pub const IMAGES: usize = 1000;
pub const BATCHES: usize = 4;

pub fn hardware() -> GpuProbe {
    GpuProbe::Adapter(AdapterInfo {
        vendor: "nvidia".into(),
        architecture: "ampere".into(),
        ..AdapterInfo::default()
    })
}

/// What [`hardware`] measured: WebGPU `webgpu` ms/step, the CPU path `cpu` ms/step, with
/// the default settings on `workers` CPU workers.
pub fn measured(webgpu: f64, cpu: f64, workers: usize) -> CalibrationStore {
    let GpuProbe::Adapter(info) = hardware() else {
        unreachable!("hardware() is an adapter")
    };
    let config = TrainingConfig::default();
    let key = CalibrationKey::new(&info, config.model, config.batch_size, workers);
    let mut store = CalibrationStore::default();
    store.remember(calibration(key, Ok(webgpu), Ok(cpu)));
    store
}

/// What a calibration measured for `key` with WebGPU's products through CubeCL's kernel alone
/// (a hardware adapter's own): WebGPU's figure is that kernel's.
pub fn calibration(
    key: CalibrationKey,
    webgpu: Result<f64, String>,
    cpu: Result<f64, String>,
) -> Calibration {
    let products = vec![ProductTiming {
        products: Products::Burns,
        ms: webgpu,
    }];
    Calibration::measured(key, products, cpu, Products::Burns)
}

pub fn software() -> GpuProbe {
    GpuProbe::Adapter(AdapterInfo {
        vendor: "google".into(),
        architecture: "swiftshader".into(),
        ..AdapterInfo::default()
    })
}

pub fn values(loss: f32) -> StepValues {
    StepValues {
        d_loss: loss,
        g_loss: 0.7,
        d_real: 0.6,
        d_fake: 0.4,
    }
}

/// A weights file of a real trainer at `progress`.
pub fn weights_at(config: TrainingConfig, progress: Progress) -> Vec<u8> {
    let mut trainer = Trainer::new(config, &super::device()).unwrap();
    trainer.progress = progress;
    super::block_on(Checkpoint::capture(&trainer))
        .unwrap()
        .to_bytes()
}

/// Every model's committed reference curve (the page fetches them at start-up).
pub fn references() -> Vec<(ModelKind, ReferenceCurve)> {
    ModelKind::ALL
        .into_iter()
        .filter_map(|model| Some((model, reference_curve(model)?.expect("a readable curve"))))
        .collect()
}

/// The page's model with a clock, driven as the runtime drives it.
pub struct Page {
    pub model: Model,
    pub now: f64,
}

impl Page {
    /// Just booted with `preference`, on `cores` cores, remembering `calibrations`.
    pub fn booted(
        preference: PathPreference,
        cores: usize,
        calibrations: CalibrationStore,
    ) -> Self {
        let (model, _) = Model::boot(preference, CpuWorkers::new(cores), calibrations, TAB);
        let mut page = Page { model, now: 0.0 };
        page.send(Event::ReferencesLoaded(references()));
        page
    }

    pub fn send(&mut self, event: Event) -> Vec<Effect> {
        self.now += 10.0;
        self.model.update(event, self.now)
    }

    /// Booted on the CPU path (a software adapter), MNIST loaded, the first trainer made.
    pub fn ready() -> Self {
        let (model, effects) = Model::boot(
            PathPreference::Auto,
            CpuWorkers::new(2),
            CalibrationStore::default(),
            TAB,
        );
        assert_eq!(
            effects,
            [
                Effect::ProbeGpu,
                Effect::LoadData,
                Effect::ListRuns,
                Effect::ListDatasets,
                Effect::LoadReferences
            ]
        );
        assert_eq!(model.phase, RunPhase::Loading);
        let mut page = Page { model, now: 0.0 };
        page.send(Event::ReferencesLoaded(references()));
        assert_eq!(
            page.send(Event::GpuProbed(software())),
            [Effect::StartPath {
                path: ComputePath::Cpu,
                workers: 1,
                products: None,
            }]
        );
        let created = page.send(Event::PathStarted {
            workers: 1,
            path: ComputePath::Cpu,
            result: Ok(()),
        });
        assert!(
            matches!(created[..], [Effect::Create { .. }]),
            "{created:?}"
        );
        assert!(
            page.model.run.is_none(),
            "no run before the worker acknowledges it"
        );
        page.ack(&created);
        assert_eq!(
            page.model.phase,
            RunPhase::Loading,
            "MNIST is not there yet"
        );
        page.send(Event::DataLoaded(Ok(DataSummary {
            source: DataRef::mnist(),
            count: IMAGES,
            held_out: 0,
            first_label: 5,
            first_image: vec![0; 784],
        })));
        assert_eq!(page.model.phase, RunPhase::Idle);
        assert!(page.model.can_train());
        page
    }

    pub fn run(&self) -> &Run {
        self.model.run.as_ref().expect("a run on screen")
    }

    pub fn run_id(&self) -> u64 {
        self.run().id
    }

    /// The step of the grid shown.
    pub fn shown_step(&self) -> u64 {
        self.run().grid.shown.as_ref().expect("a grid").0
    }

    /// Acknowledges the install among `effects`.
    pub fn ack(&mut self, effects: &[Effect]) -> Vec<Effect> {
        let run = effects
            .iter()
            .find_map(|e| match e {
                Effect::Create { run, .. } | Effect::Load { run, .. } => Some(*run),
                _ => None,
            })
            .expect("an install");
        self.send(Event::TrainerReady {
            run,
            result: Ok(()),
        })
    }

    pub fn frame(&mut self) -> Vec<Effect> {
        self.send(Event::Frame(FrameWork::default()))
    }

    pub fn step_done(&mut self, loss: f32, finished_epoch: Option<usize>) -> Vec<Effect> {
        let run = self.run_id();
        self.send(Event::StepDone {
            run,
            result: Ok(StepReport {
                values: values(loss),
                finished_epoch,
                snapshot: finished_epoch.map(|epoch| (epoch, vec![0.0; 784])),
            }),
        })
    }

    /// Trains whole epochs: frames enqueue steps, each comes back.
    pub fn train_epochs(&mut self, epochs: usize) -> Vec<Effect> {
        let mut all = Vec::new();
        if self.model.phase != RunPhase::Running {
            self.send(Event::TrainClicked);
        }
        let target = self.run().progress.epoch + epochs;
        let mut done = self.run().record.history.len();
        while self.run().record.history.len() < target * BATCHES {
            let effects = self.frame();
            let steps = effects
                .iter()
                .filter(|e| matches!(e, Effect::Step { .. }))
                .count();
            all.extend(effects);
            for _ in 0..steps {
                done += 1;
                let finished = done.is_multiple_of(BATCHES).then_some(done / BATCHES);
                all.extend(self.step_done(1.0, finished));
            }
        }
        all
    }

    pub fn pause(&mut self) {
        assert_eq!(self.model.phase, RunPhase::Running);
        self.send(Event::TrainClicked);
    }

    pub fn edit(&mut self, field: &'static str, text: &str) -> Vec<Effect> {
        self.send(Event::SettingEdited {
            field,
            text: text.into(),
        })
    }

    /// A saved run of a real trainer at epoch 1, listed at start-up (its key is [`SAVED_KEY`]).
    pub fn with_saved_run(&mut self) -> SavedRun {
        let progress = Progress {
            epoch: 1,
            batch: 0,
            step: BATCHES as u64,
        };
        let saved = SavedRun {
            weights: ByteBuf::from(weights_at(TrainingConfig::default(), progress)),
            epoch: 1,
            step: BATCHES as u64,
            history: SavedRun::encode_history(&[values(1.0); BATCHES]),
            snapshots: SavedRun::encode_snapshots(&[(1, vec![0.5; 784])]),
            saved_at: 1000.0,
        };
        let summary = RunSummary::of(SAVED_KEY, "Run 1", &TrainingConfig::default(), &saved);
        self.send(Event::RunsListed(Ok(Listing {
            runs: vec![summary],
            ..Listing::default()
        })));
        saved
    }

    /// The saved run resumed: listed, claimed for this tab, read, installed.
    pub fn resume_saved_run(&mut self) -> SavedRun {
        let saved = self.with_saved_run();
        let effects = self.send(Event::ResumeRun(SAVED_KEY.into()));
        assert_eq!(
            effects,
            [Effect::ClaimRun {
                key: SAVED_KEY.into()
            }]
        );
        let effects = self.send(Event::RunClaimed {
            key: SAVED_KEY.into(),
            result: Ok(saved.clone()),
        });
        assert!(
            matches!(effects.last(), Some(Effect::Load { .. })),
            "{effects:?}"
        );
        let effects = self.ack(&effects);
        assert!(
            effects.contains(&Effect::ReleaseRun {
                key: format!("{TAB}-1")
            }),
            "the fresh run it replaces is let go: {effects:?}"
        );
        saved
    }
}
