//! The group of workers behind the run: starting a path on it, and a new group when the number
//! of CPU workers asked for changes (at once before a run starts, else at the next Reset).

use crate::app::Model;
use crate::app::effect::Effect;
use crate::path::ComputePath;

impl Model {
    /// Starts `path` on the running group, or on a new one: as many workers as wanted for the
    /// CPU, one for WebGPU.
    pub(super) fn start_path(&mut self, path: ComputePath, effects: &mut Vec<Effect>) {
        let workers = self.path.group.unwrap_or(match path {
            ComputePath::Cpu => self.path.workers.wanted(),
            ComputePath::WebGpu => 1,
        });
        self.path.starting = Some(path);
        let products = match path {
            ComputePath::WebGpu => self.calibration_key().and_then(|key| {
                let calibration = self.path.measure.store.find(&key)?;
                calibration.chosen
            }),
            ComputePath::Cpu => None,
        };
        effects.push(Effect::StartPath {
            path,
            workers,
            products,
        });
    }

    /// Drops the group of workers (and the trainer it holds).
    pub(super) fn drop_group(&mut self, effects: &mut Vec<Effect>) {
        self.path.group = None;
        effects.push(Effect::DropWorker);
    }

    /// A new CPU group of the wanted size in place of the running one, for a fresh run, when
    /// the sizes differ and nothing is being installed; false when there is nothing to do.
    pub(super) fn regroup(&mut self, effects: &mut Vec<Effect>) -> bool {
        let wanted = self.path.workers.wanted();
        if self.path.active != Some(ComputePath::Cpu)
            || self.path.group == Some(wanted)
            || self.path.starting.is_some()
            || self.pending.is_some()
            || !self.can_install()
        {
            return false;
        }
        self.pause_for_change(effects);
        self.drop_group(effects);
        self.path.active = None;
        self.start_path(ComputePath::Cpu, effects);
        true
    }

    /// The "CPU workers" menu: a new group at once while no run has started, else from the
    /// next run.
    pub(super) fn workers_picked(&mut self, chosen: Option<usize>, effects: &mut Vec<Effect>) {
        self.path.workers.chosen = chosen;
        let started = self.run.as_ref().is_some_and(|run| run.started);
        let wanted = self.path.workers.wanted();
        if self.path.active == Some(ComputePath::Cpu) && self.path.group != Some(wanted) {
            if started {
                self.status.settings =
                    format!("{wanted} CPU workers from the next run (Reset starts one).");
            } else {
                self.regroup(effects);
            }
        }
    }
}
