//! Browser tests: `wasm-bindgen-test` in headless Chromium, WebGPU on SwiftShader, and the CPU
//! path (Burn's CPU backend compiled to wasm SIMD, in a real Web Worker).
//! SwiftShader is slow (seconds per batch-256 step, shaders compiled on first use), so the
//! WebGPU tests are few and share one batch size, 256, the golden fixture's.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use mnist_gan_web::app::library::{MIGRATED_KEY, RunSummary, SaveFailure, migrate};
use mnist_gan_web::app::{Effect, Event, Model};
use mnist_gan_web::calibration::CalibrationStore;
use mnist_gan_web::data::Dataset;
use mnist_gan_web::model::ModelKind;
use mnist_gan_web::path::{ComputePath, CpuWorkers, GpuProbe, PathPreference, choose_path};
use mnist_gan_web::protocol::{
    Command, Reply, StepReport, TrainerError, bytes_to_floats, floats_to_bytes,
};
use mnist_gan_web::session::{Exchange, GRID_SIDE, TrainerSession};
use mnist_gan_web::shard::{ShardGradients, ShardPlace, combine};
use mnist_gan_web::train::Labels;
use mnist_gan_web::web::client::{Requests, TrainerWorker};
use mnist_gan_web::web::dataset::{self, DataFile, LoadError};
use mnist_gan_web::web::group::TrainerGroup;
use mnist_gan_web::web::library::RunLibrary;
use mnist_gan_web::web::locks;
use mnist_gan_web::web::replicas::PortExchange;
use mnist_gan_web::web::store::{self, SavedRun};
use mnist_gan_web::web::{gpu, render};
use mnist_gan_web::{Checkpoint, Trainer, TrainingConfig};
use safetensors::SafeTensors;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const GOLDEN: &[u8] = include_bytes!("fixtures/keras_3_steps.safetensors");
/// The conditional model's three steps (`tests/fixtures/record_golden.py --model conditional`).
const CONDITIONAL: &[u8] = include_bytes!("fixtures/conditional_3_steps.safetensors");
/// The convolutional model's three steps (`tests/fixtures/record_golden.py --model sharp`).
const SHARP: &[u8] = include_bytes!("fixtures/sharp_3_steps.safetensors");
const LABELS_GZ: &[u8] = include_bytes!("../www/data/mnist/t10k-labels-idx1-ubyte.gz");
const IMAGES_GZ: &[u8] = include_bytes!("../www/data/mnist/t10k-images-idx3-ubyte.gz");

fn fixture(name: &str) -> (Vec<f32>, Vec<usize>) {
    fixture_in(GOLDEN, name)
}

fn fixture_in(golden: &[u8], name: &str) -> (Vec<f32>, Vec<usize>) {
    common::tensor(&SafeTensors::deserialize(golden).unwrap(), name)
}

fn upload(trainer: &Trainer, name: &str) -> Tensor<2> {
    upload_in(GOLDEN, trainer, name)
}

fn upload_in(golden: &[u8], trainer: &Trainer, name: &str) -> Tensor<2> {
    let (values, shape) = fixture_in(golden, name);
    Tensor::from_data(
        TensorData::new(values, [shape[0], shape[1]]),
        trainer.gan.device(),
    )
}

fn golden_trainer_on(device: &Device) -> Trainer {
    Checkpoint::from_bytes(GOLDEN, "init.", &TrainingConfig::default())
        .expect("init.* loads")
        .into_trainer(device)
}

async fn golden_trainer() -> Trainer {
    golden_trainer_on(&gpu::device().await.expect("WebGPU device"))
}

#[wasm_bindgen_test]
async fn webgpu_initialises_with_an_adapter() {
    let GpuProbe::Adapter(info) = gpu::probe().await else {
        panic!("no WebGPU adapter");
    };
    web_sys::console::log_1(&format!("adapter: {}", info.summary()).into());
    let device = gpu::device().await.expect("a device");
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]),
        &device,
    );
    let data = (x.clone().matmul(x)).into_data_async().await.unwrap();
    assert_eq!(data.as_slice::<f32>().unwrap(), &[7.0, 10.0, 15.0, 22.0]);
}

/// The CPU backend's products in the browser run through the patched wasm micro-kernel
/// (`patches/gemm-f32/src/simd128.rs`): the step's products, and sizes off its 8 × 4 tiles in
/// each transposition with both gradients, against double precision, as natively
/// (`tests/matmul.rs`).
#[wasm_bindgen_test]
async fn cpu_products_and_gradients_are_within_a_millionth_of_double_precision() {
    use common::products::{against_double_precision, odd_products, step_products};
    let device = Device::flex();
    let mut results = against_double_precision(&device, &step_products(), false).await;
    results.extend(against_double_precision(&device, &odd_products(), true).await);
    assert_eq!(results.len(), step_products().len() + odd_products().len());
    for (product, difference) in &results {
        assert!(*difference <= 1e-6, "{product:?}: {difference:e}");
    }
    let worst = results.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    web_sys::console::log_1(&format!("the largest difference: {worst:?}").into());
}

/// On SwiftShader the worker's device sends its products through the register-tiled kernel
/// (`mnist_gan_web::matmul`), whose values and gradients are Burn's own product's to float
/// rounding, for each tracked operand, shape and transposed view, with its depth whole or split
/// (`SHAPES` has a depth of 784: four parts).
#[wasm_bindgen_test]
async fn register_tiled_products_match_burns_on_a_software_adapter() {
    use common::products::{SHAPES, TRACKED, burns, product_and_gradients, relative_difference};
    use mnist_gan_web::matmul::{self, Products};

    let GpuProbe::Adapter(info) = gpu::probe().await else {
        panic!("no WebGPU adapter");
    };
    assert!(
        info.is_swiftshader(),
        "headless Chromium's adapter is SwiftShader"
    );
    let device = gpu::device().await.expect("a device");
    assert_eq!(matmul::products_on(&device), Products::RegisterTiled);
    assert_eq!(
        matmul::products_on(&device.clone().autodiff()),
        Products::RegisterTiled
    );
    for (kernel, shape) in [matmul::register_tiled, matmul::split_depth]
        .into_iter()
        .flat_map(|kernel| SHAPES.map(|shape| (kernel, shape)))
    {
        for transposed in [false, true] {
            for tracked in TRACKED {
                let case = format!("{shape:?}, transposed {transposed}, tracked {tracked:?}");
                let actual =
                    product_and_gradients(&device, kernel, shape, transposed, tracked).await;
                let expected =
                    product_and_gradients(&device, burns, shape, transposed, tracked).await;
                for (part, (actual, expected)) in ["values", "left gradient", "right gradient"]
                    .iter()
                    .zip(actual.iter().zip(&expected))
                {
                    let difference = relative_difference(actual, expected);
                    assert!(difference <= 1e-5, "{part}, {case}: {difference}");
                }
                assert_eq!(actual[1].is_empty(), !tracked.0, "{case}");
                assert_eq!(actual[2].is_empty(), !tracked.1, "{case}");
            }
        }
    }
}

/// TensorFlow's three recorded steps on WebGPU, with a weights file saved after the first and
/// loaded into a new trainer: the GPU's flat parameters and optimizer slots (aligned, padded)
/// go out to the file's layers and back, and are reused from one step to the next.
#[wasm_bindgen_test]
async fn golden_steps_match_tensorflow_on_webgpu_across_a_reload() {
    let mut trainer = golden_trainer().await;
    golden_first_step_matches_tensorflow(&mut trainer, "WebGPU").await;
    let saved = Checkpoint::capture(&trainer).await.unwrap();
    let mut trainer = saved.into_trainer(&gpu::device().await.unwrap());
    for step in ["step2", "step3"] {
        let x = upload(&trainer, &format!("{step}.x"));
        let z = upload(&trainer, &format!("{step}.z"));
        let values = trainer.gan.train_step(x, z).unwrap().read().await.unwrap();
        assert_losses(step, values, "WebGPU after a reload");
    }
    matches_tensorflow_after(&trainer, "after3", "WebGPU after a reload").await;
}

/// TensorFlow's three recorded steps on one WebGPU trainer: the first prepares a capture, the
/// second warms it up, the third is recorded and replayed (`train::graph`), and the state after
/// it is TensorFlow's.
#[wasm_bindgen_test]
async fn golden_steps_match_tensorflow_on_webgpu_through_a_replayed_step() {
    let mut trainer = golden_trainer().await;
    for step in ["step1", "step2", "step3"] {
        let x = upload(&trainer, &format!("{step}.x"));
        let z = upload(&trainer, &format!("{step}.z"));
        let values = trainer.gan.train_step(x, z).unwrap().read().await.unwrap();
        assert_losses(step, values, "WebGPU, replayed");
    }
    assert!(trainer.gan.replays(), "the third step was captured");
    matches_tensorflow_after(&trainer, "after3", "WebGPU, replayed").await;
}

