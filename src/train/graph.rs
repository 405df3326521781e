//! A training step on a GPU recorded once and replayed (issue 11).
//!
//! On WebGPU the host's part of a step is Burn's and CubeCL's work per kernel launch: the ops,
//! the autodiff tape, each launch's arguments, a bind group per launch (BENCHMARKS.md). Burn's
//! capture records a step's launches once, with all of that resolved; a replay only encodes
//! them again. A replay reads and writes the buffers the capture saw, so:
//! - the state (flat parameters, optimizer slots) is updated in its own buffers
//!   (`optim::flat::step_layers`), and the step reads the flat parameters, not copies an
//!   earlier step made (`recut`);
//! - the inputs (the batch, the noise, Adam's step size) are written into fixed buffers before
//!   each replay;
//! - the outputs (the statistics) are copied out after each replay, since a caller may read
//!   them after the next step is queued;
//! - a step of another shape (an epoch's short last batch) runs normally and the capture is
//!   made again, as it is for a new `Gan` (loaded weights, another path, a lost device).
//!
//! `burn::tensor::capture` does the same sequence but waits on the device between its warm-up
//! runs, which the browser cannot do; here the warm-up runs are the previous steps.

use burn::module::ParamId;
use burn::tensor::{Device, Tensor, TensorData};
use burn_backend::Backend as _;
use burn_dispatch::{Dispatch, DispatchGraph};

use super::{Gan, StepStats, TrainError};
use crate::optim::{FlatBackup, copy_of};

/// Steps run normally between preparing the device and capturing: the first after the
/// preparation allocates what a step needs in the emptied pools, the second finds it there, so
/// the capture (which may not allocate) finds it too.
const WARM_UP_STEPS: usize = 2;

/// One step's inputs, as plain (non-autodiff) device tensors.
#[derive(Debug, Clone)]
pub(super) struct StepInputs {
    pub(super) real: Tensor<2>,
    pub(super) noise: Tensor<2>,
    /// The generator's Adam step size (`KerasAdam::next_alpha`), `[1]`.
    pub(super) alpha: Tensor<1>,
    /// The discriminator's Adam step size (0 for RMSprop), `[1]`.
    pub(super) discriminator_alpha: Tensor<1>,
    /// A conditional model's one-hot labels: the real rows', the fake rows'.
    pub(super) labels: Option<(Tensor<2>, Tensor<2>)>,
}

impl StepInputs {
    /// What a capture is made for: the real and noise rows, and whether labels come with them.
    fn rows(&self) -> [usize; 3] {
        [
            self.real.dims()[0],
            self.noise.dims()[0],
            usize::from(self.labels.is_some()),
        ]
    }

    /// Copies in buffers of their own, which nothing else holds: refreshed in place.
    fn fixed(&self) -> Self {
        Self {
            real: copy_of(&self.real),
            noise: copy_of(&self.noise),
            alpha: copy_of(&self.alpha),
            discriminator_alpha: copy_of(&self.discriminator_alpha),
            labels: self
                .labels
                .as_ref()
                .map(|(real, fake)| (copy_of(real), copy_of(fake))),
        }
    }

    /// Writes `new` into these buffers (each is held only here, so it is written in place).
    fn refresh(&mut self, new: Self) {
        fn write<const D: usize>(fixed: &mut Tensor<D>, new: Tensor<D>) {
            let ranges = new.dims().map(|n| 0..n);
            fixed.inplace(|f| f.slice_assign(ranges, new));
        }
        write(&mut self.real, new.real);
        write(&mut self.noise, new.noise);
        write(&mut self.alpha, new.alpha);
        write(&mut self.discriminator_alpha, new.discriminator_alpha);
        if let (Some((real, fake)), Some((new_real, new_fake))) = (&mut self.labels, new.labels) {
            write(real, new_real);
            write(fake, new_fake);
        }
    }
}

/// A device prepared for a capture; unwound when dropped without capturing (the device
/// refuses another preparation while one is open).
#[derive(Debug)]
pub(super) struct Prepared(Option<Device>);

impl Prepared {
    fn new(device: &Device) -> Option<Self> {
        match Dispatch::graph_prepare(device.as_dispatch()) {
            Ok(()) => Some(Self(Some(device.clone()))),
            Err(e) => {
                log::debug!("the device refused to prepare a capture: {e:?}");
                None
            }
        }
    }

    /// Opens the recording; from here the window is closed by `graph_stop_capture`.
    fn begin(mut self) -> bool {
        let Some(device) = self.0.take() else {
            return false;
        };
        Dispatch::graph_start_capture(device.as_dispatch())
            .inspect_err(|e| log::debug!("the device refused to begin a capture: {e:?}"))
            .is_ok()
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(device) = self.0.take() {
            // Closing a window that never opened unwinds the preparation; the error it
            // returns says only that no graph came of it.
            let _ = Dispatch::graph_stop_capture(device.as_dispatch());
        }
    }
}

