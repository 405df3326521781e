//! A network's optimizer as its model describes it ([`OptimizerKind`]): Keras' Adam or
//! RMSprop behind one interface, so the step, its capture, the replicas and the weights file
//! treat every model's networks alike.

use burn::tensor::{Gradients, Tensor};

use super::{FlatBackup, FlatSlot, KerasAdam, KerasRmsProp, OptimError};
use crate::config::TrainingConfig;
use crate::model::{Dense, OptimizerKind};

/// One network's optimizer.
#[derive(Debug, Clone)]
pub enum Optimizer {
    /// Keras' Adam.
    Adam(KerasAdam),
    /// Keras' RMSprop.
    RmsProp(KerasRmsProp),
}

impl Optimizer {
    /// A fresh optimizer of `kind` for `layers`, at learning rate `lr` and `config`'s other
    /// settings of that optimizer.
    pub fn new(kind: OptimizerKind, lr: f64, config: &TrainingConfig, layers: &[Dense]) -> Self {
        match kind {
            OptimizerKind::Adam => Self::Adam(KerasAdam::new(
                lr,
                config.adam_beta1,
                config.adam_beta2,
                config.adam_epsilon,
                layers,
            )),
            OptimizerKind::RmsProp => Self::RmsProp(KerasRmsProp::new(
                lr,
                config.rmsprop_rho,
                config.rmsprop_epsilon,
                layers,
            )),
        }
    }

    /// Names of its slots, in order (the weights file's `optim.{net}.{slot}`).
    pub fn slot_names(kind: OptimizerKind) -> &'static [&'static str] {
        match kind {
            OptimizerKind::Adam => &KerasAdam::SLOT_NAMES,
            OptimizerKind::RmsProp => &KerasRmsProp::SLOT_NAMES,
        }
    }

    /// Which optimizer it is.
    pub fn kind(&self) -> OptimizerKind {
        match self {
            Self::Adam(_) => OptimizerKind::Adam,
            Self::RmsProp(_) => OptimizerKind::RmsProp,
        }
    }

    /// Steps taken.
    pub fn iterations(&self) -> u64 {
        match self {
            Self::Adam(o) => o.iterations,
            Self::RmsProp(o) => o.iterations,
        }
    }

    /// Steps taken, to set (a loaded file's, a replayed step's).
    pub fn iterations_mut(&mut self) -> &mut u64 {
        match self {
            Self::Adam(o) => &mut o.iterations,
            Self::RmsProp(o) => &mut o.iterations,
        }
    }

    /// Its slots, each flat over the network ([`FlatSlot`]).
    pub fn slots(&self) -> &[FlatSlot] {
        match self {
            Self::Adam(o) => &o.slots,
            Self::RmsProp(o) => &o.slots,
        }
    }

    /// Its slots, to replace (a loaded file's).
    pub fn slots_mut(&mut self) -> &mut Vec<FlatSlot> {
        match self {
            Self::Adam(o) => &mut o.slots,
            Self::RmsProp(o) => &mut o.slots,
        }
    }

    /// The next step's Adam step size ([`KerasAdam::next_alpha`]); RMSprop has none (0).
    pub fn next_alpha(&self) -> f32 {
        match self {
            Self::Adam(o) => o.next_alpha(),
            Self::RmsProp(_) => 0.0,
        }
    }

    /// One step on `layers` with their gradients in `grads`; Adam's step size read from
    /// `alpha` (`[1]`, on the slots' device) when given, as a captured step needs.
    pub fn step(
        &mut self,
        layers: &mut Vec<Dense>,
        grads: &Gradients,
        alpha: Option<Tensor<1>>,
    ) -> Result<(), OptimError> {
        match (self, alpha) {
            (Self::Adam(o), Some(alpha)) => o.step_with_alpha(layers, grads, alpha),
            (Self::Adam(o), None) => o.step(layers, grads),
            (Self::RmsProp(o), _) => o.step(layers, grads),
        }
    }

    /// The same step fused on the CPU backend, from the layers' whole gradient.
    pub fn step_host(&mut self, layers: &mut Vec<Dense>, grads: &[f32]) -> Result<(), OptimError> {
        match self {
            Self::Adam(o) => o.step_host(layers, grads),
            Self::RmsProp(o) => o.step_host(layers, grads),
        }
    }

    /// Makes `layers` fresh views of the flat parameters of the last step.
    pub(crate) fn recut(&self, layers: &mut Vec<Dense>) {
        match self {
            Self::Adam(o) => o.recut(layers),
            Self::RmsProp(o) => o.recut(layers),
        }
    }

    /// A copy of the device state, to put back with `restore`.
    pub(crate) fn backup(&self) -> FlatBackup {
        match self {
            Self::Adam(o) => o.backup(),
            Self::RmsProp(o) => o.backup(),
        }
    }

    /// Puts back the state of `backup`, and makes `layers` views of it.
    pub(crate) fn restore(&mut self, backup: FlatBackup, layers: &mut Vec<Dense>) {
        match self {
            Self::Adam(o) => o.restore(backup, layers),
            Self::RmsProp(o) => o.restore(backup, layers),
        }
    }
}
