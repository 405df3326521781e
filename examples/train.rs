//! The reference run, natively: `cargo run --release --example train -- [--epochs N] [--out DIR]`.
//!
//! Trains the same core the browser runs, prints each epoch's wall time as the tutorial does,
//! writes the snapshots of G(seed) after epochs 1, 51, 101, … as `N.png` into DIR, and the final
//! weights file. It doubles as the native benchmark: `--bench-steps N` times N steps after a
//! warm-up and prints ms/step; on a GPU also the host's recording time per step and the step
//! when N steps are queued back to back (as the worker keeps them under way).
//!
//! `--score-every N` scores the generator after every N epochs (FID and Inception Score with
//! the quality classifier, as the page does) and prints the figures beside the epoch's time;
//! `--scores-out FILE` writes them as the JSON the page draws as its reference curve.
//!
//! `--keep-weights 1,50` also writes the weights file after those epochs; `--onnx-out FILE`
//! writes the trained generator as an ONNX file (`mnist_gan_web::onnx`, the page's "Download
//! as ONNX"); `--samples-out DIR` writes 10,000 samples of the trained generator as
//! `DIR/samples.npy` (and, for a conditional model, the digits asked for as `DIR/labels.npy`).
//!
//! `--model tutorial|conditional|sharp` chooses the model (`mnist_gan_web::model::ModelKind`)
//! and starts from its defaults (`TrainingConfig::for_model`; the other flags change them); the
//! default is the tutorial's. A conditional model trains on the images' labels
//! (`train-labels-idx1-ubyte.gz` beside the images).
//!
//! `--threads 1,2` (with `--bench-steps`) also times the step as that many replicas on as many
//! threads, each taking a shard of every batch and all adding their gradients (the browser's
//! CPU workers, natively), one after the other in the same run.
//!
//! `--count-dispatches` (with `--bench-steps`, on `--device wgpu`) counts the GPU kernels each
//! step launches, through CubeCL's launch observer, and lists the most frequent.
//!
//! Other options: `--set FIELD=VALUE` (any setting of `TrainingConfig`, e.g.
//! `--set generator_lr=1e-3`), `--batch N`, `--data PATH` (a folder of MNIST's gzipped IDX files, default
//! `www/data/mnist`; or other data, converted to 28 × 28 by `mnist_gan_web::import` and
//! described before training: any IDX images file, gzipped or not, with its labels file beside
//! it when there is one — `…-images-idx3-ubyte` and `…-labels-idx1-ubyte` —, a zip of images or
//! a folder of them, PNG, JPEG, WebP or GIF, whose sub-folders name their labels),
//! `--device cpu|wgpu|wgpu-register-tiles|wgpu-split-depth|ndarray` (wgpu needs the `wgpu`
//! feature and an adapter; `wgpu-register-tiles` and `wgpu-split-depth` send its matrix
//! products through `mnist_gan_web::matmul`'s kernel, as the browser's worker does on
//! SwiftShader or where its calibration chose it, to measure it against CubeCL's on a real GPU;
//! ndarray, Burn's deprecated CPU backend, the `ndarray` feature).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burn::tensor::Device;
use mnist_gan_web::data::unscale_pixel;
use mnist_gan_web::idx::{IMAGE_SIDE, parse_images, parse_labels};
use mnist_gan_web::model::ModelKind;
use mnist_gan_web::onnx;
use mnist_gan_web::quality::reference::{CurvePoint, ReferenceCurve};
use mnist_gan_web::quality::{DEFAULT_SAMPLES, EpochScore, QualityModel, score_trainer};
use mnist_gan_web::samples::{Samples, TAKEAWAY_SAMPLES};
use mnist_gan_web::{Checkpoint, Dataset, Trainer, TrainingConfig};

