//! What replaying a captured step saves the host (issue 11):
//! `cargo run --release --example graph_replay --features wgpu -- [--batch N] [--steps N]`.
//!
//! The trainer records a GPU step once and replays it (`train::graph`): the replay only
//! encodes and submits the recorded launches, with their pipelines, bindings and bind groups
//! resolved at capture. This times the trainer's step on fixed inputs with replays off, then
//! on, in the same run, each step waited for; the warm-up before the timed replays covers the
//! capture (prepared, warmed up, recorded).
//!
//! Each way prints the wall time per step and each thread's CPU time per step (Linux). The
//! host's part is the main thread's (Burn's ops, the autodiff graph, CubeCL preparing each
//! launch) and CubeCL's device thread's (`DSD-…`: encoding and submitting). On Mesa's lavapipe
//! the kernels run on threads that share the program's name, so the wall time there is the
//! CPU running the kernels, not a GPU's.

use std::time::{Duration, Instant};

use burn::tensor::Device;
use mnist_gan_web::data::normal_noise;
use mnist_gan_web::{Gan, StepStats, Trainer, TrainingConfig};

const WARM_UP: usize = 5;

/// Each of this process's threads' CPU time (user and system) from `/proc/self/task`, in
/// 10 ms ticks, by thread name (lavapipe's unnamed threads share the program's).
fn threads_cpu() -> std::collections::BTreeMap<String, Duration> {
    let mut times = std::collections::BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task")
        .expect("Linux's /proc")
        .flatten()
    {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        // The fields after the name's closing parenthesis; utime and stime are the 12th, 13th.
        let fields: Vec<u64> = stat[close + 2..]
            .split(' ')
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let cpu = Duration::from_millis((fields[11] + fields[12]) * 10);
        let name = &stat[open + 1..close];
        let main = task.file_name().to_str() == Some(&std::process::id().to_string());
        let key = if main {
            format!("{name} (the main thread)")
        } else {
            name.to_string()
        };
        *times.entry(key).or_default() += cpu;
    }
    times
}

/// Runs `step` after a warm-up, each waited for; prints wall and this thread's CPU per step.
fn time(label: &str, steps: usize, mut step: impl FnMut() -> StepStats) {
    for _ in 0..WARM_UP {
        pollster::block_on(step().read()).expect("stats read back");
    }
    let (wall, before) = (Instant::now(), threads_cpu());
    for _ in 0..steps {
        pollster::block_on(step().read()).expect("stats read back");
    }
    let per_step = |d: Duration| d.as_secs_f64() * 1e3 / steps as f64;
    println!(
        "{label}: {:.2} ms/step wall ({steps} steps)",
        per_step(wall.elapsed())
    );
    for (thread, after) in threads_cpu() {
        let spent = after.saturating_sub(before.get(&thread).copied().unwrap_or_default());
        if !spent.is_zero() {
            println!(
                "  {:>8.2} ms/step of CPU in threads named {thread}",
                per_step(spent)
            );
        }
    }
}

fn main() {
    let mut config = TrainingConfig::default();
    let mut steps = 50;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (flag.as_str(), value) {
            ("--batch", Some(n)) => config.batch_size = n,
            ("--steps", Some(n)) => steps = n,
            _ => {
                eprintln!("usage: graph_replay [--batch N] [--steps N]");
                std::process::exit(2)
            }
        }
    }
    let device = Device::wgpu_options().init().unwrap_or_else(|e| {
        eprintln!("no wgpu adapter: {e}");
        std::process::exit(1)
    });
    let batch = config.batch_size;
    let noise_dim = config.noise_dim;
    let mut trainer = Trainer::new(config, &device).expect("a valid config");
    let gan = &mut trainer.gan;
    // Fixed inputs, uploaded once.
    let real = gan.upload(
        normal_noise(1, 0, batch, 784)
            .into_iter()
            .map(f32::tanh)
            .collect(),
        batch,
        784,
    );
    let noise = gan.upload(normal_noise(2, 0, batch, noise_dim), batch, noise_dim);
    println!("batch {batch}");
    let step = |gan: &mut Gan| {
        gan.train_step(real.clone(), noise.clone())
            .expect("a step runs")
    };
    gan.set_replay(false);
    time("normal step", steps, || step(gan));
    gan.set_replay(true);
    time("replayed step", steps, || step(gan));
    assert!(gan.replays(), "the timed steps replayed a capture");
}
