//! A vanilla GAN on MNIST, faithful to the reference TensorFlow 2 tutorial, on Burn.
//!
//! The core (everything but `web`) is plain Rust on a runtime Burn [`burn::tensor::Device`]:
//! it takes bytes and returns tensors, knows nothing of the browser, and is tested natively.

pub mod app;
pub mod calibration;
pub mod config;
pub mod cpu;
pub mod data;
pub mod idx;
pub mod import;
pub mod latent;
pub mod matmul;
pub mod model;
pub mod onnx;
pub mod optim;
pub mod path;
pub mod protocol;
pub mod quality;
pub mod samples;
pub mod session;
pub mod shard;
pub mod train;
pub mod weights;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use config::{ConfigError, TrainingConfig};
pub use data::Dataset;
pub use train::{Gan, Progress, StepStats, StepValues, TrainError, Trainer};
pub use weights::{Checkpoint, WeightsError};
