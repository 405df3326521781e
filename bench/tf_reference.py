"""The reference's training step in TensorFlow 2 on the CPU, timed as `train --bench-steps` is.

The tutorial's networks, losses (label smoothing 0.9), optimizers (Keras' Adam and RMSprop at
2e-4) and update order (D's update, then G's gradient from the same forward pass) in a
`tf.function`, at batch 256 on MNIST's training images. It prints one line like the `train`
example's: `bench tensorflow threads=N batch=256 steps=S: median … ms/step, …`.

    tools/venv/bin/python bench/tf_reference.py [--threads N] [--steps S]

`--threads` sets TensorFlow's intra-op threads (default: every core).
"""

import argparse
import gzip
import os
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 5


def training_images():
    data = gzip.decompress((ROOT / "www/data/mnist/train-images-idx3-ubyte.gz").read_bytes())
    pixels = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(-1, 784)
    return (pixels.astype(np.float32) - 127.5) / 127.5


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    keras = tf.keras
    layers = keras.layers

    # G: Dense(100) linear, three LeakyReLU layers (128, 128, 256), Dense(784) tanh.
    generator = keras.Sequential([keras.Input(shape=(100,)), layers.Dense(100)])
    for width in (128, 128, 256):
        generator.add(layers.Dense(width))
        generator.add(layers.LeakyReLU(negative_slope=0.01))
    generator.add(layers.Dense(784, activation="tanh"))
    # D: three LeakyReLU layers of 128, then a logit.
    discriminator = keras.Sequential([keras.Input(shape=(784,))])
    for width in (128, 128, 128):
        discriminator.add(layers.Dense(width))
        discriminator.add(layers.LeakyReLU(negative_slope=0.01))
    discriminator.add(layers.Dense(1))

    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    g_optimizer = keras.optimizers.Adam(2e-4)
    d_optimizer = keras.optimizers.RMSprop(2e-4)

    @tf.function
    def training_step(images):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            noise = tf.random.normal((args.batch, 100))
            fake = generator(noise)
            real_logits = discriminator(images)
            fake_logits = discriminator(fake)
            d_loss = bce(tf.ones_like(real_logits) * 0.9, real_logits) + bce(
                tf.zeros_like(fake_logits), fake_logits
            )
            d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
            d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
            g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
            g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
        return d_loss, g_loss

    images = training_images()
    order = np.random.default_rng(0).permutation(len(images))
    times = []
    for i in range(WARM_UP + args.steps):
        batch = tf.constant(images[order[i * args.batch : (i + 1) * args.batch]])
        start = time.perf_counter()
        d_loss, _ = training_step(batch)
        d_loss.numpy()  # wait for the step
        if i >= WARM_UP:
            times.append(time.perf_counter() - start)
    threads = args.threads or os.cpu_count()
    median = statistics.median(times) * 1e3
    mean = statistics.mean(times) * 1e3
    print(
        f"bench tensorflow {tf.__version__} threads={threads} batch={args.batch} "
        f"steps={args.steps}: median {median:.2f} ms/step, mean {mean:.2f} ms/step, "
        f"{1e3 / mean:.1f} steps/s"
    )


if __name__ == "__main__":
    main()