struct Args {
    config: TrainingConfig,
    out: PathBuf,
    data: PathBuf,
    device: String,
    bench_steps: Option<usize>,
    score_every: usize,
    scores_out: Option<PathBuf>,
    keep_weights: Vec<usize>,
    onnx_out: Option<PathBuf>,
    samples_out: Option<PathBuf>,
    threads: Vec<usize>,
    count_dispatches: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: train [--epochs N] [--batch N] [--out DIR] [--data DIR] [--device cpu|wgpu|wgpu-register-tiles|wgpu-split-depth] [--bench-steps N] [--threads T1,T2,…] [--count-dispatches] [--score-every N] [--scores-out FILE] [--keep-weights E1,E2,…] [--onnx-out FILE] [--model tutorial|conditional|sharp] [--set FIELD=VALUE] [--samples-out DIR]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        config: TrainingConfig::default(),
        out: PathBuf::from("out"),
        data: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/www/data/mnist")),
        device: "cpu".into(),
        bench_steps: None,
        score_every: 0,
        scores_out: None,
        keep_weights: Vec::new(),
        onnx_out: None,
        samples_out: None,
        threads: Vec::new(),
        count_dispatches: false,
    };
    // The model first: the other flags change its defaults (`TrainingConfig::for_model`).
    let all: Vec<String> = std::env::args().collect();
    if let Some(name) = all.windows(2).find(|w| w[0] == "--model").map(|w| &w[1]) {
        let model = ModelKind::from_name(name).unwrap_or_else(|| {
            eprintln!("unknown model `{name}` (known: {})", ModelKind::names());
            std::process::exit(2)
        });
        args.config = TrainingConfig::for_model(model);
    }
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        let number = |v: String| v.parse::<usize>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--epochs" => args.config.epochs = number(value()),
            "--batch" => args.config.batch_size = number(value()),
            "--out" => args.out = value().into(),
            "--data" => args.data = value().into(),
            "--device" => args.device = value(),
            "--bench-steps" => args.bench_steps = Some(number(value())),
            "--score-every" => args.score_every = number(value()),
            "--scores-out" => args.scores_out = Some(value().into()),
            "--keep-weights" => {
                args.keep_weights = value().split(',').map(|v| number(v.into())).collect()
            }
            "--onnx-out" => args.onnx_out = Some(value().into()),
            "--samples-out" => args.samples_out = Some(value().into()),
            "--model" => drop(value()),
            "--set" => {
                let setting = value();
                let Some((field, text)) = setting.split_once('=') else {
                    usage()
                };
                let mut json = serde_json::to_value(&args.config).expect("a config serialises");
                let parsed = serde_json::from_str(text).unwrap_or(serde_json::Value::from(text));
                json[field] = parsed;
                args.config = serde_json::from_value(json).unwrap_or_else(|e| {
                    eprintln!("--set {setting}: {e}");
                    std::process::exit(2)
                });
            }
            "--threads" => args.threads = value().split(',').map(|v| number(v.into())).collect(),
            "--count-dispatches" => args.count_dispatches = true,
            _ => usage(),
        }
    }
    if let Err(e) = args.config.validate() {
        eprintln!("invalid setting {e}");
        std::process::exit(2);
    }
    args
}

fn device(name: &str) -> Device {
    match name {
        "cpu" => Device::flex(),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)] // measured against flex only
        "ndarray" => Device::ndarray(),
        #[cfg(feature = "wgpu")]
        "wgpu" | "wgpu-register-tiles" | "wgpu-split-depth" => {
            use mnist_gan_web::matmul::{Products, use_products};
            let device = Device::wgpu_options().init().unwrap_or_else(|e| {
                eprintln!("no wgpu adapter: {e}");
                std::process::exit(1)
            });
            match name {
                "wgpu-register-tiles" => use_products(&device, Products::RegisterTiled),
                "wgpu-split-depth" => use_products(&device, Products::SplitDepth),
                _ => {}
            }
            device
        }
        other => {
            eprintln!("unknown or disabled device `{other}` (wgpu needs --features wgpu)");
            std::process::exit(2)
        }
    }
}

fn gunzip(path: &Path) -> Vec<u8> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| {
        eprintln!("{}: {e}", path.display());
        std::process::exit(1)
    });
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .expect("the training images decompress");
    bytes
}

fn write_png(path: &Path, pixels: &[f32]) {
    let bytes: Vec<u8> = pixels.iter().map(|&v| unscale_pixel(v)).collect();
    let file = std::fs::File::create(path).expect("the output folder is writable");
    let side = IMAGE_SIDE as u32;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("PNG header");
    writer.write_image_data(&bytes).expect("PNG data");
}

fn snapshot(trainer: &Trainer, out: &Path, epoch: usize) {
    let image = trainer.gan.generate(trainer.sample_noise(1)).into_data();
    let path = out.join(format!("{epoch}.png"));
    write_png(&path, image.as_slice::<f32>().expect("float pixels"));
    println!("  saved {}", path.display());
}