/// A captured step and what its replays read and write besides the state.
pub(super) struct Captured {
    graph: DispatchGraph,
    device: Device,
    /// The fixed input buffers.
    inputs: StepInputs,
    /// The output buffers.
    stats: StepStats,
    /// Constants the step read (the loss columns), kept alive for the replays.
    _constants: (Tensor<2>, Tensor<2>),
    /// The parameters it was captured for.
    ids: Vec<ParamId>,
}

/// A capture under way: the device prepared, and what the warm-up steps hold as the capture
/// will. The capture may not allocate, so the steps before it run with the same buffers alive
/// as it will have: the fixed inputs and a copy of the state (`Gan::device_step`).
pub(super) struct Warming {
    left: usize,
    prepared: Prepared,
    fixed: StepInputs,
    backups: (FlatBackup, FlatBackup),
}

/// Captures a device refuses before its trainer stops asking: a refusal costs a normal step
/// and a copy of the state, and usually means something else held the room the capture needed
/// at that moment.
const MAX_CAPTURE_FAILURES: usize = 3;

/// A `Gan`'s replays: whether they are on, and where its device steps stand with capturing.
#[derive(Debug)]
pub(super) struct Replay {
    pub(super) enabled: bool,
    failures: usize,
    state: Capture,
}

impl Default for Replay {
    fn default() -> Self {
        Self {
            enabled: true,
            failures: 0,
            state: Capture::Idle,
        }
    }
}

impl Replay {
    /// Whether steps of the current shapes replay a captured graph.
    pub(super) fn is_ready(&self) -> bool {
        matches!(self.state, Capture::Ready(_))
    }

    /// Drops whatever was captured or prepared.
    pub(super) fn reset(&mut self) {
        self.state = Capture::Idle;
    }
}

/// Where a `Gan`'s device steps stand with capturing.
#[derive(Default)]
enum Capture {
    /// No capture under way: the next step prepares one.
    #[default]
    Idle,
    /// Prepared; `left` more normal steps of these shapes, then the capture. (A device holds
    /// one preparation at a time.)
    Warming(Box<Warming>),
    /// Captured: steps of these shapes replay it.
    Ready(Box<Captured>),
    /// Captures failed on this device `MAX_CAPTURE_FAILURES` times: every step runs normally.
    Off,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Idle => write!(f, "Idle"),
            Self::Warming(w) => {
                write!(f, "Warming({} left, rows {:?})", w.left, w.fixed.rows())
            }
            Self::Ready(c) => write!(f, "Ready(rows {:?})", c.inputs.rows()),
            Self::Off => write!(f, "Off"),
        }
    }
}

fn copied(stats: &StepStats) -> StepStats {
    StepStats {
        d_loss: copy_of(&stats.d_loss),
        g_loss: copy_of(&stats.g_loss),
        d_real: copy_of(&stats.d_real),
        d_fake: copy_of(&stats.d_fake),
    }
}

fn replay_error(e: impl std::fmt::Debug) -> TrainError {
    TrainError::Read(format!("replaying the captured step failed: {e:?}"))
}

impl Gan {
    /// Copies of both optimizers' device state.
    fn backups(&self) -> (FlatBackup, FlatBackup) {
        (
            self.discriminator_optim.backup(),
            self.generator_optim.backup(),
        )
    }

    /// The parameters' ids, discriminator then generator.
    fn param_ids(&self) -> Vec<ParamId> {
        self.discriminator
            .layers
            .iter()
            .chain(&self.generator.layers)
            .flat_map(|l| [l.kernel.id, l.bias.id])
            .collect()
    }