/// Ten steps of batch 16 on WebGPU, replayed where they can be, against the same steps run
/// normally: two epochs of four whole batches and a short one, so each epoch prepares, warms
/// up, captures and replays, and its short batch runs normally and starts over. Each pair of
/// steps is queued before either's statistics are read, and a weights file is captured after
/// the first capture and read after the replay that follows: each must be what it was when
/// taken, although the replays update the state in place.
#[wasm_bindgen_test]
async fn replayed_steps_on_webgpu_train_exactly_like_normal_steps() {
    let data = four_batches_and_a_short_one().await;
    let config = TrainingConfig {
        epochs: 2,
        ..small_config()
    };
    let device = gpu::device().await.unwrap();
    let mut replayed = Trainer::new(config.clone(), &device).unwrap();
    let mut normal = Trainer::new(config, &device).unwrap();
    normal.gan.set_replay(false);
    let mut replays = Vec::new();
    for pair in 0..5 {
        let first = replayed.step(&data).unwrap().stats;
        replays.push(replayed.gan.replays());
        let saved = (pair == 1).then(|| Checkpoint::capture(&replayed));
        let second = replayed.step(&data).unwrap().stats;
        replays.push(replayed.gan.replays());
        let (first, second) = (first.read().await.unwrap(), second.read().await.unwrap());

        let expected_first = normal.step(&data).unwrap().stats.read().await.unwrap();
        if let Some(saved) = saved {
            let expected = Checkpoint::capture(&normal).await.unwrap();
            assert!(
                saved.await.unwrap() == expected,
                "the weights file taken after step {} is that step's",
                2 * pair
            );
        }
        let expected_second = normal.step(&data).unwrap().stats.read().await.unwrap();
        assert_eq!(first, expected_first, "step {}", 2 * pair);
        assert_eq!(second, expected_second, "step {}", 2 * pair + 1);
    }
    assert_eq!(replayed.progress, normal.progress);
    assert_eq!(replayed.progress.epoch, 2);
    // Each epoch: prepared, warmed up, captured (and replayed once), replayed, short batch.
    let epoch = [false, false, true, true, false];
    assert_eq!(
        replays,
        [epoch, epoch].concat(),
        "which steps replay a capture"
    );
    let (after, expected) = (
        Checkpoint::capture(&replayed).await.unwrap(),
        Checkpoint::capture(&normal).await.unwrap(),
    );
    assert!(
        after == expected,
        "the two trainers end with the same state"
    );
}

/// A WebGPU session's grid comes from its CPU copy of the starting generator until the first
/// step (the page shows it before the GPU has compiled a kernel): the GPU's own images within
/// float rounding, for a new session and a loaded one; after a step, the GPU's images.
#[wasm_bindgen_test]
async fn a_webgpu_sessions_grid_comes_from_the_cpu_until_its_first_step() {
    let device = gpu::device().await.expect("WebGPU device");
    let on_gpu = |session: &TrainerSession| {
        let gan = &session.trainer.gan;
        let rows = GRID_SIDE * GRID_SIDE;
        let noise = session.grid_noise().to_vec();
        let images = gan.generate(gan.upload(noise, rows, session.trainer.config.noise_dim));
        async move {
            let data = images.into_data_async().await.unwrap();
            data.try_to_vec::<f32>().unwrap()
        }
    };
    let mut session = TrainerSession::new(small_config(), &device).unwrap();
    assert!(session.previews());
    let first = session.grid(&[]).unwrap().await.unwrap();
    assert_eq!(first.len(), GRID_SIDE * GRID_SIDE * 784);
    let difference = common::max_abs_diff(&first, &on_gpu(&session).await);
    assert!(
        difference < 1e-5,
        "the CPU's grid is {difference} off the GPU's"
    );

    let file = session.capture().await.unwrap();
    let checkpoint = Checkpoint::from_bytes(&file, "", &small_config()).unwrap();
    let loaded = TrainerSession::from_checkpoint(checkpoint, &device);
    assert!(loaded.previews());
    assert_eq!(
        loaded.grid(&[]).unwrap().await.unwrap(),
        first,
        "the file's generator, on the CPU"
    );

    session.step(&small_dataset().await).unwrap().await.unwrap();
    assert!(
        !session.previews(),
        "a step changes the weights: the GPU draws"
    );
    let trained = session.grid(&[]).unwrap().await.unwrap();
    assert_eq!(trained, on_gpu(&session).await);
    assert_ne!(trained, first);
}

#[wasm_bindgen_test]
async fn golden_first_step_matches_tensorflow_on_the_wasm_cpu_backend() {
    let mut trainer = golden_trainer_on(&Device::flex());
    golden_first_step_matches_tensorflow(&mut trainer, "wasm CPU").await;
}

async fn golden_first_step_matches_tensorflow(trainer: &mut Trainer, path: &str) {
    let (x, z) = (upload(trainer, "step1.x"), upload(trainer, "step1.z"));
    let stats = trainer.gan.train_step(x, z).unwrap().read().await.unwrap();
    matches_tensorflow_after_one_step(trainer, stats, path).await;
}

#[wasm_bindgen_test]
async fn golden_first_step_matches_tensorflow_in_two_and_three_shards_on_the_wasm_cpu_backend() {
    for count in [2, 3] {
        let mut trainer = golden_trainer_on(&Device::flex());
        let (x, z) = (fixture("step1.x").0, fixture("step1.z").0);
        let parts: Vec<_> = (0..count)
            .map(|i| {
                let place = ShardPlace::new(i, count).unwrap();
                trainer.gan.shard_part(&x, &z, place, 0).unwrap()
            })
            .collect();
        let whole = combine(parts).unwrap();
        trainer.gan.apply_host_gradients(&whole.grads).unwrap();
        let path = format!("{count} shards on the wasm CPU");
        matches_tensorflow_after_one_step(&trainer, whole.values, &path).await;
    }
}

async fn matches_tensorflow_after_one_step(
    trainer: &Trainer,
    stats: mnist_gan_web::StepValues,
    path: &str,
) {
    assert_losses("step1", stats, path);
    matches_tensorflow_after(trainer, "after1", path).await;
}

/// The step's two losses within 1e-4 (relative) of TensorFlow's.
fn assert_losses(step: &str, stats: mnist_gan_web::StepValues, path: &str) {
    assert_losses_in(GOLDEN, step, stats, path);
}

fn assert_losses_in(golden: &[u8], step: &str, stats: mnist_gan_web::StepValues, path: &str) {
    for (loss, actual) in [("d_loss", stats.d_loss), ("g_loss", stats.g_loss)] {
        let name = format!("{step}.{loss}");
        let expected = fixture_in(golden, &name).0[0];
        let relative = ((actual - expected) / expected).abs();
        assert!(
            relative <= 1e-4,
            "{name}: {path} {actual} vs TensorFlow {expected}"
        );
    }
}

/// Every layer of `trainer` within 1e-4 of TensorFlow's recorded weights `after` (`after1`…).
async fn matches_tensorflow_after(trainer: &Trainer, after: &str, path: &str) {
    matches_tensorflow_after_in(GOLDEN, trainer, after, path).await;
}

async fn matches_tensorflow_after_in(golden: &[u8], trainer: &Trainer, after: &str, path: &str) {
    let captured = Checkpoint::capture(trainer).await.unwrap();
    for (name, layer) in captured.named_layers() {
        for (part, actual) in [("kernel", &layer.kernel), ("bias", &layer.bias)] {
            let (expected, _) = fixture_in(golden, &format!("{after}.{name}.{part}"));
            let diff = common::max_abs_diff(actual, &expected);
            assert!(
                diff <= 1e-4,
                "{after}.{name}.{part} on {path}: max abs difference {diff:e}"
            );
        }
    }
}

