//! The page's handle on its trainers: a group of workers ([`TrainerWorker`]), each on this same
//! wasm module. A CPU run trains on every worker as replicas (each takes a shard of every
//! batch; the workers exchange their gradients among themselves through message ports, never
//! through this thread); a WebGPU run, on the first worker alone. Commands that change a
//! replica go to every worker, in the same order, and their answers must agree; queries (the
//! grid, a weights file, a score) go to the first. A calibration of the CPU path runs on every
//! worker, as training would. Dropping the group stops every worker.

use std::cell::Cell;
use std::rc::{Rc, Weak};

use js_sys::Array;
use web_sys::MessageChannel;

use super::client::{Requests, SpawnError, TrainerWorker};
use super::dom::js_message;
use crate::protocol::{Command, Reply, TrainerError, trains_on_every_worker};
use crate::session::Pending;
use crate::shard::ShardPlace;

/// Workers that train one run together.
pub struct TrainerGroup {
    workers: Vec<Rc<TrainerWorker>>,
    /// Whether the installed run trains on every worker (set once every worker has it).
    replicated: Rc<Cell<bool>>,
}

/// Where a command goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// The first worker.
    First,
    /// Every worker; the first one's answer, once all agree.
    Every,
}

impl TrainerGroup {
    /// Starts `count` workers (at least one) and, for more than one, connects each pair with
    /// a message channel.
    pub fn spawn(count: usize) -> Result<Rc<Self>, SpawnError> {
        let workers = (0..count.max(1))
            .map(|_| TrainerWorker::spawn())
            .collect::<Result<Vec<_>, _>>()?;
        if workers.len() > 1 {
            connect(&workers).map_err(|e| SpawnError::new(e.to_string()))?;
        }
        Ok(Rc::new(Self {
            workers,
            replicated: Rc::new(Cell::new(false)),
        }))
    }

    /// Workers in the group.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Always false: a group has at least one worker.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Calls `on_stop` with the reason when any worker stops.
    pub fn set_on_stop(&self, on_stop: impl Fn(&str) + 'static) {
        let on_stop = Rc::new(on_stop);
        for worker in &self.workers {
            let on_stop = on_stop.clone();
            worker.set_on_stop(move |reason| on_stop(reason));
        }
    }

    /// Why a worker stopped, once one has.
    pub fn failure(&self) -> Option<String> {
        self.workers.iter().find_map(|w| w.failure())
    }

    fn route(&self, command: &Command) -> Route {
        let every = match command {
            Command::Data { .. } => true,
            Command::Create { path, .. }
            | Command::Load { path, .. }
            | Command::Calibrate { path, .. } => trains_on_every_worker(*path, self.len()),
            Command::SetLive { .. } | Command::Step | Command::Checksum => self.replicated.get(),
            _ => false,
        };
        if every { Route::Every } else { Route::First }
    }

    /// Destroys the first worker's WebGPU device, as a driver reset would (tests recovery).
    #[cfg(feature = "test-hooks")]
    pub fn lose_gpu_device(&self) {
        self.workers[0].lose_gpu_device();
    }
}

impl Requests for TrainerGroup {
    /// Sends a command where it belongs (see [`TrainerGroup`]). A replicated step is checked:
    /// every worker's report must be the same, and after each epoch every replica's checksum.
    fn request(&self, command: Command) -> Pending<Result<Reply, TrainerError>> {
        let route = self.route(&command);
        let first = &self.workers[0];
        if route == Route::First {
            let installs_alone = matches!(command, Command::Create { .. } | Command::Load { .. });
            let reply = first.request(command);
            let replicated = self.replicated.clone();
            return Box::pin(async move {
                let reply = reply.await?;
                if installs_alone {
                    replicated.set(false);
                }
                Ok(reply)
            });
        }
        let installs = matches!(command, Command::Create { .. } | Command::Load { .. });
        let is_step = command == Command::Step;
        // Replicas time the same steps, each on its own clock: their timings differ a little.
        let must_agree = !matches!(command, Command::Calibrate { .. });
        let replies: Vec<_> = self
            .workers
            .iter()
            .map(|w| w.request(command.clone()))
            .collect();
        // Weak: a dropped group stops its workers even while an answer is awaited.
        let workers: Vec<Weak<TrainerWorker>> = self.workers.iter().map(Rc::downgrade).collect();
        let replicated = self.replicated.clone();
        Box::pin(async move {
            let mut answers = Vec::with_capacity(replies.len());
            for reply in replies {
                answers.push(reply.await?);
            }
            let first = answers.remove(0);
            if let Some(i) = answers
                .iter()
                .position(|a| a != &first && (must_agree || a.name() != first.name()))
            {
                return Err(TrainerError::Replicas(format!(
                    "worker {} answered {} unlike worker 1",
                    i + 2,
                    answers[i].name()
                )));
            }
            if installs {
                replicated.set(true);
            }
            if is_step
                && let Reply::Step(report) = &first
                && let Some(epoch) = report.finished_epoch
            {
                check_checksums(&workers, epoch).await?;
            }
            Ok(first)
        })
    }
}

/// Every replica's fingerprint after `epoch`: all must be equal.
async fn check_checksums(
    workers: &[Weak<TrainerWorker>],
    epoch: usize,
) -> Result<(), TrainerError> {
    let replies = workers
        .iter()
        .map(|w| {
            w.upgrade()
                .map(|w| w.request(Command::Checksum))
                .ok_or_else(|| TrainerError::Worker("the workers were stopped".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut sums = Vec::with_capacity(replies.len());
    for reply in replies {
        match reply.await? {
            Reply::Checksum(sum) => sums.push(sum),
            other => return Err(other.unexpected()),
        }
    }
    if sums.iter().any(|s| s != &sums[0]) {
        return Err(TrainerError::Replicas(format!(
            "after epoch {epoch} their weights differ: {}",
            sums.join(", ")
        )));
    }
    Ok(())
}

/// Gives each worker its place and one end of a channel to every other worker.
fn connect(workers: &[Rc<TrainerWorker>]) -> Result<(), TrainerError> {
    let count = workers.len();
    let ports: Vec<Array> = (0..count).map(|_| Array::new()).collect();
    for i in 0..count {
        for j in i + 1..count {
            let channel =
                MessageChannel::new().map_err(|e| TrainerError::Worker(js_message(&e)))?;
            ports[i].push(&channel.port1());
            ports[j].push(&channel.port2());
        }
    }
    for (index, (worker, ports)) in workers.iter().zip(&ports).enumerate() {
        let place = ShardPlace::new(index, count)
            .ok_or_else(|| TrainerError::Worker(format!("{count} workers are too many")))?;
        worker.join(place, ports)?;
    }
    Ok(())
}
