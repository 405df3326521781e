"""The page's samples download as numpy reads it.

    tools/venv/bin/python tests/python/samples_check.py SAMPLES.npy LABELS.npy

`np.load` must read `samples.npy` as float32 [10000, 28, 28] within [-1, 1] (not all one value)
and `labels.npy` as uint8 [10000], the digits 0, 1, …, 9 in turn, 1,000 of each.
"""

import sys

import numpy as np


def main():
    samples_path, labels_path = sys.argv[1:3]
    samples = np.load(samples_path, allow_pickle=False)
    labels = np.load(labels_path, allow_pickle=False)
    assert samples.dtype == np.float32 and samples.shape == (10000, 28, 28), (samples.dtype, samples.shape)
    assert samples.min() >= -1.0 and samples.max() <= 1.0, (samples.min(), samples.max())
    assert samples.std() > 0.01, "the samples are not all one value"
    assert labels.dtype == np.uint8 and labels.shape == (10000,), (labels.dtype, labels.shape)
    assert (labels == np.arange(10000) % 10).all(), labels[:20]
    assert (np.bincount(labels) == 1000).all()
    print(f"samples.npy {samples.shape} {samples.dtype} in [{samples.min():.3f}, {samples.max():.3f}], "
          f"labels.npy {labels.shape} {labels.dtype}: numpy reads both")


if __name__ == "__main__":
    main()
