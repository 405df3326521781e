//! The worker's host, natively: each command as the page sends it, the trainer swapped only
//! when a new one is whole, and a session equal to the core's trainer.
#![allow(clippy::unwrap_used)]

mod common;

use common::{CpuThread, block_on, device};
use mnist_gan_web::data::DataRef;
use mnist_gan_web::idx::IdxImages;
use mnist_gan_web::matmul::{self, Products};
use mnist_gan_web::path::ComputePath;
use mnist_gan_web::protocol::{Command, Reply, TrainerError, bytes_to_floats};
use mnist_gan_web::session::{GRID_SIDE, Host, Preview, TrainerSession};
use mnist_gan_web::{Checkpoint, Dataset, TrainingConfig};
use serde_bytes::ByteBuf;

/// A worker's thread alone.
const ALONE: CpuThread = CpuThread(None);

/// Batch 8, an epoch of 3 batches (24 images), 2 epochs, snapshots every epoch.
fn config() -> TrainingConfig {
    TrainingConfig {
        batch_size: 8,
        epochs: 2,
        snapshot_every: 1,
        ..TrainingConfig::default()
    }
}

fn images() -> IdxImages {
    let count = 24;
    IdxImages {
        count,
        pixels: (0..count * 784).map(|i| (i * 37 % 256) as u8).collect(),
    }
}

fn send(host: &mut Host, command: Command) -> Reply {
    block_on(host.start(command, &ALONE))
}

/// A host with the images and a fresh trainer.
fn ready_host() -> Host {
    let mut host = Host::default();
    let images = images();
    let data = Command::Data {
        count: images.count,
        pixels: ByteBuf::from(images.pixels),
        labels: None,
        source: Default::default(),
    };
    assert_eq!(send(&mut host, data), Reply::Done);
    let create = Command::Create {
        config: config(),
        path: ComputePath::Cpu,
    };
    assert_eq!(send(&mut host, create), Reply::Done);
    host
}

fn capture(host: &mut Host) -> Vec<u8> {
    match send(host, Command::Capture { checked: true }) {
        Reply::Weights(bytes) => bytes.into_vec(),
        other => panic!("{other:?}"),
    }
}

fn parse(bytes: &[u8]) -> Checkpoint {
    Checkpoint::from_bytes(bytes, "", &TrainingConfig::default()).unwrap()
}

#[test]
fn the_host_steps_exactly_like_a_session_and_snapshots_the_last_epoch() {
    let mut host = ready_host();
    let data = Dataset::new(images());
    let mut local = TrainerSession::new(config(), &device()).unwrap();
    let mut snapshots = Vec::new();
    for step in 0..6 {
        let Reply::Step(report) = send(&mut host, Command::Step) else {
            panic!("step {step}")
        };
        let expected = block_on(local.step(&data).unwrap()).unwrap();
        assert_eq!(report, expected, "step {step}");
        snapshots.extend(report.snapshot.map(|(epoch, pixels)| (epoch, pixels.len())));
    }
    // Epoch 1 is a snapshot epoch; epoch 2 is the run's last, so its generator is kept too.
    assert_eq!(snapshots, [(1, 784), (2, 784)]);
    let Reply::Failed(TrainerError::Refused(message)) = send(&mut host, Command::Step) else {
        panic!("a finished run takes no more steps")
    };
    assert!(message.contains("2 epochs"), "{message}");
    let Reply::Pixels(bytes) = send(&mut host, Command::Grid { digits: Vec::new() }) else {
        panic!()
    };
    let grid = bytes_to_floats(&bytes);
    assert_eq!(grid.len(), GRID_SIDE * GRID_SIDE * 784);
    assert_eq!(grid, block_on(local.grid(&[]).unwrap()).unwrap());
}