    /// One step on a GPU, replayed where a capture of its shapes is ready (see the module).
    pub(super) fn device_step(
        &mut self,
        real: Tensor<2>,
        noise: Tensor<2>,
        labels: Option<super::Labels>,
    ) -> Result<StepStats, TrainError> {
        let device = self.device.clone().inner();
        let alpha = |optimizer: &crate::optim::Optimizer| {
            Tensor::from_data(TensorData::new(vec![optimizer.next_alpha()], [1]), &device)
        };
        let inputs = StepInputs {
            real: real.inner(),
            noise: noise.inner(),
            alpha: alpha(&self.generator_optim),
            discriminator_alpha: alpha(&self.discriminator_optim),
            labels: labels.map(|l| (l.real.inner(), l.fake.inner())),
        };
        let rows = inputs.rows();
        if !self.replay.enabled {
            return self.step_with(inputs, false);
        }
        match std::mem::take(&mut self.replay.state) {
            Capture::Ready(mut captured) if captured.inputs.rows() == rows => {
                if captured.ids != self.param_ids() {
                    // The layers were replaced: the graph's state is not theirs.
                    drop(captured);
                    return self.prepare_and_step(inputs, &device);
                }
                captured.inputs.refresh(inputs);
                // SAFETY: every buffer the capture read or wrote is alive: the state is held by
                // the optimizers and layers (the ids above say they are the captured ones, and
                // only a normal step, after which there is no graph, moves them); the inputs,
                // outputs and constants by `captured`; the step's intermediates lie on pages
                // the graph guards. Everything runs on this one device's stream, in order.
                unsafe { Dispatch::graph_replay(captured.device.as_dispatch(), &captured.graph) }
                    .map_err(replay_error)?;
                *self.generator_optim.iterations_mut() += 1;
                *self.discriminator_optim.iterations_mut() += 1;
                let stats = copied(&captured.stats);
                self.replay.state = Capture::Ready(captured);
                Ok(stats)
            }
            Capture::Warming(mut warming) if warming.fixed.rows() == rows => {
                warming.fixed.refresh(inputs.clone());
                // The new copy first, then the old one goes: the room this step finds is the
                // room the last one had.
                warming.backups = self.backups();
                if warming.left == 0 {
                    return self.capture_step(inputs, *warming, &device);
                }
                let stats = self.step_with(warming.fixed.clone(), true)?;
                warming.left -= 1;
                self.replay.state = Capture::Warming(warming);
                Ok(stats)
            }
            Capture::Off => {
                self.replay.state = Capture::Off;
                self.step_with(inputs, false)
            }
            // The first step, or one of other shapes: whatever was captured or prepared is
            // dropped first (a preparation unwinds, or the next would be refused), and a
            // capture for these shapes begins.
            other => {
                drop(other);
                self.prepare_and_step(inputs, &device)
            }
        }
    }

    fn prepare_and_step(
        &mut self,
        inputs: StepInputs,
        device: &Device,
    ) -> Result<StepStats, TrainError> {
        let Some(prepared) = Prepared::new(device) else {
            // Refused while another trainer's capture is open on this device: the next step
            // asks again.
            self.replay.state = Capture::Idle;
            return self.step_with(inputs, false);
        };
        let fixed = inputs.fixed();
        let backups = self.backups();
        let stats = self.step_with(fixed.clone(), true)?;
        self.replay.state = Capture::Warming(Box::new(Warming {
            left: WARM_UP_STEPS - 1,
            prepared,
            fixed,
            backups,
        }));
        Ok(stats)
    }

    /// Records this step, then replays it once to run it. A recording the device refuses
    /// runs nothing and makes what it wrote unreadable, so the state copied before it is put
    /// back and the step runs normally; the next step prepares again, up to
    /// `MAX_CAPTURE_FAILURES` refusals.
    fn capture_step(
        &mut self,
        inputs: StepInputs,
        warming: Warming,
        device: &Device,
    ) -> Result<StepStats, TrainError> {
        let Warming {
            prepared,
            fixed,
            backups,
            ..
        } = warming;
        let constants = self.loss_columns.held();
        if !prepared.begin() {
            self.replay.state = Capture::Idle;
            return self.step_with(inputs, false);
        }
        let recorded = self.step_with(fixed.clone(), true);
        let graph = Dispatch::graph_stop_capture(device.as_dispatch());
        match (recorded, graph, constants) {
            (Ok(stats), Ok(graph), Some(constants)) => {
                let captured = Captured {
                    graph,
                    device: device.clone(),
                    inputs: fixed,
                    stats,
                    _constants: constants,
                    ids: self.param_ids(),
                };
                // SAFETY: as in `device_step`; nothing has run since the capture.
                unsafe { Dispatch::graph_replay(device.as_dispatch(), &captured.graph) }
                    .map_err(replay_error)?;
                let stats = copied(&captured.stats);
                self.replay.state = Capture::Ready(Box::new(captured));
                Ok(stats)
            }
            (recorded, graph, _) => {
                log::warn!(
                    "capturing the training step failed ({:?}); this step runs normally",
                    recorded.err().or(graph.err().map(replay_error))
                );
                let (discriminator, generator) = backups;
                self.discriminator_optim
                    .restore(discriminator, &mut self.discriminator.layers);
                self.generator_optim
                    .restore(generator, &mut self.generator.layers);
                self.loss_columns = Default::default();
                self.replay.failures += 1;
                self.replay.state = if self.replay.failures < MAX_CAPTURE_FAILURES {
                    Capture::Idle
                } else {
                    Capture::Off
                };
                self.step_with(inputs, false)
            }
        }
    }
}