#[wasm_bindgen_test]
async fn weights_export_with_async_reads_and_reimport() {
    let mut trainer = golden_trainer().await;
    let (x, z) = (upload(&trainer, "step1.x"), upload(&trainer, "step1.z"));
    trainer.gan.train_step(x, z).unwrap();
    let saved = Checkpoint::capture(&trainer).await.unwrap();
    let bytes = saved.to_bytes();
    let loaded = Checkpoint::from_bytes(&bytes, "", &TrainingConfig::default()).unwrap();
    assert_eq!(loaded, saved);
    let device = gpu::device().await.unwrap();
    let again = Checkpoint::capture(&loaded.into_trainer(&device))
        .await
        .unwrap();
    assert_eq!(again, saved, "through the GPU and back, bit for bit");
    assert_eq!(again.optimizers.unwrap().generator.iterations, 1);
    // A corrupt file is refused.
    assert!(Checkpoint::from_bytes(&bytes[..1000], "", &TrainingConfig::default()).is_err());
}

/// An object URL serving `bytes`, fetched like any other URL.
fn object_url(bytes: &[u8]) -> String {
    object_url_of(bytes, "application/octet-stream")
}

/// An object URL serving `bytes` as `mime`.
fn object_url_of(bytes: &[u8], mime: &str) -> String {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).unwrap();
    web_sys::Url::create_object_url_with_blob(&blob).unwrap()
}

async fn fetch(url: &str, expected: &DataFile) -> Result<Vec<u8>, LoadError> {
    let mut chunks = 0u64;
    let mut total = 0u64;
    let result =
        dataset::fetch_verified(url, expected, &mut |n| chunks += n, &mut |t| total = t).await;
    if let Ok(bytes) = &result {
        assert_eq!(chunks, bytes.len() as u64, "progress counts every byte");
    }
    result
}

#[wasm_bindgen_test]
async fn mnist_bytes_are_fetched_verified_decompressed_and_parsed() {
    let labels = dataset::data_file("t10k-labels-idx1-ubyte.gz");
    let url = object_url(LABELS_GZ);
    let gz = fetch(&url, &labels).await.expect("fetched and verified");
    let idx = dataset::gunzip(&labels.name, &gz).await.expect("gunzipped");
    let parsed = mnist_gan_web::idx::parse_labels(&idx).unwrap();
    assert_eq!(parsed.len(), 10_000);
    assert_eq!(parsed[0], 7);

    let images = dataset::data_file("t10k-images-idx3-ubyte.gz");
    let gz = fetch(&object_url(IMAGES_GZ), &images).await.unwrap();
    let parsed =
        mnist_gan_web::idx::parse_images(&dataset::gunzip(&images.name, &gz).await.unwrap())
            .unwrap();
    assert_eq!(parsed.count, 10_000);
}

#[wasm_bindgen_test]
async fn each_dataset_failure_gives_its_error() {
    let labels = dataset::data_file("t10k-labels-idx1-ubyte.gz");
    // The wrong file: the checksum catches it.
    let wrong = fetch(&object_url(IMAGES_GZ), &labels).await.unwrap_err();
    assert!(matches!(wrong, LoadError::Checksum { .. }), "{wrong}");
    // A missing file: the test server answers 404.
    let missing = fetch("/no-such-file.gz", &labels).await.unwrap_err();
    assert!(
        matches!(missing, LoadError::Http { status: 404, .. }),
        "{missing}"
    );
    // An empty response: nothing arrives, the checksum says so.
    let empty = fetch(&object_url(&[]), &labels).await.unwrap_err();
    assert!(matches!(empty, LoadError::Checksum { .. }), "{empty}");
    // A truncated gzip stream.
    let truncated = dataset::gunzip("cut.gz", &LABELS_GZ[..LABELS_GZ.len() / 2])
        .await
        .unwrap_err();
    assert!(matches!(truncated, LoadError::Gzip { .. }), "{truncated}");
    // Gzip that holds no IDX: the parser says so.
    let idx = dataset::gunzip("labels", LABELS_GZ).await.unwrap();
    assert!(mnist_gan_web::idx::parse_images(&idx).is_err());
}

#[wasm_bindgen_test]
async fn the_sample_canvas_is_drawn() {
    let trainer = golden_trainer().await;
    let images = trainer
        .gan
        .generate(upload(&trainer, "step1.z"))
        .into_data_async()
        .await
        .unwrap();
    let pixels = images.try_to_vec::<f32>().unwrap();
    let document = web_sys::window().unwrap().document().unwrap();
    let canvas: web_sys::HtmlCanvasElement =
        document.create_element("canvas").unwrap().unchecked_into();
    render::draw_images(&canvas, &pixels, 8, 8).unwrap();
    assert_eq!((canvas.width(), canvas.height()), (224, 224));
    let drawn = render::context(&canvas)
        .unwrap()
        .get_image_data(0.0, 0.0, 224.0, 224.0)
        .unwrap()
        .data();
    let first = drawn[0];
    assert!(
        drawn.iter().step_by(4).any(|&v| v != first),
        "the grid is not blank"
    );
    assert!(drawn.iter().skip(3).step_by(4).all(|&a| a == 255), "opaque");
}

#[wasm_bindgen_test]
async fn this_browsers_software_adapter_gets_the_cpu_worker() {
    // Headless Chromium's WebGPU is SwiftShader: the automatic choice must avoid it.
    let probe = gpu::probe().await;
    let choice = choose_path(&probe, PathPreference::Auto);
    assert_eq!(
        choice.path,
        ComputePath::Cpu,
        "{probe:?}: {}",
        choice.reason
    );
    // Nor is it measured: the page with this adapter goes to the CPU path at once.
    let (mut model, _) = Model::boot(
        PathPreference::Auto,
        CpuWorkers::new(2),
        CalibrationStore::default(),
        "tab",
    );
    let effects = model.update(Event::GpuProbed(probe), 0.0);
    assert!(model.calibration_key().is_none());
    assert!(
        effects
            .iter()
            .all(|e| !matches!(e, Effect::Calibrate { .. })),
        "{effects:?}"
    );
}

/// Both paths timed in the worker, WebGPU with each kernel for its products; on SwiftShader the
/// measured choice is one of the register-tiled kernels, and the kernel it takes without
/// measuring (as the page does) today's register tiles.
#[wasm_bindgen_test]
async fn calibrating_in_the_worker_times_both_paths_and_each_product_kernel() {
    use mnist_gan_web::calibration::{Calibration, CalibrationKey};
    use mnist_gan_web::matmul::Products;

    // Forced here (the page never measures a software adapter): a few small steps on each.
    let GpuProbe::Adapter(info) = gpu::probe().await else {
        panic!("no WebGPU adapter");
    };
    let data = small_dataset().await;
    let worker = TrainerWorker::spawn().expect("the worker starts");
    worker.send_images(&data).await.unwrap();
    let config = small_config();
    let (products, cpu) = worker.calibrate(&config, 1, 2).await;
    web_sys::console::log_1(&format!("calibration: WebGPU {products:?}, CPU {cpu:?}").into());
    assert_eq!(
        products.iter().map(|t| t.products).collect::<Vec<_>>(),
        Products::ALL
    );
    let timings = products.iter().map(|t| (t.products.name(), t.ms.clone()));
    for (what, timing) in timings.chain([("the CPU", cpu.clone())]) {
        let ms = timing.unwrap_or_else(|e| panic!("{what} was not measured: {e}"));
        assert!(ms.is_finite() && ms > 0.0, "{what}: {ms} ms/step");
    }
    // The register tiles, whole or split, beat CubeCL's kernel by far; between those two the
    // measurement decides (at batch 16 they are within a few per cent: 107–112 against
    // 107–118 ms). The page itself never measures SwiftShader: its kernel is the adapter's own.
    let ms = |kernel| {
        products
            .iter()
            .find(|t| t.products == kernel)
            .unwrap()
            .ms
            .clone()
            .unwrap()
    };
    for tiled in [Products::RegisterTiled, Products::SplitDepth] {
        assert!(ms(tiled) * 2.0 < ms(Products::Burns), "{products:?}");
    }
    let key = CalibrationKey::new(&info, config.model, config.batch_size, 1);
    let calibration = Calibration::measured(key, products, cpu, info.products());
    assert!(
        matches!(
            calibration.chosen,
            Some(Products::RegisterTiled | Products::SplitDepth)
        ),
        "{calibration:?}"
    );
    assert_eq!(info.products(), Products::RegisterTiled);
    assert!(worker.failure().is_none());
}

async fn test_images() -> Dataset {
    let idx = dataset::gunzip("t10k-images", IMAGES_GZ).await.unwrap();
    Dataset::new(mnist_gan_web::idx::parse_images(&idx).unwrap())
}

/// The first 72 test images: at batch 16, four whole batches and a short one of 8.
async fn four_batches_and_a_short_one() -> Dataset {
    let images = test_images().await;
    Dataset::new(mnist_gan_web::idx::IdxImages {
        count: 72,
        pixels: images.images().pixels[..72 * 784].to_vec(),
    })
}