#[test]
fn a_refused_file_leaves_the_model_exactly_as_it_was() {
    let mut host = ready_host();
    send(&mut host, Command::Step);
    let before = capture(&mut host);
    let mut corrupt = before.clone();
    let n = corrupt.len();
    corrupt[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    for weights in [corrupt, b"junk".to_vec()] {
        let reply = send(
            &mut host,
            Command::Load {
                weights: ByteBuf::from(weights),
                fallback: config(),
                path: ComputePath::Cpu,
            },
        );
        assert!(
            matches!(reply, Reply::Failed(TrainerError::Refused(_))),
            "{reply:?}"
        );
        assert_eq!(parse(&capture(&mut host)), parse(&before));
    }
    // A trainer on a path the thread cannot give keeps the old one too.
    let reply = send(
        &mut host,
        Command::Create {
            config: config(),
            path: ComputePath::WebGpu,
        },
    );
    assert!(matches!(reply, Reply::Failed(_)));
    assert_eq!(parse(&capture(&mut host)), parse(&before));
    // A good file replaces it, and training goes on from its position.
    let mut other = ready_host();
    for _ in 0..2 {
        send(&mut other, Command::Step);
    }
    let file = capture(&mut other);
    let load = Command::Load {
        weights: ByteBuf::from(file.clone()),
        fallback: config(),
        path: ComputePath::Cpu,
    };
    assert_eq!(send(&mut host, load), Reply::Done);
    assert_eq!(parse(&capture(&mut host)), parse(&file));
    assert_eq!(
        send(&mut host, Command::Step),
        send(&mut other, Command::Step)
    );
}

#[test]
fn bad_commands_are_refused_and_change_nothing() {
    let mut empty = Host::default();
    assert!(matches!(send(&mut empty, Command::Step), Reply::Failed(_)));
    assert!(matches!(
        send(&mut empty, Command::Grid { digits: Vec::new() }),
        Reply::Failed(_)
    ));
    let bad_data = Command::Data {
        count: 2,
        pixels: ByteBuf::from(vec![0; 784]),
        labels: None,
        source: Default::default(),
    };
    assert!(matches!(send(&mut empty, bad_data), Reply::Failed(_)));
    let bad_labels = Command::Data {
        count: 1,
        pixels: ByteBuf::from(vec![0; 784]),
        labels: Some(ByteBuf::from(vec![1, 2])),
        source: Default::default(),
    };
    assert!(matches!(
        send(&mut empty, bad_labels),
        Reply::Failed(TrainerError::Refused(m)) if m == "the labels: 1 images but 2 labels"
    ));
    assert!(matches!(
        send(&mut empty, Command::StartWebGpu { products: None }),
        Reply::Failed(_)
    ));

    let mut host = ready_host();
    let bad = Command::SetLive {
        epochs: 0,
        snapshot_every: 1,
    };
    assert!(matches!(send(&mut host, bad), Reply::Failed(_)));
    assert_eq!(host.session().unwrap().trainer.config.epochs, 2);
    let good = Command::SetLive {
        epochs: 5,
        snapshot_every: 2,
    };
    assert_eq!(send(&mut host, good), Reply::Done);
    let config = host.session().unwrap().trainer.config.clone();
    assert_eq!((config.epochs, config.snapshot_every), (5, 2));
    let Reply::Stats(stats) = send(&mut host, Command::Stats) else {
        panic!()
    };
    assert_eq!(stats.wasm_bytes, 42.0);
}

fn classifier_file() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/www/data/quality/classifier.safetensors"
    ))
    .unwrap()
}

