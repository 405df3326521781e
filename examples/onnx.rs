//! A weights file's networks as ONNX files, with the app's own outputs to check them against:
//! `cargo run --example onnx -- WEIGHTS.safetensors OUT_DIR`.
//!
//! Writes `OUT_DIR/generator.onnx` and `OUT_DIR/discriminator.onnx` (the same bytes as the
//! page's "Download as ONNX" of the same weights), and `OUT_DIR/reference.safetensors`: the
//! page's grid noise (`noise`, 64 rows drawn from the run's sample seed as the page draws
//! them), the app's generator's images for it (`images`, `[64, 28, 28, 1]`) and the app's
//! discriminator's logits for those images (`logits`, `[64, 1]`), on the CPU backend. For a
//! conditional model the grid asks for the digits in turn, and `labels` holds their one-hot
//! rows (`[64, 10]`), the networks' second input.
//! `tests/python/onnx_check.py` and the end-to-end test compare ONNX Runtime's answers with them.

use std::collections::HashMap;
use std::path::PathBuf;

use burn::tensor::{Device, Tensor};
use mnist_gan_web::data::normal_noise;
use mnist_gan_web::idx::IMAGE_SIDE;
use mnist_gan_web::model::default_labels;
use mnist_gan_web::onnx::{self, Network};
use mnist_gan_web::session::GRID_SIDE;
use mnist_gan_web::{Checkpoint, TrainingConfig};
use safetensors::Dtype;
use safetensors::tensor::TensorView;

fn fail(message: String) -> ! {
    eprintln!("{message}");
    std::process::exit(1)
}

fn values(tensor: Tensor<2>) -> Vec<f32> {
    tensor
        .into_data()
        .try_to_vec::<f32>()
        .expect("float32 values read back")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [weights, out] = args.as_slice() else {
        fail("usage: onnx WEIGHTS.safetensors OUT_DIR".into())
    };
    let out = PathBuf::from(out);
    let bytes = std::fs::read(weights).unwrap_or_else(|e| fail(format!("{weights}: {e}")));
    let checkpoint = Checkpoint::from_bytes(&bytes, "", &TrainingConfig::default())
        .unwrap_or_else(|e| fail(format!("{weights}: {e}")));
    std::fs::create_dir_all(&out).unwrap_or_else(|e| fail(format!("{}: {e}", out.display())));
    for network in [Network::Generator, Network::Discriminator] {
        let file = onnx::export(&checkpoint, network)
            .unwrap_or_else(|e| fail(format!("not exported as ONNX: {e}")));
        let path = out.join(format!("{}.onnx", network.name()));
        std::fs::write(&path, file).expect("the ONNX file can be written");
        println!("wrote {}", path.display());
    }

    let rows = GRID_SIDE * GRID_SIDE;
    let noise_dim = checkpoint.config.noise_dim;
    let noise = normal_noise(checkpoint.config.sample_seed, 0, rows, noise_dim);
    let device = Device::flex();
    let trainer = checkpoint.into_trainer(&device);
    let gan = &trainer.gan;
    // A conditional model draws the digits in turn, and takes them as a second input.
    let labels = default_labels(rows);
    let noise_tensor = gan.upload(noise.clone(), rows, noise_dim);
    let images = gan.generate_labelled(noise_tensor, &labels);
    let one_hot_labels = (gan.labels() > 0).then(|| gan.upload_labels(&labels));
    let logits = values(
        gan.discriminator
            .forward(images.clone(), one_hot_labels.clone()),
    );
    let images = values(images);
    let one_hot_labels = one_hot_labels.map(values);

    let mut tensors = vec![
        ("noise", vec![rows, noise_dim], &noise),
        ("images", vec![rows, IMAGE_SIDE, IMAGE_SIDE, 1], &images),
        ("logits", vec![rows, 1], &logits),
    ];
    if let Some(one_hot) = &one_hot_labels {
        tensors.push(("labels", vec![rows, gan.labels()], one_hot));
    }
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| bytemuck::cast_slice::<f32, u8>(v).to_vec())
        .collect();
    let views = tensors.iter().zip(&bytes).map(|((name, shape, _), data)| {
        let view = TensorView::new(Dtype::F32, shape.clone(), data).expect("shapes match");
        (name.to_string(), view)
    });
    let path = out.join("reference.safetensors");
    safetensors::serialize_to_file(views, None::<HashMap<String, String>>, &path)
        .expect("the reference file can be written");
    println!("wrote {}", path.display());
}