/// The first 48 test images: 3 batches of 16.
async fn small_dataset() -> Dataset {
    let images = test_images().await;
    Dataset::new(mnist_gan_web::idx::IdxImages {
        count: 48,
        pixels: images.images().pixels[..48 * 784].to_vec(),
    })
}

/// Batch 16, one update per batch, an epoch of 3 batches (48 images), snapshot every epoch.
fn small_config() -> TrainingConfig {
    TrainingConfig {
        batch_size: 16,
        snapshot_every: 1,
        epochs: 2,
        ..TrainingConfig::default()
    }
}

/// The worker with the images and a trainer for `path`.
async fn worker_with(data: &Dataset, path: ComputePath) -> std::rc::Rc<TrainerWorker> {
    let worker = TrainerWorker::spawn().expect("the worker starts");
    worker
        .send_images(data)
        .await
        .expect("the worker has the images");
    if path == ComputePath::WebGpu {
        worker
            .acknowledge(Command::StartWebGpu { products: None })
            .await
            .expect("WebGPU starts in the worker");
    }
    let create = Command::Create {
        config: small_config(),
        path,
    };
    worker.acknowledge(create).await.expect("a trainer");
    worker
}

async fn step(worker: &TrainerWorker) -> Result<StepReport, TrainerError> {
    match worker.request(Command::Step).await? {
        Reply::Step(report) => Ok(report),
        other => Err(other.unexpected()),
    }
}

async fn grid(worker: &TrainerWorker) -> Result<Vec<f32>, TrainerError> {
    match worker.request(Command::Grid { digits: Vec::new() }).await? {
        Reply::Pixels(bytes) => Ok(bytes_to_floats(&bytes)),
        other => Err(other.unexpected()),
    }
}

async fn capture(worker: &TrainerWorker, checked: bool) -> Result<Vec<u8>, TrainerError> {
    match worker.request(Command::Capture { checked }).await? {
        Reply::Weights(bytes) => Ok(bytes.into_vec()),
        other => Err(other.unexpected()),
    }
}

fn load(bytes: &[u8], path: ComputePath) -> Command {
    Command::Load {
        weights: serde_bytes::ByteBuf::from(bytes.to_vec()),
        fallback: small_config(),
        path,
    }
}

#[wasm_bindgen_test]
async fn the_worker_trains_exactly_like_the_core_on_both_paths() {
    let data = small_dataset().await;
    let worker = worker_with(&data, ComputePath::Cpu).await;
    let mut local = TrainerSession::new(small_config(), &Device::flex()).unwrap();
    let mut snapshots = 0;
    for n in 0..4 {
        let remote = step(&worker).await.expect("the worker steps");
        let expected = local.step(&data).unwrap().await.unwrap();
        assert_eq!(remote, expected, "step {n}: worker and core agree");
        assert!(remote.values.is_finite());
        snapshots += usize::from(remote.snapshot.is_some());
    }
    assert_eq!(local.trainer.progress.epoch, 1);
    assert_eq!(
        snapshots, 1,
        "the snapshot after epoch 1 comes with its step"
    );
    let cpu_grid = grid(&worker).await.unwrap();
    let local_grid = local.grid(&[]).unwrap().await.unwrap();
    assert!(
        cpu_grid == local_grid,
        "grids differ by {:e}",
        common::max_abs_diff(&cpu_grid, &local_grid)
    );

    // The worker's weights file is the core's, and loads on the worker's WebGPU device with the
    // same samples (a file from one path loads in the other).
    let bytes = capture(&worker, false).await.unwrap();
    let local_bytes = local.capture().await.unwrap();
    // Equal as checkpoints (the header's metadata map has no fixed order).
    let parse = |b: &[u8]| Checkpoint::from_bytes(b, "", &TrainingConfig::default()).unwrap();
    assert!(
        parse(&bytes) == parse(&local_bytes),
        "the worker's weights file is the core's"
    );
    assert_eq!(parse(&bytes).progress, local.trainer.progress);
    worker
        .acknowledge(Command::StartWebGpu { products: None })
        .await
        .expect("WebGPU starts in the worker");
    worker
        .acknowledge(load(&bytes, ComputePath::WebGpu))
        .await
        .expect("loaded on WebGPU");
    let gpu_grid = grid(&worker).await.unwrap();
    let diff = common::max_abs_diff(&cpu_grid, &gpu_grid);
    assert!(diff <= 1e-4, "WebGPU's samples differ by {diff:e}");
    // It trains on from the same position there, like the core does on the CPU.
    let gpu_report = step(&worker).await.expect("a WebGPU step");
    let cpu_report = local.step(&data).unwrap().await.unwrap();
    let relative =
        (gpu_report.values.d_loss - cpu_report.values.d_loss).abs() / cpu_report.values.d_loss;
    assert!(relative <= 1e-4, "{gpu_report:?} vs {cpu_report:?}");

    // A bad file is refused with a message; the worker keeps its model and goes on.
    let refused = worker.acknowledge(load(b"junk", ComputePath::Cpu)).await;
    assert!(
        matches!(refused, Err(TrainerError::Refused(_))),
        "{refused:?}"
    );
    assert_eq!(
        capture(&worker, true).await.unwrap().len(),
        bytes.len(),
        "the model is still there"
    );
    assert!(worker.failure().is_none());
}

#[wasm_bindgen_test]
async fn two_workers_train_as_replicas_and_their_checkpoint_goes_on_in_one() {
    let data = small_dataset().await;
    let group = TrainerGroup::spawn(2).expect("two workers start");
    group.send_images(&data).await.unwrap();
    let create = Command::Create {
        config: small_config(),
        path: ComputePath::Cpu,
    };
    group.acknowledge(create).await.expect("a trainer on each");
    let mut local = TrainerSession::new(small_config(), &Device::flex()).unwrap();
    let close = |a: &StepReport, b: &StepReport| {
        let (x, y) = (a.values, b.values);
        [
            (x.d_loss, y.d_loss),
            (x.g_loss, y.g_loss),
            (x.d_real, y.d_real),
            (x.d_fake, y.d_fake),
        ]
        .iter()
        .all(|(p, q)| (p - q).abs() <= 1e-5)
            && a.finished_epoch == b.finished_epoch
    };
    // Four batches cross epoch 1, where the group compares the replicas' checksums.
    for n in 0..4 {
        let Reply::Step(remote) = group.request(Command::Step).await.expect("both step alike")
        else {
            panic!("not a step");
        };
        let expected = local.step(&data).unwrap().await.unwrap();
        assert!(
            close(&remote, &expected),
            "step {n}: {remote:?} vs {expected:?}"
        );
    }
    // Bit-identical replicas: the group refuses checksums that differ.
    let sum = group
        .request(Command::Checksum)
        .await
        .expect("the replicas agree");
    assert!(matches!(sum, Reply::Checksum(_)), "{sum:?}");
    let Reply::Weights(bytes) = group
        .request(Command::Capture { checked: true })
        .await
        .unwrap()
    else {
        panic!("no weights");
    };
    let alone = TrainerWorker::spawn().unwrap();
    alone.send_images(&data).await.unwrap();
    alone
        .acknowledge(load(&bytes, ComputePath::Cpu))
        .await
        .expect("a group's file loads into one worker");
    let next_alone = step(&alone).await.unwrap();
    let Reply::Step(next_group) = group.request(Command::Step).await.unwrap() else {
        panic!("not a step");
    };
    assert!(
        close(&next_alone, &next_group),
        "{next_alone:?} vs {next_group:?}"
    );
    assert!(group.failure().is_none() && alone.failure().is_none());
}

fn saved_run(
    session: &TrainerSession,
    bytes: Vec<u8>,
    history: &[mnist_gan_web::StepValues],
) -> SavedRun {
    SavedRun {
        weights: serde_bytes::ByteBuf::from(bytes),
        epoch: session.trainer.progress.epoch,
        step: session.trainer.progress.step,
        history: SavedRun::encode_history(history),
        snapshots: vec![(1, serde_bytes::ByteBuf::from(floats_to_bytes(&[0.5; 784])))],
        saved_at: 1.0,
    }
}

fn summary_of(key: &str, run: &SavedRun) -> RunSummary {
    RunSummary::of(key, key, &small_config(), run)
}