fn pixels(reply: Reply) -> Vec<f32> {
    match reply {
        Reply::Pixels(bytes) => bytes_to_floats(&bytes),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_host_scores_walks_and_redraws_the_grid_and_the_weights_file_keeps_the_scores() {
    let mut host = ready_host();
    // No classifier yet: refused, nothing changes.
    let score = Command::Score { samples: 200 };
    assert!(matches!(send(&mut host, score.clone()), Reply::Failed(_)));
    let quality = Command::Quality {
        classifier: ByteBuf::from(classifier_file()),
    };
    assert_eq!(send(&mut host, quality), Reply::Done);
    let bad = Command::Quality {
        classifier: ByteBuf::from(vec![1, 2, 3]),
    };
    assert!(matches!(send(&mut host, bad), Reply::Failed(_)));
    assert!(
        score.is_barrier(),
        "an autosave right after a score includes it"
    );

    // A score after epoch 1 rides in the weights file, and comes back with it.
    for _ in 0..3 {
        assert!(matches!(send(&mut host, Command::Step), Reply::Step(_)));
    }
    let Reply::Score(first) = send(&mut host, score.clone()) else {
        panic!("a score")
    };
    assert_eq!(first.samples, 200);
    assert_eq!(first.histogram.iter().sum::<u32>(), 200);
    assert!(first.fid.is_finite() && first.fid > 0.0 && first.inception >= 1.0);
    let file = parse(&capture(&mut host));
    assert_eq!(file.scores.len(), 1);
    assert_eq!((file.scores[0].epoch, &file.scores[0].score), (1, &first));
    let load = Command::Load {
        weights: ByteBuf::from(capture(&mut host)),
        fallback: config(),
        path: ComputePath::Cpu,
    };
    assert_eq!(send(&mut host, load), Reply::Done);
    assert_eq!(parse(&capture(&mut host)).scores, file.scores);
    // The same generator, the same noise: the same score.
    let Reply::Score(again) = send(&mut host, score) else {
        panic!("a score")
    };
    assert_eq!(again, first);

    // A walk between two grid samples starts and ends on them exactly.
    let grid = pixels(send(&mut host, Command::Grid { digits: Vec::new() }));
    let walk = Command::Walk {
        from: 3,
        to: 60,
        frames: 10,
        digits: Vec::new(),
    };
    let frames = pixels(send(&mut host, walk));
    assert_eq!(frames.len(), 10 * 784);
    let sample = |images: &[f32], i: usize| images[i * 784..(i + 1) * 784].to_vec();
    assert!(common::max_abs_diff(&sample(&frames, 0), &sample(&grid, 3)) < 1e-6);
    assert!(common::max_abs_diff(&sample(&frames, 9), &sample(&grid, 60)) < 1e-6);
    assert_ne!(sample(&frames, 4), sample(&grid, 3));
    let out_of_grid = Command::Walk {
        from: 0,
        to: GRID_SIDE * GRID_SIDE,
        frames: 10,
        digits: Vec::new(),
    };
    assert!(matches!(send(&mut host, out_of_grid), Reply::Failed(_)));

    // New noise: a new grid, and walks end on its samples.
    assert_eq!(
        send(&mut host, Command::GridNoise { seed: 99 }),
        Reply::Done
    );
    let redrawn = pixels(send(&mut host, Command::Grid { digits: Vec::new() }));
    assert_ne!(redrawn, grid);
    let frames = pixels(send(
        &mut host,
        Command::Walk {
            from: 0,
            to: 1,
            frames: 2,
            digits: Vec::new(),
        },
    ));
    assert!(common::max_abs_diff(&sample(&frames, 1), &sample(&redrawn, 1)) < 1e-6);
}

fn calibrate(path: ComputePath, steps: usize) -> Command {
    Command::Calibrate {
        config: config(),
        path,
        warm_up: 1,
        steps,
        products: None,
    }
}

#[test]
fn a_calibration_times_a_throwaway_trainer_and_leaves_the_run_alone() {
    let mut host = Host::default();
    let Reply::Failed(TrainerError::Refused(message)) =
        send(&mut host, calibrate(ComputePath::Cpu, 3))
    else {
        panic!("no images, nothing to time")
    };
    assert!(message.contains("images"), "{message}");

    let mut host = ready_host();
    send(&mut host, Command::Step);
    // The checksum covers the weights, the optimizer state and the position (a weights file's
    // bytes are not comparable: its metadata's order varies).
    let before = send(&mut host, Command::Checksum);
    assert!(matches!(before, Reply::Checksum(_)));
    assert!(
        Command::Calibrate {
            config: config(),
            path: ComputePath::Cpu,
            warm_up: 0,
            steps: 1,
            products: None,
        }
        .is_barrier()
    );
    // Four steps: more than are kept under way at once, so the window turns over.
    let Reply::Timing(ms) = send(&mut host, calibrate(ComputePath::Cpu, 4)) else {
        panic!("a timing")
    };
    assert!(ms.is_finite() && ms > 0.0, "{ms}");
    assert_eq!(
        send(&mut host, Command::Checksum),
        before,
        "the run is untouched"
    );
    let progress = host.session().unwrap().trainer.progress;
    assert_eq!(progress.step, 1);

    // A path that cannot start, or nothing to time, is an error, not a figure.
    assert!(matches!(
        send(&mut host, calibrate(ComputePath::WebGpu, 3)),
        Reply::Failed(_)
    ));
    assert!(matches!(
        send(&mut host, calibrate(ComputePath::Cpu, 0)),
        Reply::Failed(_)
    ));
    assert_eq!(send(&mut host, Command::Checksum), before);
}

/// `rows` noise vectors, the same on every call.
fn noise(rows: usize) -> Vec<f32> {
    mnist_gan_web::data::normal_noise(7, 0, rows, config().noise_dim)
}

#[test]
fn a_preview_draws_what_its_trainer_draws_new_or_loaded_and_only_on_a_gpu() {
    let session = TrainerSession::new(config(), &device()).unwrap();
    assert!(
        !session.previews(),
        "on the CPU the trainer itself is on the host: no copy"
    );
    let on_trainer = |session: &TrainerSession, rows: usize| {
        let gan = &session.trainer.gan;
        let images = gan.generate(gan.upload(noise(rows), rows, config().noise_dim));
        images.into_data().try_to_vec::<f32>().unwrap()
    };
    let preview = Preview::of_new(&config());
    let images = preview
        .images(noise(5), 5, None)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(images.len(), 5 * 784);
    assert_eq!(images, on_trainer(&session, 5), "a new trainer's generator");

    // After steps, a file's preview is the loaded generator, not a new one.
    let mut host = ready_host();
    for _ in 0..2 {
        assert!(matches!(send(&mut host, Command::Step), Reply::Step(_)));
    }
    let checkpoint = parse(&capture(&mut host));
    let loaded = TrainerSession::from_checkpoint(checkpoint.clone(), &device());
    let preview = Preview::of_checkpoint(&checkpoint);
    let images = preview
        .images(noise(3), 3, None)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(images, on_trainer(&loaded, 3), "the file's generator");
    assert_ne!(
        images[..3 * 784],
        on_trainer(&session, 3)[..],
        "trained, not new"
    );
}

/// A host training the conditional model on labelled images.
fn conditional_host() -> Host {
    let mut host = Host::default();
    let images = images();
    let data = Command::Data {
        count: images.count,
        pixels: ByteBuf::from(images.pixels),
        labels: Some(ByteBuf::from(
            (0..images.count)
                .map(|i| (i % 10) as u8)
                .collect::<Vec<_>>(),
        )),
        source: Default::default(),
    };
    assert_eq!(send(&mut host, data), Reply::Done);
    let create = Command::Create {
        config: TrainingConfig {
            model: mnist_gan_web::model::ModelKind::Conditional,
            ..config()
        },
        path: ComputePath::Cpu,
    };
    assert_eq!(send(&mut host, create), Reply::Done);
    assert!(matches!(send(&mut host, Command::Step), Reply::Step(_)));
    host
}

#[test]
fn a_conditional_grid_draws_a_column_per_digit_and_walks_between_digits() {
    let mut host = conditional_host();
    let cell = |pixels: &[f32], i: usize| pixels[i * 784..(i + 1) * 784].to_vec();
    let grid = pixels(send(&mut host, Command::Grid { digits: vec![3, 7] }));
    assert_eq!(grid.len(), 8 * 2 * 784, "8 rows of 2 digits");
    // Across a row the digit changes; the same noise and digit give the same image.
    assert_ne!(cell(&grid, 0), cell(&grid, 1));
    let sevens = pixels(send(&mut host, Command::Grid { digits: vec![7] }));
    assert_eq!(sevens.len(), 8 * 784);
    for row in 0..8 {
        assert!(common::max_abs_diff(&cell(&sevens, row), &cell(&grid, 2 * row + 1)) < 1e-6);
    }
    // A walk from the 3 to the 7 of row 1: the noise stays, the digit goes from one to the
    // other.
    let walk = pixels(send(
        &mut host,
        Command::Walk {
            from: 2,
            to: 3,
            frames: 5,
            digits: vec![3, 7],
        },
    ));
    assert_eq!(walk.len(), 5 * 784);
    assert!(common::max_abs_diff(&cell(&walk, 0), &cell(&grid, 2)) < 1e-6);
    assert!(common::max_abs_diff(&cell(&walk, 4), &cell(&grid, 3)) < 1e-6);
    assert!(common::max_abs_diff(&cell(&walk, 2), &cell(&grid, 2)) > 1e-3);
    // Digits that lay out no grid are refused.
    for digits in [vec![], vec![3, 3], vec![10]] {
        let reply = send(
            &mut host,
            Command::Grid {
                digits: digits.clone(),
            },
        );
        assert!(
            matches!(&reply, Reply::Failed(TrainerError::Refused(m)) if m.contains("pick 1 to 10")),
            "{digits:?}: {reply:?}"
        );
    }
    // Without labels in the model the digits are ignored: 8 × 8.
    let mut plain = ready_host();
    let grid = pixels(send(&mut plain, Command::Grid { digits: vec![3] }));
    assert_eq!(grid.len(), 64 * 784);
}

#[test]
fn the_host_draws_samples_from_the_scoring_noise() {
    let mut host = conditional_host();
    let samples = pixels(send(&mut host, Command::Samples { count: 30 }));
    assert_eq!(samples.len(), 30 * 784);
    assert!(samples.iter().all(|v| (-1.0..=1.0).contains(v)));
    for count in [0, 10_001] {
        assert!(matches!(
            send(&mut host, Command::Samples { count }),
            Reply::Failed(TrainerError::Refused(_))
        ));
    }
}

/// A zip of `count` 28 × 28 PNGs in the sub-folders `a/` and `b/`, dark on light, and a text
/// file.
fn zip_of_pngs(count: usize) -> Vec<u8> {
    use image::ImageEncoder;
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for index in 0..count {
        let mut pixels = vec![240u8; 784];
        pixels[index % 784] = 10;
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&pixels, 28, 28, image::ExtendedColorType::L8)
            .unwrap();
        let folder = if index % 2 == 0 { "a" } else { "b" };
        zip.start_file(
            format!("{folder}/{index}.png"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&png).unwrap();
    }
    zip.start_file("readme.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"digits").unwrap();
    zip.finish().unwrap().into_inner()
}

#[test]
fn the_host_imports_files_into_data_it_trains_on_and_refuses_a_broken_zip() {
    use mnist_gan_web::import::{ConvertOptions, SourceFile};
    let mut host = ready_host();
    let zip = zip_of_pngs(24);
    let import = |bytes: Vec<u8>| Command::Import {
        files: vec![SourceFile {
            path: "digits.zip".into(),
            bytes,
        }],
        options: ConvertOptions::default(),
    };
    let Reply::Imported(data) = send(&mut host, import(zip.clone())) else {
        panic!("imported")
    };
    assert_eq!(data.count, 24);
    assert_eq!(data.classes, ["a", "b"]);
    assert!(data.inverted);
    assert_eq!(
        data.skipped,
        ["readme.txt: not a PNG, JPEG, WebP or GIF image"]
    );
    assert_eq!(
        data.summary,
        "24 images (28 × 28, inverted), 2 labels, 1 file skipped: readme.txt: not a PNG, JPEG, WebP or GIF image"
    );
    // Image 3 (in b/): its dark dot at pixel 3 is now bright, its paper dark.
    let image = &data.pixels[3 * 784..4 * 784];
    assert_eq!((image[3], image[4]), (245, 15));
    assert_eq!(&data.labels.as_ref().unwrap()[..4], &[0, 1, 0, 1]);
    // The import left the run alone; the data it made trains with the same step.
    let before = send(&mut host, Command::Checksum);
    let broken = send(&mut host, import(zip[..zip.len() / 2].to_vec()));
    assert!(
        matches!(&broken, Reply::Failed(TrainerError::Refused(m)) if m.starts_with("not a readable zip file")),
        "{broken:?}"
    );
    assert_eq!(send(&mut host, Command::Checksum), before);
    let use_it = Command::Data {
        count: data.count,
        pixels: data.pixels,
        labels: data.labels,
        source: DataRef {
            name: "digits".into(),
            sha256: Some("ab12".into()),
        },
    };
    assert_eq!(send(&mut host, use_it), Reply::Done);
    // A run on it (the page starts one when the data changes) names it in its weights file.
    let create = Command::Create {
        config: config(),
        path: ComputePath::Cpu,
    };
    assert_eq!(send(&mut host, create), Reply::Done);
    assert!(matches!(send(&mut host, Command::Step), Reply::Step(_)));
    let Reply::Weights(bytes) = send(&mut host, Command::Capture { checked: false }) else {
        panic!("captured")
    };
    let dataset = parse(&bytes).dataset;
    assert_eq!(
        (dataset.name.as_str(), dataset.sha256.as_deref()),
        ("digits", Some("ab12"))
    );
}

#[test]
fn staged_files_are_converted_again_with_other_options_without_sending_them_twice() {
    use mnist_gan_web::import::{ConvertOptions, Invert, SourceFile};
    let mut host = Host::default();
    let zip = zip_of_pngs(6);
    let part = |path: &str, bytes: Vec<u8>| Command::StageFiles {
        files: vec![SourceFile {
            path: path.into(),
            bytes,
        }],
    };
    assert_eq!(
        send(&mut host, part("digits.zip", zip.clone())),
        Reply::Done
    );
    assert_eq!(send(&mut host, part("more.zip", zip)), Reply::Done);
    let import = |invert| Command::Import {
        files: Vec::new(),
        options: ConvertOptions {
            invert,
            ..ConvertOptions::default()
        },
    };
    let Reply::Imported(auto) = send(&mut host, import(Invert::Auto)) else {
        panic!("imported")
    };
    assert_eq!(auto.count, 12, "both parts");
    assert!(auto.inverted);
    let Reply::Imported(never) = send(&mut host, import(Invert::Never)) else {
        panic!("imported again")
    };
    assert_eq!(never.count, 12);
    assert!(!never.inverted);
    assert_eq!(never.pixels[0], 255 - auto.pixels[0]);
    // More than 400 MB staged in all is refused, and what was staged stays.
    let huge = part("huge.bin", vec![0; 400_000_000]);
    assert!(matches!(
        send(&mut host, huge),
        Reply::Failed(TrainerError::Refused(m)) if m.starts_with("more than 400 MB")
    ));
    assert!(matches!(send(&mut host, import(Invert::Auto)), Reply::Imported(d) if d.count == 12));
}

#[test]
fn imported_data_trains_on_nine_tenths_and_scores_against_the_tenth_held_out() {
    let mut host = Host::default();
    let quality = Command::Quality {
        classifier: ByteBuf::from(classifier_file()),
    };
    assert_eq!(send(&mut host, quality), Reply::Done);
    let data = |count: usize, name: &str| Command::Data {
        count,
        pixels: ByteBuf::from(
            (0..count * 784)
                .map(|i| (i * 37 % 256) as u8)
                .collect::<Vec<_>>(),
        ),
        labels: None,
        source: DataRef {
            name: name.into(),
            sha256: Some("ab12".into()),
        },
    };
    // 40 images: 36 train (5 batches of 8, the last of 4), 4 are held out.
    assert_eq!(send(&mut host, data(40, "mine")), Reply::Done);
    let create = Command::Create {
        config: config(),
        path: ComputePath::Cpu,
    };
    assert_eq!(send(&mut host, create.clone()), Reply::Done);
    let finished: Vec<Option<usize>> = (0..5)
        .map(|_| match send(&mut host, Command::Step) {
            Reply::Step(report) => report.finished_epoch,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(finished, [None, None, None, None, Some(1)]);
    let score = Command::Score { samples: 100 };
    let Reply::Score(mine) = send(&mut host, score.clone()) else {
        panic!("a score against the held-out images")
    };
    assert!(mine.fid.is_finite() && mine.fid > 0.0);
    // MNIST's statistics give another distance for the same samples.
    let mut mnist = Host::default();
    let quality = Command::Quality {
        classifier: ByteBuf::from(classifier_file()),
    };
    assert_eq!(send(&mut mnist, quality), Reply::Done);
    let Command::Data { pixels, .. } = data(40, "x") else {
        unreachable!()
    };
    let mnist_data = Command::Data {
        count: 40,
        pixels,
        labels: None,
        source: DataRef::mnist(),
    };
    assert_eq!(send(&mut mnist, mnist_data), Reply::Done);
    assert_eq!(send(&mut mnist, create.clone()), Reply::Done);
    for _ in 0..5 {
        assert!(matches!(send(&mut mnist, Command::Step), Reply::Step(_)));
    }
    let Reply::Score(against_mnist) = send(&mut mnist, score.clone()) else {
        panic!("a score against MNIST")
    };
    assert_ne!(mine.fid, against_mnist.fid);

    // Too few images to hold out a tenth: the score says so.
    assert_eq!(send(&mut host, data(15, "few")), Reply::Done);
    assert_eq!(send(&mut host, create), Reply::Done);
    assert!(matches!(
        send(&mut host, score),
        Reply::Failed(TrainerError::Refused(m)) if m.contains("too few images to hold out")
    ));
}

/// A thread whose "WebGPU" device is Burn's CPU device (every product kernel computes Burn's
/// product there), to follow the host's kernel choices natively.
struct CpuAsWebGpu;

impl mnist_gan_web::session::Platform for CpuAsWebGpu {
    fn device(&self, _path: ComputePath) -> Result<burn::tensor::Device, TrainerError> {
        Ok(device())
    }
    fn start_webgpu(
        &self,
        products: Option<Products>,
    ) -> mnist_gan_web::session::Pending<Result<(), TrainerError>> {
        matmul::use_products(&device(), products.unwrap_or_default());
        Box::pin(std::future::ready(Ok(())))
    }
    fn memory_bytes(&self) -> f64 {
        ALONE.memory_bytes()
    }
    fn group(&self) -> Option<std::rc::Rc<dyn mnist_gan_web::session::Exchange>> {
        None
    }
    fn clock(&self) -> fn() -> f64 {
        ALONE.clock()
    }
    fn decoders(&self) -> std::rc::Rc<dyn mnist_gan_web::import::Decoders> {
        ALONE.decoders()
    }
}

#[test]
fn a_calibration_times_the_kernel_asked_for_and_puts_the_devices_own_back() {
    use mnist_gan_web::session::Platform;

    let mut host = ready_host();
    let mut send_here = |command| block_on(host.start(command, &CpuAsWebGpu));
    assert_eq!(
        send_here(Command::StartWebGpu {
            products: Some(Products::RegisterTiled)
        }),
        Reply::Done
    );
    assert_eq!(matmul::products_on(&device()), Products::RegisterTiled);
    for products in Products::ALL {
        let timing = send_here(Command::Calibrate {
            config: config(),
            path: ComputePath::WebGpu,
            warm_up: 1,
            steps: 1,
            products: Some(products),
        });
        assert!(
            matches!(timing, Reply::Timing(ms) if ms > 0.0),
            "{timing:?}"
        );
        assert_eq!(matmul::products_on(&device()), Products::RegisterTiled);
    }
    // Nothing to time: still put back.
    let refused = send_here(Command::Calibrate {
        config: config(),
        path: ComputePath::WebGpu,
        warm_up: 0,
        steps: 0,
        products: Some(Products::SplitDepth),
    });
    assert!(matches!(refused, Reply::Failed(_)), "{refused:?}");
    assert_eq!(matmul::products_on(&device()), Products::RegisterTiled);
    assert_eq!(
        send_here(Command::StartWebGpu { products: None }),
        Reply::Done
    );
    assert_eq!(matmul::products_on(&device()), Products::Burns);
    assert!(CpuAsWebGpu.device(ComputePath::Cpu).is_ok());
}
