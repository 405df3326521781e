"""The app's ONNX files, read by the ONNX ecosystem: each passes onnx's full checker, holds the
weights file's tensors under their names, says what it is in its metadata, and ONNX Runtime's
answers for the page's grid noise equal the app's own (written beside it by
`cargo run --example onnx -- WEIGHTS DIR`) within 1e-5. Any model: a conditional one takes the
digits' one-hot rows as a second input `labels`; a convolution's kernel is Keras' with its axes
reversed pairwise (ONNX's `[out, in, h, w]`, `ConvTranspose`'s `[in, out, h, w]`); a model that
keeps a moving average of its generator exports that average (`gen_avg.*` in the weights file).

Usage: python onnx_check.py DIR WEIGHTS.safetensors
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from safetensors import safe_open
from safetensors.numpy import load_file

# The operators the export may use: ONNX's standard domain only.
STANDARD = {"Gemm", "MatMul", "Add", "LeakyRelu", "Tanh", "Clip", "Reshape", "Relu", "ConvTranspose", "Conv",
            "Concat", "Transpose", "Expand"}


def check_file(path, weights, metadata, network):
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert all(node.domain == "" and node.op_type in STANDARD for node in model.graph.node), \
        [node.op_type for node in model.graph.node]
    assert [o.domain for o in model.opset_import] == [""], model.opset_import

    props = {p.key: p.value for p in model.metadata_props}
    assert props["network"] == network, props
    assert props["model"] == metadata.get("model", "tutorial"), props
    assert props["epoch"] == metadata.get("epoch", "0"), (props["epoch"], metadata.get("epoch"))
    assert json.loads(props["settings"]) == json.loads(metadata["config"])
    assert props["app"].startswith("mnist-gan-web "), props["app"]
    assert ("scores" in props) == ("scores" in metadata)

    stem = {"generator": "gen.", "discriminator": "disc."}[network]
    initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    source = "gen_avg." if network == "generator" and any(n.startswith("gen_avg.") for n in weights) else stem
    kept = {stem + name[len(source):]: value for name, value in weights.items() if name.startswith(source)}
    for name, value in kept.items():
        assert name in initializers, f"{path.name} lacks {name}"
        expected = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value
        assert initializers[name].dtype == np.float32 and np.array_equal(initializers[name], expected), name
    # Besides the weights: the reshapes' int64 shapes and the clip's float32 scalar bounds.
    floats = {n for n, v in initializers.items() if v.dtype == np.float32 and v.ndim > 0}
    assert floats == set(kept), sorted(floats ^ set(kept))
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def main(folder, weights_path):
    folder = Path(folder)
    weights = load_file(weights_path)
    with safe_open(weights_path, "np") as f:
        metadata = f.metadata()
    reference = load_file(str(folder / "reference.safetensors"))
    noise, images, logits = reference["noise"], reference["images"], reference["logits"]
    passed = 0

    labels = reference.get("labels")
    noise_dim = json.loads(metadata["config"]).get("noise_dim", 100)

    def feed(first, value, rows=None):
        inputs = {first: value if rows is None else value[:rows]}
        if labels is not None:
            inputs["labels"] = labels if rows is None else labels[:rows]
        return inputs

    generator = check_file(folder / "generator.onnx", weights, metadata, "generator")
    inp, [out] = generator.get_inputs()[0], generator.get_outputs()
    assert (inp.name, inp.shape, inp.type) == ("noise", ["batch", noise_dim], "tensor(float)"), inp
    assert len(generator.get_inputs()) == (1 if labels is None else 2)
    assert (out.name, out.shape, out.type) == ("images", ["batch", 28, 28, 1], "tensor(float)"), out
    produced = generator.run(["images"], feed("noise", noise))[0]
    assert produced.shape == (64, 28, 28, 1) and produced.dtype == np.float32
    error = np.abs(produced - images).max()
    assert error <= 1e-5, f"generator: ONNX Runtime differs from the app by {error}"
    assert np.abs(produced).max() <= 1.0
    # The batch is dynamic: one row, and three, give the same rows.
    for rows in (1, 3):
        part = generator.run(["images"], feed("noise", noise, rows))[0]
        assert np.abs(part - images[:rows]).max() <= 1e-5
    print(f"generator: {folder / 'generator.onnx'} matches the app within {error:.2e}")
    passed += 1

    discriminator = check_file(folder / "discriminator.onnx", weights, metadata, "discriminator")
    inp, [out] = discriminator.get_inputs()[0], discriminator.get_outputs()
    assert (inp.name, inp.shape) == ("images", ["batch", 28, 28, 1]), inp
    assert (out.name, out.shape) == ("logit", ["batch", 1]), out
    judged = discriminator.run(["logit"], feed("images", images))[0]
    error = np.abs(judged - logits).max()
    assert error <= 1e-5 * max(1.0, np.abs(logits).max()), f"discriminator differs by {error}"
    print(f"discriminator: {folder / 'discriminator.onnx'} matches the app within {error:.2e}")
    passed += 1
    print(f"{passed} passed, 0 failed")


if __name__ == "__main__":
    main(*sys.argv[1:])
