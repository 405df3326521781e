//! Helpers shared by the integration tests; those that read files or block are native only
//! (their crates are native dev-dependencies).
#![allow(dead_code)]

#[cfg(not(target_arch = "wasm32"))]
pub mod page;
pub mod products;

use std::path::PathBuf;

use burn::tensor::Device;
use safetensors::SafeTensors;

/// The CPU device every native test runs on.
pub fn device() -> Device {
    Device::flex()
}

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("cannot read fixture {name}: {e}"))
}

/// The decompressed bytes of one of the committed MNIST files.
#[cfg(not(target_arch = "wasm32"))]
pub fn mnist(name: &str) -> Vec<u8> {
    use std::io::Read;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("www/data/mnist")
        .join(format!("{name}.gz"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .expect("gunzip");
    bytes
}

/// A float32 tensor of a safetensors file, with its shape.
pub fn tensor(file: &SafeTensors, name: &str) -> (Vec<f32>, Vec<usize>) {
    let view = file
        .tensor(name)
        .unwrap_or_else(|_| panic!("fixture tensor {name} is missing"));
    let values = view
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (values, view.shape().to_vec())
}

/// The largest absolute difference between two equally long slices.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Runs a future to completion on the test thread (the core's reads are asynchronous).
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    pollster::block_on(future)
}

/// A worker's thread, natively: Burn's CPU backend, no WebGPU, 42 bytes of "wasm memory", and
/// the group of replicas it belongs to, if any.
pub struct CpuThread(pub Option<std::rc::Rc<dyn mnist_gan_web::session::Exchange>>);

impl mnist_gan_web::session::Platform for CpuThread {
    fn device(
        &self,
        path: mnist_gan_web::path::ComputePath,
    ) -> Result<Device, mnist_gan_web::protocol::TrainerError> {
        use mnist_gan_web::{path::ComputePath, protocol::TrainerError};
        match path {
            ComputePath::Cpu => Ok(device()),
            ComputePath::WebGpu => Err(TrainerError::Refused("no WebGPU here".into())),
        }
    }
    fn start_webgpu(
        &self,
        _products: Option<mnist_gan_web::matmul::Products>,
    ) -> mnist_gan_web::session::Pending<Result<(), mnist_gan_web::protocol::TrainerError>> {
        let refused = mnist_gan_web::protocol::TrainerError::Refused("no WebGPU here".into());
        Box::pin(std::future::ready(Err(refused)))
    }
    fn memory_bytes(&self) -> f64 {
        42.0
    }
    fn group(&self) -> Option<std::rc::Rc<dyn mnist_gan_web::session::Exchange>> {
        self.0.clone()
    }
    fn clock(&self) -> fn() -> f64 {
        fn since_first_call() -> f64 {
            static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
            START
                .get_or_init(std::time::Instant::now)
                .elapsed()
                .as_secs_f64()
                * 1e3
        }
        since_first_call
    }
    /// The `image` crate's and flate2's natively, the browser's in a browser test.
    fn decoders(&self) -> std::rc::Rc<dyn mnist_gan_web::import::Decoders> {
        #[cfg(not(target_arch = "wasm32"))]
        return std::rc::Rc::new(mnist_gan_web::import::native::NativeDecoders);
        #[cfg(target_arch = "wasm32")]
        return std::rc::Rc::new(mnist_gan_web::web::decode::BrowserDecoders);
    }
}

/// CRC-32 as PNG's chunks carry it (for the tests' edited chunks), bit by bit.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                0xedb8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
