"""A `sharp` weights file written by the app loads into the Keras model it describes
(tests/fixtures/record_golden.py's `build_sharp`: Dense, Conv2DTranspose and Conv2D layers under the
file's names, kernels in Keras' own shapes), and Keras computes the app's images and logits.

    tools/venv/bin/python tests/python/keras_sharp.py WEIGHTS.safetensors REFERENCE.safetensors

REFERENCE is what `cargo run --example onnx -- WEIGHTS DIR` writes as DIR/reference.safetensors:
the page's grid noise, the digits' one-hot rows, and the app's images (from the generator's
moving average, `gen_avg.*`, which the page shows) and its discriminator's logits for them.
"""
import os
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "fixtures"))


def main(weights_path, reference_path):
    # Keras 3 on JAX, as the checks install it (scripts/setup); TensorFlow gives the same.
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from record_golden import build_sharp, set_weights

    weights = load_file(weights_path)
    reference = load_file(reference_path)
    noise, labels = reference["noise"], reference["labels"]
    generator, discriminator = build_sharp(keras, noise.shape[1])
    average = {"gen." + k[len("gen_avg."):]: v for k, v in weights.items() if k.startswith("gen_avg.")}
    assert average, "the file holds the generator's moving average"
    set_weights(generator, "gen", average)
    set_weights(discriminator, "disc", weights)
    images = np.asarray(generator([noise, labels])).reshape(-1, 28, 28, 1)
    error = np.abs(images - reference["images"]).max()
    assert error <= 1e-4, f"Keras' images differ from the app's by {error}"
    logits = np.asarray(discriminator([reference["images"].reshape(-1, 784), labels]))
    logit_error = np.abs(logits - reference["logits"]).max()
    assert logit_error <= 1e-4 * max(1.0, np.abs(logits).max()), f"logits differ by {logit_error}"
    print(f"keras sharp ({keras.backend.backend()}): {weights_path} loads into Keras; images within {error:.2e}, logits within {logit_error:.2e}")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main(*sys.argv[1:3])
