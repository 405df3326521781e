//! A group of worker hosts training one run as replicas, natively: the hosts exchange their
//! parts through an in-memory mailbox as the browser's workers do through message ports, and
//! each answers exactly what one host alone would.
#![allow(clippy::unwrap_used)]

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use common::{CpuThread, block_on};
use mnist_gan_web::TrainingConfig;
use mnist_gan_web::path::ComputePath;
use mnist_gan_web::protocol::{Command, Reply, StepReport, TrainerError};
use mnist_gan_web::session::{Exchange, Host, Pending};
use mnist_gan_web::shard::{ShardGradients, ShardPlace};
use serde_bytes::ByteBuf;

/// Parts posted so far, by step, one slot per replica.
type Mailbox = Rc<RefCell<HashMap<u64, Vec<Option<ShardGradients>>>>>;

/// One replica's thread: the CPU backend and its place in the group.
struct Replica {
    place: ShardPlace,
    mailbox: Mailbox,
}

impl Exchange for Replica {
    fn place(&self) -> ShardPlace {
        self.place
    }

    fn exchange(&self, mine: ShardGradients) -> Pending<Result<Vec<ShardGradients>, TrainerError>> {
        let (step, count) = (mine.step, self.place.count);
        self.mailbox
            .borrow_mut()
            .entry(step)
            .or_insert_with(|| vec![None; count])[self.place.index] = Some(mine);
        let mailbox = self.mailbox.clone();
        Box::pin(std::future::poll_fn(move |_| {
            let mailbox = mailbox.borrow();
            let parts = &mailbox[&step];
            match parts.iter().cloned().collect::<Option<Vec<_>>>() {
                Some(all) => Poll::Ready(Ok(all)),
                None => Poll::Pending,
            }
        }))
    }
}

/// A group of `count` hosts sharing one mailbox (a lone host when `count` is 1).
fn group(count: usize) -> Vec<(Host, CpuThread)> {
    let mailbox = Mailbox::default();
    (0..count)
        .map(|index| {
            let replica = (count > 1).then(|| {
                Rc::new(Replica {
                    place: ShardPlace::new(index, count).unwrap(),
                    mailbox: mailbox.clone(),
                })
            });
            (
                Host::default(),
                CpuThread(replica.map(|r| r as Rc<dyn Exchange>)),
            )
        })
        .collect()
}

/// Starts `command` on every host of the group, then completes all the answers together.
fn send_all(hosts: &mut [(Host, CpuThread)], command: &Command) -> Vec<Reply> {
    let mut pending: Vec<Pin<Box<dyn Future<Output = Reply>>>> = hosts
        .iter_mut()
        .map(|(host, thread)| host.start(command.clone(), thread))
        .collect();
    let mut answers: Vec<Option<Reply>> = vec![None; pending.len()];
    let mut context = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        for (future, answer) in pending.iter_mut().zip(answers.iter_mut()) {
            if answer.is_none()
                && let Poll::Ready(reply) = future.as_mut().poll(&mut context)
            {
                *answer = Some(reply);
            }
        }
        if answers.iter().all(Option::is_some) {
            return answers.into_iter().map(Option::unwrap).collect();
        }
    }
    panic!("the group never completed {command:?}");
}

/// Batch 16 over 40 images: batches of 16, 16 and 8 (the last smaller, as MNIST's), k = 2.
fn config() -> TrainingConfig {
    TrainingConfig {
        batch_size: 16,
        epochs: 3,
        k: 2,
        snapshot_every: 1,
        ..TrainingConfig::default()
    }
}

/// The 40 images.
fn images() -> Command {
    let count = 40;
    let pixels: Vec<u8> = (0..count * 784).map(|i| (i * 29 % 253) as u8).collect();
    Command::Data {
        count,
        pixels: ByteBuf::from(pixels),
        labels: Some(ByteBuf::from(
            (0..count).map(|i| (i % 10) as u8).collect::<Vec<_>>(),
        )),
        source: Default::default(),
    }
}

fn setup(count: usize) -> Vec<(Host, CpuThread)> {
    let mut hosts = group(count);
    for reply in send_all(&mut hosts, &images()) {
        assert_eq!(reply, Reply::Done);
    }
    let create = Command::Create {
        config: config(),
        path: ComputePath::Cpu,
    };
    for reply in send_all(&mut hosts, &create) {
        assert_eq!(reply, Reply::Done);
    }
    hosts
}

