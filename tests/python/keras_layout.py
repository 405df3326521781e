"""A weights file written by the app loads with safetensors.numpy into the reference Keras model's
layout: the same names, kernels [in, out], float32, and the Dense layers chain up.

Usage: python keras_layout.py FILE.safetensors
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

# The reference model (SPEC.md): units of each Dense layer and the input width.
GENERATOR = (100, [100, 128, 128, 256, 784])
DISCRIMINATOR = (784, [128, 128, 128, 1])


def expected_shapes(prefix, inputs, units):
    shapes, fan_in = {}, inputs
    for i, fan_out in enumerate(units):
        shapes[f"{prefix}.dense{i}.kernel"] = (fan_in, fan_out)
        shapes[f"{prefix}.dense{i}.bias"] = (fan_out,)
        fan_in = fan_out
    return shapes


def main(path):
    tensors = load_file(path)
    shapes = {**expected_shapes("gen", *GENERATOR), **expected_shapes("disc", *DISCRIMINATOR)}
    model = {k: v for k, v in tensors.items() if not k.startswith("optim.")}
    assert set(model) == set(shapes), f"names differ: {sorted(set(model) ^ set(shapes))}"
    for name, shape in shapes.items():
        array = model[name]
        assert array.dtype == np.float32, f"{name} is {array.dtype}"
        assert array.shape == shape, f"{name} has shape {array.shape}, Keras expects {shape}"
        assert np.isfinite(array).all(), f"{name} has non-finite values"

    # The generator as Keras computes it: x · kernel + bias, LeakyReLU(0.01), tanh last.
    x = np.random.default_rng(0).standard_normal((4, 100)).astype(np.float32)
    for i in range(5):
        x = x @ model[f"gen.dense{i}.kernel"] + model[f"gen.dense{i}.bias"]
        if i == 4:
            x = np.tanh(x)
        elif i > 0:
            x = np.where(x > 0, x, 0.01 * x)
    assert x.shape == (4, 784) and np.abs(x).max() <= 1.0

    with safe_open(path, "np") as f:
        metadata = f.metadata()
    config = json.loads(metadata["config"])
    assert metadata["format_version"] == "1"
    assert config["noise_dim"] == 100
    print(f"keras layout: {path} holds {len(model)} Keras tensors and {len(tensors) - len(model)} optimizer tensors")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main(sys.argv[1])