const WARM_UP: usize = 5;

fn report(label: &str, batch: usize, steps: usize, mut times: Vec<Duration>) {
    times.sort();
    let median = times[times.len() / 2];
    let total: Duration = times.iter().sum();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "bench {label} batch={batch} steps={steps}: median {:.2} ms/step, mean {:.2} ms/step, {:.1} steps/s",
        ms(median),
        ms(total) / steps as f64,
        steps as f64 / total.as_secs_f64()
    );
}

/// `threads` replicas of a fresh run, one per thread, training `steps` steps together: each
/// takes its shard of every batch, the main thread adds the parts in shard order and hands
/// the sum back to every replica. Times from one combined gradient to the next.
fn bench_replicas(config: &TrainingConfig, data: &Dataset, threads: usize, steps: usize) {
    use mnist_gan_web::shard::{ShardGradients, ShardPlace, combine};
    use std::sync::{Arc, mpsc};
    let (parts_tx, parts_rx) = mpsc::channel::<(usize, ShardGradients)>();
    let mut times = Vec::with_capacity(steps);
    std::thread::scope(|scope| {
        let wholes: Vec<mpsc::Sender<Arc<ShardGradients>>> = (0..threads)
            .map(|index| {
                let (whole_tx, whole_rx) = mpsc::channel::<Arc<ShardGradients>>();
                let parts_tx = parts_tx.clone();
                scope.spawn(move || {
                    let place = ShardPlace::new(index, threads).expect("a valid group");
                    let mut trainer =
                        Trainer::new(config.clone(), &Device::flex()).expect("a valid config");
                    for _ in 0..WARM_UP + steps {
                        let part = trainer.shard_gradients(data, place).expect("a part");
                        parts_tx
                            .send((index, part))
                            .expect("the main thread listens");
                        let whole = whole_rx.recv().expect("the main thread answers");
                        trainer
                            .apply_combined(data, &whole)
                            .expect("the update applies");
                    }
                });
                whole_tx
            })
            .collect();
        let mut last = Instant::now();
        for i in 0..WARM_UP + steps {
            let mut parts: Vec<(usize, ShardGradients)> = (0..threads)
                .map(|_| parts_rx.recv().expect("a part"))
                .collect();
            parts.sort_by_key(|(index, _)| *index);
            let parts: Vec<ShardGradients> = parts.into_iter().map(|(_, p)| p).collect();
            let whole = Arc::new(combine(parts).expect("the parts combine"));
            for tx in &wholes {
                tx.send(whole.clone()).expect("the replica listens");
            }
            if i >= WARM_UP {
                times.push(last.elapsed());
            }
            last = Instant::now();
        }
    });
    report(
        &format!("device=cpu replicas={threads}"),
        config.batch_size,
        steps,
        times,
    );
}