fn step_reports(hosts: &mut [(Host, CpuThread)]) -> Vec<StepReport> {
    send_all(hosts, &Command::Step)
        .into_iter()
        .map(|reply| match reply {
            Reply::Step(report) => report,
            other => panic!("{other:?}"),
        })
        .collect()
}

fn checksums(hosts: &mut [(Host, CpuThread)]) -> Vec<Reply> {
    send_all(hosts, &Command::Checksum)
}

fn assert_close(a: &StepReport, b: &StepReport, tolerance: f32) {
    let (x, y) = (a.values, b.values);
    for (p, q) in [
        (x.d_loss, y.d_loss),
        (x.g_loss, y.g_loss),
        (x.d_real, y.d_real),
        (x.d_fake, y.d_fake),
    ] {
        assert!((p - q).abs() <= tolerance, "{p} vs {q}");
    }
    assert_eq!(a.finished_epoch, b.finished_epoch);
    assert_eq!(a.snapshot.is_some(), b.snapshot.is_some());
}

#[test]
fn three_replicas_answer_as_one_host_and_stay_identical() {
    let mut alone = setup(1);
    let mut replicas = setup(3);
    assert!(replicas[0].0.is_replica() && !alone[0].0.is_replica());
    assert!(replicas[1].0.is_barrier(&Command::Step));
    // Four batches cross the first epoch's end (and its snapshot) with the smaller last batch.
    for _ in 0..4 {
        let single = step_reports(&mut alone).remove(0);
        let group = step_reports(&mut replicas);
        assert!(
            group.iter().all(|report| report == &group[0]),
            "replicas differ"
        );
        assert_close(&group[0], &single, 1e-5);
        let sums = checksums(&mut replicas);
        assert!(matches!(sums[0], Reply::Checksum(_)));
        assert!(sums.iter().all(|s| s == &sums[0]), "{sums:?}");
    }
    assert_ne!(checksums(&mut alone)[0], checksums(&mut replicas)[0]);
    let progress = replicas[2].0.session().unwrap().trainer.progress;
    assert_eq!((progress.epoch, progress.batch, progress.step), (1, 1, 8));
}

#[test]
fn a_group_checkpoint_goes_on_in_one_host() {
    let mut replicas = setup(2);
    step_reports(&mut replicas);
    step_reports(&mut replicas);
    let weights = match send_all(&mut replicas, &Command::Capture { checked: true }).remove(0) {
        Reply::Weights(bytes) => bytes,
        other => panic!("{other:?}"),
    };
    let mut alone = group(1);
    let (host, thread) = &mut alone[0];
    let load = Command::Load {
        weights,
        fallback: config(),
        path: ComputePath::Cpu,
    };
    assert_eq!(block_on(host.start(load, thread)), Reply::Done);
    assert_eq!(block_on(host.start(images(), thread)), Reply::Done);
    let single = step_reports(&mut alone).remove(0);
    let group = step_reports(&mut replicas).remove(0);
    assert_close(&single, &group, 1e-5);
}

#[test]
fn a_webgpu_run_in_a_group_trains_alone_and_a_missing_part_never_completes() {
    // The routing rule: only the CPU path trains on every worker.
    use mnist_gan_web::protocol::trains_on_every_worker;
    assert!(trains_on_every_worker(ComputePath::Cpu, 2));
    assert!(!trains_on_every_worker(ComputePath::Cpu, 1));
    assert!(!trains_on_every_worker(ComputePath::WebGpu, 4));
    // One replica of two steps alone: its step waits for the other's part.
    let mut replicas = setup(2);
    let (host, thread) = &mut replicas[0];
    let mut step = host.start(Command::Step, thread);
    let mut context = Context::from_waker(Waker::noop());
    for _ in 0..10 {
        assert!(step.as_mut().poll(&mut context).is_pending());
    }
}

#[test]
fn a_group_times_the_cpu_path_as_replicas_and_its_run_goes_on() {
    let mut replicas = setup(2);
    step_reports(&mut replicas);
    let before = checksums(&mut replicas);
    let calibrate = Command::Calibrate {
        config: config(),
        path: ComputePath::Cpu,
        warm_up: 1,
        steps: 2,
        products: None,
    };
    for reply in send_all(&mut replicas, &calibrate) {
        let Reply::Timing(ms) = reply else {
            panic!("{reply:?}")
        };
        assert!(ms.is_finite() && ms > 0.0, "{ms}");
    }
    assert_eq!(
        checksums(&mut replicas),
        before,
        "the replicas' run is untouched"
    );
    let group = step_reports(&mut replicas);
    assert!(group.iter().all(|report| report == &group[0]));
}