/// A second context (a dedicated worker) that takes run `key`'s lock and keeps it.
async fn lock_holder(key: &str) -> web_sys::Worker {
    let source = format!(
        "navigator.locks.request('mnist-gan-run:{key}', () => {{ postMessage('held'); return new Promise(() => {{}}); }});"
    );
    let url = object_url_of(source.as_bytes(), "text/javascript");
    let worker = web_sys::Worker::new(&url).unwrap();
    let held = js_sys::Promise::new(&mut |resolve, _| worker.set_onmessage(Some(&resolve)));
    wasm_bindgen_futures::JsFuture::from(held).await.unwrap();
    worker.set_onmessage(None);
    worker
}

/// Waits (up to 10 s) until `held` says whether some context holds run `key`'s lock.
async fn until_held(key: &str, held: bool) {
    for _ in 0..200 {
        if locks::held_keys().await.unwrap().iter().any(|k| k == key) == held {
            return;
        }
        gloo_sleep(50).await;
    }
    panic!(
        "the lock of {key} is still {}",
        if held { "free" } else { "held" }
    );
}

#[wasm_bindgen_test]
async fn runs_are_saved_side_by_side_each_owned_by_one_context_and_a_cut_save_keeps_the_last() {
    let data = small_dataset().await;
    let mut uninterrupted = TrainerSession::new(small_config(), &Device::flex()).unwrap();
    let mut history = Vec::new();
    for _ in 0..3 {
        history.push(uninterrupted.step(&data).unwrap().await.unwrap().values);
    }
    let first = saved_run(
        &uninterrupted,
        uninterrupted.capture().await.unwrap(),
        &history,
    );
    let other_config = TrainingConfig {
        init_seed: 99,
        ..small_config()
    };
    let mut other = TrainerSession::new(other_config, &Device::flex()).unwrap();
    let report = other.step(&data).unwrap().await.unwrap();
    let second = saved_run(&other, other.capture().await.unwrap(), &[report.values]);

    // Two runs side by side: each loads back exactly, and both are listed.
    let (a, b, c) = ("browser-test-a", "browser-test-b", "browser-test-c");
    let lock_a = locks::try_acquire(a)
        .await
        .unwrap()
        .expect("nobody holds a");
    let lock_b = locks::try_acquire(b)
        .await
        .unwrap()
        .expect("nobody holds b");
    store::save(&lock_a, &summary_of(a, &first), &first)
        .await
        .expect("a saved");
    store::save(&lock_b, &summary_of(b, &second), &second)
        .await
        .expect("b saved");
    assert_eq!(store::load(a).await.unwrap().as_ref(), Some(&first));
    assert_eq!(store::load(b).await.unwrap().as_ref(), Some(&second));
    assert_ne!(first.weights, second.weights);
    let (listed, _) = store::list().await.unwrap();
    for (key, run) in [(a, &first), (b, &second)] {
        let found = listed.iter().find(|s| s.key == key).expect("listed");
        assert_eq!(found, &summary_of(key, run));
    }
    assert_eq!(first.history_values(), history);

    // A lock held by another context: this one can neither take the run nor save it.
    let library = RunLibrary::new(|| {});
    let holder = lock_holder(c).await;
    assert!(locks::try_acquire(c).await.unwrap().is_none());
    assert_eq!(
        library.save(&summary_of(c, &first), &first).await,
        Err(SaveFailure::Elsewhere)
    );
    assert_eq!(store::load(c).await.unwrap(), None, "nothing was written");
    // Once that context is gone, its lock goes with it.
    holder.terminate();
    until_held(c, false).await;
    library
        .save(&summary_of(c, &first), &first)
        .await
        .expect("c saved");
    assert_eq!(store::load(c).await.unwrap().as_ref(), Some(&first));
    until_held(c, true).await; // the library keeps the run it saved
    library.release(c);
    until_held(c, false).await;

    // A later save cut short (the transaction aborts) leaves the run's last save whole.
    let report = uninterrupted.step(&data).unwrap().await.unwrap();
    let later = saved_run(
        &uninterrupted,
        uninterrupted.capture().await.unwrap(),
        &[report.values],
    );
    store::save_interrupted(&lock_a, &summary_of(a, &later), &later)
        .await
        .unwrap();
    let loaded = store::load(a).await.unwrap().expect("a is still there");
    assert_eq!(loaded, first);
    let (listed, _) = store::list().await.unwrap();
    let found = listed.iter().find(|s| s.key == a).unwrap();
    assert_eq!(found, &summary_of(a, &first), "its summary too");

    // Resuming it in the worker continues exactly as the run that never stopped.
    let worker = worker_with(&data, ComputePath::Cpu).await;
    worker
        .acknowledge(load(&loaded.weights, ComputePath::Cpu))
        .await
        .unwrap();
    let next = step(&worker).await.unwrap();
    assert_eq!(next, report, "the same next batch, noise and losses");

    // Deleting takes each run's lock: a and b, held by these locks, stay.
    let deleted = library.delete(&[a.into(), b.into(), c.into()]).await;
    assert_eq!(deleted, Ok(vec![c.to_string()]));
    drop((lock_a, lock_b));
    until_held(a, false).await;
    until_held(b, false).await;
    let deleted = library.delete(&[a.into(), b.into()]).await;
    assert_eq!(deleted, Ok(vec![a.to_string(), b.to_string()]));
    assert_eq!(store::load(a).await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn the_single_slot_autosave_of_earlier_versions_joins_the_library_once() {
    let data = small_dataset().await;
    let mut session = TrainerSession::new(small_config(), &Device::flex()).unwrap();
    let report = session.step(&data).unwrap().await.unwrap();
    let legacy = saved_run(&session, session.capture().await.unwrap(), &[report.values]);
    store::replace_with_legacy(&legacy).await.unwrap();
    let (runs, error) = store::list().await.unwrap();
    assert_eq!(error, None);
    assert_eq!(runs, [migrate(&legacy).unwrap()]);
    assert_eq!(store::load(MIGRATED_KEY).await.unwrap(), Some(legacy));
    let (again, _) = store::list().await.unwrap();
    assert_eq!(again.len(), 1, "migrated once");
    let lock = locks::try_acquire(MIGRATED_KEY).await.unwrap().unwrap();
    store::delete(&lock).await.unwrap();
    assert!(store::list().await.unwrap().0.is_empty());
}

#[wasm_bindgen_test]
async fn a_lost_gpu_device_stops_the_worker_with_a_message() {
    let data = small_dataset().await;
    let worker = worker_with(&data, ComputePath::WebGpu).await;
    step(&worker).await.expect("a step before the loss");
    worker.lose_gpu_device();
    // The loss is reported asynchronously; requests fail from then on, with the reason.
    let mut failure = None;
    for _ in 0..200 {
        if let Err(e) = grid(&worker).await {
            failure = Some(e);
            break;
        }
        gloo_sleep(50).await;
    }
    let failure = failure.expect("requests fail once the device is lost");
    assert!(
        failure.to_string().contains("GPU device was lost"),
        "{failure}"
    );
    assert!(worker.failure().is_some());
}

#[wasm_bindgen_test]
async fn replicas_exchange_their_parts_and_fill_the_arrays_sent_back_again() {
    let channel = web_sys::MessageChannel::new().unwrap();
    let place = |index| ShardPlace { index, count: 2 };
    let replicas = [
        PortExchange::new(place(0), vec![channel.port1()]),
        PortExchange::new(place(1), vec![channel.port2()]),
    ];
    let part = |step: u64, replica: usize| ShardGradients {
        step,
        values: mnist_gan_web::train::StepValues {
            d_loss: step as f32,
            g_loss: replica as f32,
            d_real: 0.5,
            d_fake: 0.25,
        },
        grads: (0..1000)
            .map(|i| (i * (replica + 1)) as f32 + step as f32)
            .collect(),
    };
    for step in 0..4 {
        // Both post before either waits, as two workers do.
        let pending: Vec<_> = (0..2)
            .map(|r| replicas[r].exchange(part(step, r)))
            .collect();
        for received in pending {
            let parts = received.await.expect("both parts arrive");
            assert_eq!(parts, vec![part(step, 0), part(step, 1)], "step {step}");
        }
        // The arrays come back while the next step computes; here, a moment.
        gloo_sleep(20).await;
    }
    for replica in &replicas {
        assert_eq!(
            replica.arrays_made(),
            1,
            "later steps refill the returned array"
        );
    }
}

async fn gloo_sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

#[wasm_bindgen_test]
async fn the_worker_scores_a_weights_file_as_the_native_code_does_on_both_paths() {
    const CLASSIFIER: &[u8] = include_bytes!("../www/data/quality/classifier.safetensors");
    const WEIGHTS: &[u8] = include_bytes!("fixtures/gan_epoch50.safetensors");
    let native: mnist_gan_web::quality::Score =
        serde_json::from_slice(include_bytes!("fixtures/gan_epoch50.score.json")).unwrap();
    let data = small_dataset().await;
    for path in [ComputePath::Cpu, ComputePath::WebGpu] {
        let worker = worker_with(&data, path).await;
        worker
            .send_classifier(CLASSIFIER)
            .await
            .expect("the classifier");
        worker
            .acknowledge(load(WEIGHTS, path))
            .await
            .expect("the file loads");
        let score = match worker
            .request(Command::Score { samples: 2000 })
            .await
            .unwrap()
        {
            Reply::Score(score) => score,
            other => panic!("{other:?}"),
        };
        let relative = |a: f64, b: f64| (a - b).abs() / b.abs();
        assert!(
            relative(score.fid, native.fid) <= 1e-3,
            "{path:?}: FID {} against {} natively",
            score.fid,
            native.fid
        );
        assert!(
            relative(score.inception, native.inception) <= 1e-3,
            "{path:?}"
        );
        assert_eq!(score.samples, native.samples);
        let moved: u32 = score
            .histogram
            .iter()
            .zip(&native.histogram)
            .map(|(a, b)| a.abs_diff(*b))
            .sum();
        assert!(
            moved <= 4,
            "{path:?}: {:?} against {:?}",
            score.histogram,
            native.histogram
        );
        // The score rides in the weights file from then on.
        let file =
            Checkpoint::from_bytes(&capture(&worker, true).await.unwrap(), "", &small_config())
                .unwrap();
        assert_eq!(file.scores.last().map(|s| &s.score), Some(&score));
    }
}

/// Each epoch drops its capture at the short batch and makes a new one: over six epochs the
/// device memory in use stays the same and the pool stops growing after the second (it may
/// shrink: with the register-tiled products the pool gave back 2.2 MB in a sixth epoch).
#[wasm_bindgen_test]
async fn captures_made_again_every_epoch_hold_the_device_memory_flat() {
    let data = four_batches_and_a_short_one().await;
    let epochs = 6;
    let config = TrainingConfig {
        epochs,
        ..small_config()
    };
    let mut trainer = Trainer::new(config, &gpu::device().await.unwrap()).unwrap();
    let mut usage = Vec::new();
    for epoch in 0..epochs {
        let mut replays = 0;
        for _ in 0..5 {
            trainer.step(&data).unwrap().stats.read().await.unwrap();
            replays += usize::from(trainer.gan.replays());
        }
        assert_eq!(replays, 2, "epoch {epoch} captured and replayed");
        let now = trainer.gan.device().memory_pool_usage().unwrap();
        usage.push((now.bytes_in_use, now.bytes_reserved));
    }
    web_sys::console::log_1(
        &format!("device memory (in use, reserved) by epoch: {usage:?}").into(),
    );
    assert!(
        usage.iter().all(|&(in_use, _)| in_use == usage[0].0),
        "the memory in use moved: {usage:?}"
    );
    assert!(
        usage[2..]
            .iter()
            .all(|&(_, reserved)| reserved <= usage[2].1),
        "the pool grew after the second epoch: {usage:?}"
    );
}

/// A labelled model's trainer at the initialisation recorded in `golden`, on `device`.
fn labelled_trainer_on(golden: &[u8], model: ModelKind, device: &Device) -> Trainer {
    let config = TrainingConfig::for_model(model);
    let checkpoint = Checkpoint::from_bytes(golden, "init.", &config).expect("init.* loads");
    assert_eq!(checkpoint.config.model, model);
    checkpoint.into_trainer(device)
}

/// Step `step`'s recorded labels, as the step takes them.
fn recorded_labels(golden: &[u8], trainer: &Trainer, step: &str) -> Labels {
    Labels {
        real: upload_in(golden, trainer, &format!("{step}.y_real")),
        fake: upload_in(golden, trainer, &format!("{step}.y_fake")),
    }
}

/// A labelled model's three recorded steps on WebGPU, the third captured and replayed with its
/// own labels written into the capture's buffers; and its first step on the wasm CPU backend,
/// whole and in two shards.
async fn labelled_steps_match_tensorflow(golden: &[u8], model: ModelKind) {
    let device = gpu::device().await.expect("WebGPU device");
    let mut trainer = labelled_trainer_on(golden, model, &device);
    let on_gpu = format!("{model} on WebGPU");
    for step in ["step1", "step2", "step3"] {
        let x = upload_in(golden, &trainer, &format!("{step}.x"));
        let z = upload_in(golden, &trainer, &format!("{step}.z"));
        let labels = recorded_labels(golden, &trainer, step);
        let values = trainer.gan.labelled_step(x, z, Some(labels)).unwrap();
        let values = values.read().await.unwrap();
        assert_losses_in(golden, step, values, &on_gpu);
    }
    assert!(trainer.gan.replays(), "the third step was captured");
    matches_tensorflow_after_in(golden, &trainer, "after3", &on_gpu).await;

    let mut trainer = labelled_trainer_on(golden, model, &Device::flex());
    let (x, z) = (
        upload_in(golden, &trainer, "step1.x"),
        upload_in(golden, &trainer, "step1.z"),
    );
    let labels = recorded_labels(golden, &trainer, "step1");
    let values = trainer
        .gan
        .labelled_step(x, z, Some(labels))
        .unwrap()
        .read()
        .await
        .unwrap();
    let on_cpu = format!("{model} on the wasm CPU");
    assert_losses_in(golden, "step1", values, &on_cpu);
    matches_tensorflow_after_in(golden, &trainer, "after1", &on_cpu).await;

    let mut trainer = labelled_trainer_on(golden, model, &Device::flex());
    let (x, z) = (
        fixture_in(golden, "step1.x").0,
        fixture_in(golden, "step1.z").0,
    );
    let digits = |name: &str| -> Vec<u8> {
        fixture_in(golden, name)
            .0
            .chunks_exact(10)
            .map(|row| row.iter().position(|&v| v == 1.0).unwrap() as u8)
            .collect()
    };
    let (real, fake) = (digits("step1.y_real"), digits("step1.y_fake"));
    let parts: Vec<_> = (0..2)
        .map(|i| {
            let place = ShardPlace::new(i, 2).unwrap();
            trainer
                .gan
                .labelled_shard_part(&x, &z, Some((&real, &fake)), place, 0)
                .unwrap()
        })
        .collect();
    let whole = combine(parts).unwrap();
    trainer.gan.apply_host_gradients(&whole.grads).unwrap();
    let path = format!("{model} in two shards on the wasm CPU");
    assert_losses_in(golden, "step1", whole.values, &path);
    matches_tensorflow_after_in(golden, &trainer, "after1", &path).await;
}

#[wasm_bindgen_test]
async fn conditional_steps_match_tensorflow_on_webgpu_and_the_wasm_cpu_backend() {
    labelled_steps_match_tensorflow(CONDITIONAL, ModelKind::Conditional).await;
}

/// The convolutional model: Burn's convolutions on WebGPU and on the wasm CPU backend, Adam
/// for both networks (the discriminator's step size read from the capture's buffer too), and
/// the generator's moving average.
#[wasm_bindgen_test]
async fn sharp_steps_match_tensorflow_on_webgpu_and_the_wasm_cpu_backend() {
    labelled_steps_match_tensorflow(SHARP, ModelKind::Sharp).await;
}

/// A 28 × 28 image, its left half black and its right half white, encoded by this browser as
/// `media_type` (`OffscreenCanvas.convertToBlob`).
async fn encoded_halves(media_type: &str) -> Vec<u8> {
    use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
    use wasm_bindgen_futures::JsFuture;
    let pixels: Vec<u8> = (0..28 * 28)
        .flat_map(|i| {
            if i % 28 < 14 {
                [0, 0, 0, 255]
            } else {
                [255; 4]
            }
        })
        .collect();
    let canvas = web_sys::OffscreenCanvas::new(28, 28).unwrap();
    let context: web_sys::OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    let image = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        wasm_bindgen::Clamped(&pixels),
        28,
        28,
    )
    .unwrap();
    context.put_image_data(&image, 0.0, 0.0).unwrap();
    let options = Object::new();
    Reflect::set(&options, &"type".into(), &media_type.into()).unwrap();
    Reflect::set(&options, &"quality".into(), &1.0.into()).unwrap();
    let convert: Function = Reflect::get(&canvas, &"convertToBlob".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    let promise: Promise = convert
        .call1(&canvas, &options)
        .unwrap()
        .dyn_into()
        .unwrap();
    let blob: web_sys::Blob = JsFuture::from(promise).await.unwrap().dyn_into().unwrap();
    let buffer = JsFuture::from(blob.array_buffer()).await.unwrap();
    Uint8Array::new(&buffer).to_vec()
}

#[wasm_bindgen_test]
async fn the_worker_decodes_a_png_and_a_jpeg_made_here_into_their_pixels() {
    use mnist_gan_web::import::{ConvertOptions, ImageFormat, Invert, SourceFile};
    let png = encoded_halves("image/png").await;
    let jpeg = encoded_halves("image/jpeg").await;
    assert_eq!(ImageFormat::sniff(&png), Some(ImageFormat::Png));
    assert_eq!(ImageFormat::sniff(&jpeg), Some(ImageFormat::Jpeg));
    let worker = TrainerWorker::spawn().expect("the worker starts");
    let file = |path: &str, bytes| SourceFile {
        path: path.into(),
        bytes,
    };
    let import = Command::Import {
        files: vec![
            file("png/halves.png", png),
            file("jpeg/halves.jpg", jpeg),
            file("notes.txt", b"not an image".to_vec()),
        ],
        options: ConvertOptions {
            invert: Invert::Never,
            ..ConvertOptions::default()
        },
    };
    let Reply::Imported(data) = worker.request(import).await.unwrap() else {
        panic!("an import")
    };
    assert_eq!(data.count, 2);
    assert_eq!(
        data.skipped,
        ["notes.txt: not a PNG, JPEG, WebP or GIF image"]
    );
    // The PNG exactly; the JPEG within its compression's error away from the edge.
    let (png, jpeg) = data.pixels.split_at(784);
    for (i, (&p, &j)) in png.iter().zip(jpeg).enumerate() {
        let expected = if i % 28 < 14 { 0 } else { 255 };
        assert_eq!(p, expected, "PNG pixel {i}");
        if !(12..16).contains(&(i % 28)) {
            assert!(j.abs_diff(expected) <= 12, "JPEG pixel {i}: {j}");
        }
    }
    // A broken zip is refused with the core's message; the worker goes on.
    let broken = Command::Import {
        files: vec![file("broken.zip", b"PK\x03\x04 and then nothing".to_vec())],
        options: ConvertOptions::default(),
    };
    let refused = worker.request(broken).await.unwrap_err();
    assert!(
        refused.to_string().starts_with("not a readable zip file"),
        "{refused}"
    );
    assert!(worker.failure().is_none());
}

#[wasm_bindgen_test]
async fn the_worker_unzips_with_the_browsers_inflater_and_stops_a_zip_bomb() {
    use mnist_gan_web::import::{ConvertOptions, Decoders, InflateError, Packing, SourceFile};
    use mnist_gan_web::web::decode::BrowserDecoders;
    let zip = include_bytes!("fixtures/import/two-digits.zip").to_vec();
    let worker = TrainerWorker::spawn().expect("the worker starts");
    let import = Command::Import {
        files: vec![SourceFile {
            path: "two-digits.zip".into(),
            bytes: zip,
        }],
        options: ConvertOptions::default(),
    };
    let Reply::Imported(data) = worker.request(import).await.unwrap() else {
        panic!("an import")
    };
    assert_eq!(
        data.summary,
        "2 images (28 × 28, inverted), 2 labels, 1 file skipped: digits/README.txt: not a PNG, JPEG, WebP or GIF image"
    );
    assert_eq!(data.classes, ["1", "2"]);
    // Inverted: the vertical bar of the first bright, its paper dark.
    assert_eq!(
        (data.pixels[10 * 28 + 13], data.pixels[10 * 28 + 3]),
        (255, 0)
    );
    assert_eq!(data.pixels[784 + 13 * 28 + 10], 255);
    // The browser's inflater stops at the limit: 100 kB of zeros, deflated by its own
    // `CompressionStream`.
    let zeros = CompressionStream::deflate_raw(&vec![0u8; 100_000]).await;
    let inflated = BrowserDecoders
        .inflate(Packing::Deflate, zeros.clone(), 100_000)
        .await
        .unwrap();
    assert_eq!(inflated, vec![0u8; 100_000]);
    assert_eq!(
        BrowserDecoders
            .inflate(Packing::Deflate, zeros, 99_999)
            .await
            .unwrap_err(),
        InflateError::TooLarge
    );
    assert!(matches!(
        BrowserDecoders
            .inflate(Packing::Gzip, b"\x1f\x8b broken".to_vec(), 1000)
            .await,
        Err(InflateError::Broken(_))
    ));
}

/// The browser's `CompressionStream`, to make deflated bytes in a test.
struct CompressionStream;

impl CompressionStream {
    async fn deflate_raw(bytes: &[u8]) -> Vec<u8> {
        use js_sys::{Array, Function, Reflect, Uint8Array};
        use wasm_bindgen_futures::JsFuture;
        let source = web_sys::Response::new_with_opt_u8_array(Some(&mut bytes.to_vec())).unwrap();
        let body = source.body().unwrap();
        let constructor: Function = Reflect::get(&js_sys::global(), &"CompressionStream".into())
            .unwrap()
            .dyn_into()
            .unwrap();
        let compress =
            Reflect::construct(&constructor, &Array::of1(&"deflate-raw".into())).unwrap();
        let pipe: Function = Reflect::get(&body, &"pipeThrough".into())
            .unwrap()
            .dyn_into()
            .unwrap();
        let stream: web_sys::ReadableStream =
            pipe.call1(&body, &compress).unwrap().unchecked_into();
        let response = web_sys::Response::new_with_opt_readable_stream(Some(&stream)).unwrap();
        let buffer = JsFuture::from(response.array_buffer().unwrap())
            .await
            .unwrap();
        Uint8Array::new(&buffer).to_vec()
    }
}

#[wasm_bindgen_test]
async fn imported_datasets_are_stored_whole_listed_renamed_checked_and_deleted() {
    use mnist_gan_web::app::DatasetInfo;
    use mnist_gan_web::web::datasets;
    // The name is the SHA-256 of the pixels, then the labels.
    assert_eq!(
        datasets::fingerprint(b"ab", Some(b"c")).await.unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let pixels: Vec<u8> = (0..2 * 784).map(|i| (i % 251) as u8).collect();
    let labels = vec![3u8, 7];
    let sha256 = datasets::fingerprint(&pixels, Some(&labels)).await.unwrap();
    let info = DatasetInfo {
        sha256: sha256.clone(),
        name: "two".into(),
        count: 2,
        classes: vec!["3".into(), "7".into()],
        labelled: true,
        saved_at: 1.0,
    };
    datasets::keep(&info, &pixels, Some(&labels)).await.unwrap();
    let listed = datasets::list().await.unwrap();
    assert!(listed.contains(&info), "{listed:?}");
    let loaded = datasets::load(&sha256).await.unwrap();
    assert_eq!(loaded.images().pixels, pixels);
    assert_eq!(loaded.labels(), Some(&labels[..]));
    datasets::rename(&sha256, "renamed").await.unwrap();
    let renamed = datasets::list().await.unwrap();
    assert!(
        renamed
            .iter()
            .any(|d| d.sha256 == sha256 && d.name == "renamed")
    );
    // Contents that no longer match their name are refused.
    let liar = DatasetInfo {
        sha256: "00".repeat(32),
        ..info.clone()
    };
    datasets::keep(&liar, &pixels, None).await.unwrap();
    let refused = datasets::load(&liar.sha256).await.unwrap_err();
    assert!(
        refused.to_string().contains("no longer matches"),
        "{refused}"
    );
    datasets::delete(&liar.sha256).await.unwrap();
    datasets::delete(&sha256).await.unwrap();
    assert!(
        datasets::list()
            .await
            .unwrap()
            .iter()
            .all(|d| d.sha256 != sha256)
    );
    assert!(datasets::load(&sha256).await.is_err());
}

/// `target.method(...args)`, awaited when it returns a promise.
async fn js_call(
    target: &wasm_bindgen::JsValue,
    method: &str,
    args: &[wasm_bindgen::JsValue],
) -> wasm_bindgen::JsValue {
    use js_sys::{Array, Function, Promise, Reflect};
    let function: Function = Reflect::get(target, &method.into())
        .unwrap()
        .dyn_into()
        .unwrap();
    let value = function
        .apply(target, &args.iter().collect::<Array>())
        .unwrap();
    match value.dyn_into::<Promise>() {
        Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await.unwrap(),
        Err(value) => value,
    }
}

/// A folder of the origin's private file system (made afresh), with `files` written in it
/// (`sub/name.png` paths make sub-folders).
async fn private_folder(name: &str, files: &[(&str, &[u8])]) -> wasm_bindgen::JsValue {
    use js_sys::{Object, Reflect, Uint8Array};
    let storage = Reflect::get(&web_sys::window().unwrap().navigator(), &"storage".into()).unwrap();
    let root = js_call(&storage, "getDirectory", &[]).await;
    let create = Object::new();
    Reflect::set(&create, &"create".into(), &true.into()).unwrap();
    let recursive = Object::new();
    Reflect::set(&recursive, &"recursive".into(), &true.into()).unwrap();
    let removed = js_sys::Function::from(Reflect::get(&root, &"removeEntry".into()).unwrap())
        .call2(&root, &name.into(), &recursive)
        .unwrap();
    let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(removed)).await;
    let folder = js_call(
        &root,
        "getDirectoryHandle",
        &[name.into(), create.clone().into()],
    )
    .await;
    for (path, bytes) in files {
        let mut at = folder.clone();
        let mut parts: Vec<&str> = path.split('/').collect();
        let file = parts.pop().unwrap();
        for part in parts {
            at = js_call(
                &at,
                "getDirectoryHandle",
                &[part.into(), create.clone().into()],
            )
            .await;
        }
        let handle = js_call(&at, "getFileHandle", &[file.into(), create.clone().into()]).await;
        let writable = js_call(&handle, "createWritable", &[]).await;
        js_call(&writable, "write", &[Uint8Array::from(*bytes).into()]).await;
        js_call(&writable, "close", &[]).await;
    }
    folder
}

#[wasm_bindgen_test]
async fn files_and_a_folders_handles_handed_over_unread_are_read_staged_and_converted_again() {
    use mnist_gan_web::import::{ConvertOptions, Invert};
    use mnist_gan_web::web::unread::Unread;
    use std::cell::RefCell;
    use std::rc::Rc;
    let png = encoded_halves("image/png").await;
    let import = |invert| Command::Import {
        files: Vec::new(),
        options: ConvertOptions {
            invert,
            ..ConvertOptions::default()
        },
    };
    // Browser `File`s, in two parts, each part's progress told.
    let worker = TrainerWorker::spawn().expect("the worker starts");
    let told = Rc::new(RefCell::new(Vec::new()));
    for part in 0..2 {
        let file = web_sys::File::new_with_u8_array_sequence(
            &js_sys::Array::of1(&js_sys::Uint8Array::from(&png[..])),
            "halves.png",
        )
        .unwrap();
        let mut unread = Unread::default();
        unread.push_file(format!("{part}/halves.png"), file);
        let told = told.clone();
        worker
            .stage(&unread, move |done, total| {
                told.borrow_mut().push((done, total))
            })
            .await
            .unwrap();
    }
    assert_eq!(*told.borrow(), [(0, 1), (1, 1), (0, 1), (1, 1)]);
    let Reply::Imported(never) = worker.request(import(Invert::Never)).await.unwrap() else {
        panic!("an import")
    };
    assert_eq!((never.count, never.classes.len()), (2, 2));
    let Reply::Imported(always) = worker.request(import(Invert::Always)).await.unwrap() else {
        panic!("the same files again")
    };
    assert_eq!(always.count, 2);
    assert_eq!((never.pixels[0], always.pixels[0]), (0, 255));

    // A dropped folder's handle (here one of the origin's private file system): the worker
    // walks it, sub-folders and all, and reads its files in the order of their paths.
    let folder = private_folder(
        "digits",
        &[
            ("b/2.png", &png),
            ("a/1.png", &png),
            ("a/notes.txt", b"not an image"),
            ("b/deeper/3.png", &png),
        ],
    )
    .await;
    let worker = TrainerWorker::spawn().expect("the worker starts");
    let told = Rc::new(RefCell::new(Vec::new()));
    let record = told.clone();
    let mut unread = Unread::default();
    unread.push_handle(folder);
    worker
        .stage(&unread, move |done, total| {
            record.borrow_mut().push((done, total))
        })
        .await
        .unwrap();
    assert_eq!(*told.borrow(), [(0, 4), (4, 4)]);
    let Reply::Imported(data) = worker.request(import(Invert::Never)).await.unwrap() else {
        panic!("an import")
    };
    assert_eq!(data.count, 3);
    assert_eq!(data.classes, ["a", "b"]);
    assert_eq!(
        data.labels.as_deref().map(|l| l.to_vec()),
        Some(vec![0, 1, 1])
    );
    assert_eq!(
        data.skipped,
        ["digits/a/notes.txt: not a PNG, JPEG, WebP or GIF image"]
    );
}

#[wasm_bindgen_test]
async fn pngs_of_every_colour_type_read_here_as_the_browsers_own_decoder_reads_them() {
    use mnist_gan_web::import::{Decoders, ImageFormat, Png, grey_from_rgba};
    use mnist_gan_web::web::decode::{BrowserDecoders, browser_decode, inflate};
    // `tests/fixtures/import/make_pngs.py`: each row under another filter.
    let fixtures: [(&str, &[u8]); 10] = [
        ("grey-1", include_bytes!("fixtures/import/png/grey-1.png")),
        (
            "grey-4-key",
            include_bytes!("fixtures/import/png/grey-4-key.png"),
        ),
        ("grey-16", include_bytes!("fixtures/import/png/grey-16.png")),
        (
            "palette-2-alpha",
            include_bytes!("fixtures/import/png/palette-2-alpha.png"),
        ),
        (
            "palette-8",
            include_bytes!("fixtures/import/png/palette-8.png"),
        ),
        (
            "rgb-8-key",
            include_bytes!("fixtures/import/png/rgb-8-key.png"),
        ),
        ("rgb-16", include_bytes!("fixtures/import/png/rgb-16.png")),
        (
            "grey-alpha-8",
            include_bytes!("fixtures/import/png/grey-alpha-8.png"),
        ),
        ("rgba-8", include_bytes!("fixtures/import/png/rgba-8.png")),
        ("rgba-16", include_bytes!("fixtures/import/png/rgba-16.png")),
    ];
    for (name, bytes) in fixtures {
        // Read here: taken apart, inflated by the browser's `DecompressionStream`.
        let png = Png::parse(bytes).unwrap().expect(name);
        let inflated = inflate(&png.data, "deflate", png.inflated_len() as u64)
            .await
            .unwrap()
            .expect(name);
        let ours = png.rgba(&inflated).expect(name);
        let theirs = browser_decode(ImageFormat::Png, bytes.to_vec())
            .await
            .unwrap();
        assert_eq!(
            (ours.width, ours.height),
            (theirs.width, theirs.height),
            "{name}"
        );
        // The same alpha, and the same grey once composited: the browser's canvas keeps
        // colours premultiplied, so a transparent pixel's colour reads back as black and a
        // translucent one's a few levels off (weighed down again by its alpha).
        for (i, (a, b)) in ours
            .pixels
            .chunks(4)
            .zip(theirs.pixels.chunks(4))
            .enumerate()
        {
            assert_eq!(a[3], b[3], "{name}: pixel {i}'s alpha");
            let (a, b) = (
                grey_from_rgba(a.try_into().unwrap()),
                grey_from_rgba(b.try_into().unwrap()),
            );
            assert!(
                a.abs_diff(b) <= 1,
                "{name}: pixel {i} is {a} here, {b} in the browser"
            );
        }
        // And through the import's decoders.
        let decoded = BrowserDecoders
            .image(ImageFormat::Png, bytes.to_vec())
            .await
            .unwrap();
        assert_eq!(decoded, ours, "{name}");
    }
    // Data that does not inflate goes to the browser's decoder, whose verdict stands.
    let mut broken = fixtures[0].1.to_vec();
    let idat = broken.windows(4).position(|w| w == b"IDAT").unwrap();
    broken[idat + 6] ^= 0xff;
    let length = u32::from_be_bytes(broken[idat - 4..idat].try_into().unwrap()) as usize;
    let crc = common::crc32(&broken[idat..idat + 4 + length]);
    broken[idat + 4 + length..idat + 8 + length].copy_from_slice(&crc.to_be_bytes());
    assert!(Png::parse(&broken).unwrap().is_some());
    let decoded = BrowserDecoders
        .image(ImageFormat::Png, broken.clone())
        .await;
    assert_eq!(decoded, browser_decode(ImageFormat::Png, broken).await);
}
