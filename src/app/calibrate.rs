//! The automatic choice that measures ([`crate::calibration`]): with "automatic" on a hardware
//! WebGPU adapter, the page trains on the CPU path while its group times a few steps of each
//! path, then moves to the faster one; the figures are remembered per adapter and settings, and
//! "Measure again" forgets them.

use crate::app::effect::Effect;
use crate::app::{Model, RunPhase};
use crate::calibration::{Calibration, CalibrationKey, CalibrationStore};
use crate::path::{ComputePath, GpuProbe, PathPreference};

/// The calibrations remembered, and the one under way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeasureState {
    /// What the browser's local storage holds.
    pub store: CalibrationStore,
    /// The adapter and settings being measured, once asked for.
    pub measuring: Option<CalibrationKey>,
    /// Whether the group was asked to measure (it needs a started path and the images).
    pub asked: bool,
}

impl Model {
    /// The key the automatic choice measures for now: "automatic", on a hardware adapter, with
    /// valid settings. `None`: the rules of [`crate::path::choose_path`] decide alone.
    pub fn calibration_key(&self) -> Option<CalibrationKey> {
        let Some(GpuProbe::Adapter(info)) = &self.path.probe else {
            return None;
        };
        let config = self.settings.parsed().as_ref().ok()?;
        (self.path.preference == PathPreference::Auto && !info.is_software()).then(|| {
            let workers = self.path.workers.wanted();
            CalibrationKey::new(info, config.model, config.batch_size, workers)
        })
    }

    /// Whether "Measure again" can run now: a calibration applies, none is under way, no run is
    /// training or moving, and the CPU path can be timed on the workers asked for.
    pub fn can_measure_again(&self) -> bool {
        self.calibration_key().is_some()
            && self.path.measure.measuring.is_none()
            && matches!(
                self.phase,
                RunPhase::Idle | RunPhase::Paused(_) | RunPhase::Finished | RunPhase::Loading
            )
            && (self.has_wanted_group() || !self.run_started())
    }

    /// Whether the running group (if any) has the CPU workers asked for.
    fn has_wanted_group(&self) -> bool {
        self.path
            .group
            .is_none_or(|n| n == self.path.workers.wanted())
    }

    fn run_started(&self) -> bool {
        self.run.as_ref().is_some_and(|run| run.started)
    }

    /// The remembered result for `key`, or a calibration started on a group of the CPU
    /// workers asked for (the CPU path trains meanwhile: it is there on every machine).
    pub(super) fn measured_choice(
        &mut self,
        key: CalibrationKey,
        effects: &mut Vec<Effect>,
    ) -> Option<crate::path::PathChoice> {
        if let Some(calibration) = self.path.measure.store.find(&key) {
            return Some(calibration.choice());
        }
        if !self.has_wanted_group() {
            if self.run_started() || self.path.starting.is_some() || self.pending.is_some() {
                // Timing other workers than those asked for would be remembered wrongly, and a
                // new group now would cost the run under way (or race the one being installed):
                // the rules decide this time.
                return self
                    .path
                    .probe
                    .as_ref()
                    .map(|probe| crate::path::choose_path(probe, self.path.preference));
            }
            self.pause_for_change(effects);
            self.drop_group(effects);
            self.path.active = None;
        }
        if self.path.measure.measuring.as_ref() != Some(&key) {
            self.path.measure.measuring = Some(key);
            self.path.measure.asked = false;
        }
        self.path.reason =
            "measuring WebGPU and the CPU on this machine (a few seconds)".to_string();
        if self.path.active != Some(ComputePath::Cpu) && self.path.starting.is_none() {
            self.start_path(ComputePath::Cpu, effects);
        }
        self.ask_to_measure(effects);
        None
    }

    /// Asks the group to measure, once it runs with the images.
    pub(super) fn ask_to_measure(&mut self, effects: &mut Vec<Effect>) {
        let measure = &mut self.path.measure;
        let (Some(key), false) = (&measure.measuring, measure.asked) else {
            return;
        };
        let ready = self.path.active.is_some()
            && self.path.starting.is_none()
            && matches!(self.data, crate::app::DataState::Ready(_));
        if !ready {
            return;
        }
        let Ok(config) = self.settings.parsed().clone() else {
            return;
        };
        measure.asked = true;
        effects.push(Effect::Calibrate {
            key: key.clone(),
            config,
        });
    }

    /// Both paths measured: remembered, and the faster one chosen.
    pub(super) fn calibrated(&mut self, calibration: Calibration, effects: &mut Vec<Effect>) {
        let awaited = self.path.measure.measuring.as_ref() == Some(&calibration.key);
        if calibration.webgpu.is_err() && calibration.cpu.is_err() {
            // Nothing learned (a worker stopped, say): not remembered; the CPU path stays.
            if awaited {
                self.path.measure.measuring = None;
                self.path.reason = calibration.choice().reason;
            }
            return;
        }
        let chosen = calibration.chosen;
        self.path.measure.store.remember(calibration);
        effects.push(Effect::StoreCalibrations(self.path.measure.store.to_json()));
        if awaited {
            self.path.measure.measuring = None;
            // Measured on a group already on WebGPU (its path started before "automatic" was
            // asked for): the path stays, its kernel changes.
            let on_webgpu = self.path.active == Some(ComputePath::WebGpu)
                || self.path.starting == Some(ComputePath::WebGpu);
            if let (true, Some(products)) = (on_webgpu, chosen) {
                effects.push(Effect::UseProducts(products));
            }
            self.choose_path(effects);
        }
    }

    /// "Measure again": forgets this adapter's figures for these settings and measures anew.
    pub(super) fn measure_again(&mut self, effects: &mut Vec<Effect>) {
        if !self.can_measure_again() {
            return;
        }
        if let Some(key) = self.calibration_key() {
            self.path.measure.store.forget(&key);
            effects.push(Effect::StoreCalibrations(self.path.measure.store.to_json()));
            self.choose_path(effects);
        }
    }
}