/// Kernel launches by name, from CubeCL's launch observer.
#[derive(Default)]
struct Dispatches(std::sync::Mutex<std::collections::HashMap<&'static str, usize>>);

impl cubecl_runtime::logging::LaunchObserver for Dispatches {
    fn launched(&self, kernel: &'static str) {
        if let Ok(mut counts) = self.0.lock() {
            *counts.entry(kernel).or_default() += 1;
        }
    }
}

/// Trains `steps` steps (after a warm-up) counting the kernels they launch.
fn count_dispatches(trainer: &mut Trainer, data: &Dataset, steps: usize) {
    for _ in 0..WARM_UP {
        let outcome = trainer.step(data).expect("a step runs");
        pollster::block_on(outcome.stats.read()).expect("stats read back");
    }
    let counts = std::sync::Arc::new(Dispatches::default());
    let watching = cubecl_runtime::logging::LaunchObservation::new(counts.clone());
    for _ in 0..steps {
        let outcome = trainer.step(data).expect("a step runs");
        pollster::block_on(outcome.stats.read()).expect("stats read back");
    }
    drop(watching);
    let counts = counts.0.lock().map(|c| c.clone()).unwrap_or_default();
    let total: usize = counts.values().sum();
    println!(
        "dispatches: {:.1} per step ({total} in {steps} steps, {} kernels), fusion {}",
        total as f64 / steps as f64,
        counts.len(),
        if cfg!(feature = "fusion") {
            "on"
        } else {
            "off"
        }
    );
    let mut sorted: Vec<_> = counts.into_iter().collect();
    sorted.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    for (kernel, count) in &sorted {
        let name: String = kernel.chars().take(100).collect();
        println!("  {:>6.1} per step  {name}", *count as f64 / steps as f64);
    }
}

/// Times whole steps (recorded, run and read back); on a GPU also the host's part alone: the
/// time `Trainer::step` takes to record and submit the step's kernels, before waiting for them.
fn benchmark(trainer: &mut Trainer, data: &Dataset, steps: usize, device: &str) {
    let mut times = Vec::with_capacity(steps);
    let mut recording = Vec::with_capacity(steps);
    for i in 0..WARM_UP + steps {
        let start = Instant::now();
        let outcome = trainer.step(data).expect("a step runs");
        let recorded = start.elapsed();
        pollster::block_on(outcome.stats.read()).expect("stats read back");
        if i >= WARM_UP {
            times.push(start.elapsed());
            recording.push(recorded);
        }
    }
    let batch = trainer.config.batch_size;
    report(&format!("device={device}"), batch, steps, times);
    if !trainer.gan.on_host() {
        report(
            &format!("device={device} host recording"),
            batch,
            steps,
            recording,
        );
        // As the worker trains: the host records the next steps while the GPU runs the earlier
        // ones, and only the last step's statistics are waited for.
        let start = Instant::now();
        let mut last = None;
        for _ in 0..steps {
            last = Some(trainer.step(data).expect("a step runs").stats);
        }
        if let Some(stats) = last {
            pollster::block_on(stats.read()).expect("stats read back");
        }
        let per_step = start.elapsed() / steps as u32;
        println!(
            "bench device={device} pipelined batch={batch} steps={steps}: mean {:.2} ms/step",
            per_step.as_secs_f64() * 1e3
        );
    }
}

/// A dataset other than MNIST (an IDX file, a zip or a folder of images), converted, after
/// saying what was read.
fn import(path: &Path) -> Dataset {
    use mnist_gan_web::import::{ConvertOptions, native::import_path};
    let imported = import_path(path, ConvertOptions::default()).unwrap_or_else(|e| {
        eprintln!("{}: {e}", path.display());
        std::process::exit(1)
    });
    println!("read {}: {}", path.display(), imported.summary());
    imported.dataset
}

fn main() {
    let args = parse_args();
    let data = if !args.data.join("train-images-idx3-ubyte.gz").exists() {
        import(&args.data)
    } else {
        mnist(&args.data)
    };
    run(args, data);
}

/// MNIST's training set from the folder `dir`, with its labels when they are there.
fn mnist(dir: &Path) -> Dataset {
    let images =
        parse_images(&gunzip(&dir.join("train-images-idx3-ubyte.gz"))).unwrap_or_else(|e| {
            eprintln!("the training images are malformed: {e}");
            std::process::exit(1)
        });
    let labels_path = dir.join("train-labels-idx1-ubyte.gz");
    if labels_path.exists() {
        let labels = parse_labels(&gunzip(&labels_path)).unwrap_or_else(|e| {
            eprintln!("the training labels are malformed: {e}");
            std::process::exit(1)
        });
        Dataset::labelled(images, labels).unwrap_or_else(|e| {
            eprintln!("the training labels do not pair with the images: {e}");
            std::process::exit(1)
        })
    } else {
        Dataset::new(images)
    }
}

fn run(args: Args, data: Dataset) {
    let device = device(&args.device);
    let mut trainer = Trainer::new(args.config.clone(), &device).expect("a validated config");

    if let Some(steps) = args.bench_steps {
        if args.count_dispatches {
            count_dispatches(&mut trainer, &data, steps);
            return;
        }
        benchmark(&mut trainer, &data, steps, &args.device);
        for &threads in &args.threads {
            bench_replicas(&args.config, &data, threads, steps);
        }
        return;
    }

    std::fs::create_dir_all(&args.out).expect("the output folder can be created");
    let quality = (args.score_every > 0).then(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/www/data/quality/classifier.safetensors"
        );
        let bytes = std::fs::read(path).expect("the quality classifier is there");
        QualityModel::from_bytes(&bytes, &Device::flex()).expect("the classifier file is valid")
    });
    let mut curve = ReferenceCurve {
        samples: DEFAULT_SAMPLES,
        batch_size: args.config.batch_size,
        epochs: args.config.epochs,
        points: Vec::new(),
    };
    let mut scores: Vec<EpochScore> = Vec::new();
    let steps_per_epoch = data.batches_per_epoch(args.config.batch_size);
    while !trainer.is_finished() {
        let start = Instant::now();
        let (epoch, last_stats) = loop {
            let outcome = trainer.step(&data).expect("a step runs");
            if let Some(epoch) = outcome.finished_epoch {
                break (epoch, outcome.stats);
            }
        };
        let stats = pollster::block_on(last_stats.read()).expect("stats read back");
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "time for epoch {epoch} is {seconds:.3} sec ({:.2} ms/step; D loss {:.4}, G loss {:.4}, D(x) {:.3}, D(G(z)) {:.3})",
            seconds * 1e3 / steps_per_epoch as f64,
            stats.d_loss,
            stats.g_loss,
            stats.d_real,
            stats.d_fake
        );
        if let Some(model) = quality.as_ref().filter(|_| epoch % args.score_every == 0) {
            let start = Instant::now();
            let score = pollster::block_on(score_trainer(
                &trainer,
                model,
                DEFAULT_SAMPLES,
                &Device::flex(),
            ))
            .expect("the generator is scored");
            let requested = score.requested.as_ref().map_or(String::new(), |r| {
                let per_digit: Vec<String> = r
                    .per_digit
                    .iter()
                    .map(|s| format!("{:.0}", s * 100.0))
                    .collect();
                format!(
                    ", {:.1} % the digit asked for (per digit {})",
                    r.share * 100.0,
                    per_digit.join(" ")
                )
            });
            println!(
                "  FID {:.2}, IS {:.3}, digits {:?}{requested} ({:.2} s to score)",
                score.fid,
                score.inception,
                score.histogram,
                start.elapsed().as_secs_f64()
            );
            curve.points.push(CurvePoint {
                epoch,
                fid: score.fid,
                inception: score.inception,
                requested: score.requested.as_ref().map(|r| r.share),
            });
            scores.push(EpochScore { epoch, score });
            if let Some(path) = &args.scores_out {
                let json = serde_json::to_string_pretty(&curve).expect("plain numbers");
                std::fs::write(path, json + "\n").expect("the scores file can be written");
            }
        }
        if args.config.is_snapshot_epoch(epoch) {
            snapshot(&trainer, &args.out, epoch);
        }
        if args.keep_weights.contains(&epoch) {
            write_weights(&trainer, &args.out, &scores);
        }
    }
    let checkpoint = write_weights(&trainer, &args.out, &scores);
    if let Some(path) = &args.onnx_out {
        let file = onnx::export(&checkpoint, onnx::Network::Generator).unwrap_or_else(|e| {
            eprintln!("not exported as ONNX: {e}");
            std::process::exit(1)
        });
        std::fs::write(path, file).expect("the ONNX file can be written");
        println!("wrote {}", path.display());
    }
    if let Some(dir) = &args.samples_out {
        write_samples(&trainer, dir);
    }
}

/// `DIR/samples.npy` and, for a conditional model, `DIR/labels.npy`.
fn write_samples(trainer: &Trainer, dir: &Path) {
    let samples = pollster::block_on(Samples::take(&trainer.gan, TAKEAWAY_SAMPLES))
        .expect("the samples read back");
    std::fs::create_dir_all(dir).expect("the samples folder can be created");
    let mut files = vec![("samples.npy", samples.images_npy())];
    files.extend(samples.labels_npy().map(|labels| ("labels.npy", labels)));
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("the samples can be written");
        println!("wrote {}", path.display());
    }
}

/// Writes the weights file as it is now, with the scores taken so far.
fn write_weights(trainer: &Trainer, out: &Path, scores: &[EpochScore]) -> Checkpoint {
    let checkpoint = pollster::block_on(Checkpoint::capture(trainer)).expect("weights read back");
    let checkpoint = Checkpoint {
        scores: scores.to_vec(),
        ..checkpoint
    };
    let path = out.join(format!(
        "weights-epoch-{}.safetensors",
        trainer.progress.epoch
    ));
    std::fs::write(&path, checkpoint.to_bytes()).expect("the weights file can be written");
    println!("wrote {}", path.display());
    checkpoint
}
