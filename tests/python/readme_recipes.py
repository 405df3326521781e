"""The README's Python recipes, run as written: each fenced block after a
`<!-- recipe: NAME -->` marker runs in a fresh folder that holds the downloaded files under the
names the recipes use, and what it made is checked.

- `onnx-python` draws a grid with ONNX Runtime: with numpy's generator seeded here, grid.png
  must hold ONNX Runtime's image for each noise row in its cell of the 8 x 8 grid (within one
  8-bit level), and not be blank.
- `keras` loads the weights file into the tutorial's Keras model (Keras 3; here on its numpy
  backend, inference only, which imports scipy and jax): its images for the recipe's noise must equal ONNX Runtime's for the
  generator exported from the same weights, within 1e-5.

Usage: python readme_recipes.py README.md GENERATOR.onnx WEIGHTS.safetensors
"""
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "numpy")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from PIL import Image  # noqa: E402

# The names the recipes use for the page's downloads.
ONNX_NAME = "mnist-gan-epoch-300-generator.onnx"
WEIGHTS_NAME = "mnist-gan-epoch-300.safetensors"


def recipes(readme):
    found = dict(re.findall(r"<!-- recipe: ([\w-]+) -->\s*```python\n(.*?)```", readme, re.S))
    assert {"onnx-python", "keras"} <= set(found), f"recipes found: {sorted(found)}"
    return found


def seeded_rng(seed):
    """Has the recipes' `np.random.default_rng()` return a generator seeded with `seed`."""
    unseeded = np.random.default_rng
    np.random.default_rng = lambda *args, **kwargs: unseeded(seed)
    return unseeded


def run(code, folder):
    namespace = {"__name__": "__main__"}
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        exec(compile(code, "README.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    return namespace


def main(readme, onnx_file, weights_file):
    found = recipes(Path(readme).read_text())
    folder = Path(tempfile.mkdtemp(prefix="recipes-"))
    shutil.copy(onnx_file, folder / ONNX_NAME)
    shutil.copy(weights_file, folder / WEIGHTS_NAME)

    unseeded = seeded_rng(7)
    try:
        run(found["onnx-python"], folder)
    finally:
        np.random.default_rng = unseeded
    grid = np.asarray(Image.open(folder / "grid.png"))
    assert grid.shape == (224, 224) and grid.dtype == np.uint8, grid.shape
    assert grid.std() > 1, "the grid is blank"
    session = ort.InferenceSession(str(folder / ONNX_NAME), providers=["CPUExecutionProvider"])
    noise = unseeded(7).standard_normal((64, 100), dtype=np.float32)
    images = session.run(["images"], {"noise": noise})[0]
    for n, image in enumerate(images):
        row, column = divmod(n, 8)
        cell = grid[28 * row:28 * row + 28, 28 * column:28 * column + 28].astype(int)
        expected = np.clip(np.round((image[:, :, 0] + 1) * 127.5), 0, 255)
        assert np.abs(cell - expected).max() <= 1, f"image {n} is not in its cell ({row}, {column})"
    print(f"onnx-python: grid.png {grid.shape} holds each image in its cell, mean level {grid.mean():.1f}")

    keras = run(found["keras"], folder)
    images, noise = keras["images"], keras["noise"]
    expected = session.run(["images"], {"noise": noise})[0].reshape(images.shape)
    error = np.abs(images - expected).max()
    assert error <= 1e-5, f"the Keras model's images differ from the ONNX file's by {error}"
    print(f"keras: {images.shape[0]} images equal ONNX Runtime's within {error:.2e}")
    shutil.rmtree(folder)
    print("2 passed, 0 failed")


if __name__ == "__main__":
    main(*sys.argv[1:])
