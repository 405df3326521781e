//! Timing a throwaway trainer on one path, for the automatic choice that measures
//! ([`crate::calibration`]).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use super::{Exchange, Pending, TrainerSession, replicated_step};
use crate::data::Dataset;
use crate::protocol::{MAX_IN_FLIGHT, StepReport, TrainerError};

/// The mean time (ms, by `clock`) of `steps` steps of `session` after `warm_up` untimed ones.
/// Alone, steps are kept under way as the page keeps them ([`MAX_IN_FLIGHT`]), so WebGPU's
/// read-back latency overlaps the next steps' recording as it does in training; as a replica,
/// each step waits for the others'.
pub(super) fn time_steps(
    session: TrainerSession,
    data: Rc<Dataset>,
    replicas: Option<Rc<dyn Exchange>>,
    clock: fn() -> f64,
    warm_up: usize,
    steps: usize,
) -> Pending<Result<f64, TrainerError>> {
    let session = Rc::new(RefCell::new(session));
    let window = if replicas.is_some() { 1 } else { MAX_IN_FLIGHT };
    let start_step = move || -> Result<Pending<Result<StepReport, TrainerError>>, TrainerError> {
        match &replicas {
            Some(replicas) => Ok(replicated_step(
                session.clone(),
                data.clone(),
                replicas.clone(),
            )),
            None => session
                .borrow_mut()
                .step(&data)
                .map_err(|e| TrainerError::Refused(e.to_string())),
        }
    };
    Box::pin(async move {
        if steps == 0 {
            return Err(TrainerError::Refused(
                "a calibration times at least one step".into(),
            ));
        }
        for _ in 0..warm_up {
            start_step()?.await?;
        }
        let start = clock();
        let mut under_way = VecDeque::with_capacity(window);
        for _ in 0..steps {
            if under_way.len() == window
                && let Some(oldest) = under_way.pop_front()
            {
                let oldest: Pending<Result<StepReport, TrainerError>> = oldest;
                oldest.await?;
            }
            under_way.push_back(start_step()?);
        }
        for step in under_way {
            step.await?;
        }
        Ok((clock() - start) / steps as f64)
    })
}
