"""What the speed benchmarks share: a preset set up for timing, and MNIST-shaped data."""

from __future__ import annotations

import numpy as np

from advnets.config import RunConfig, load_config
from advnets.data.datasets import Dataset


def timing_config(
    preset: str, precision: str = "fp32", overrides: tuple[str, ...] = (), device: str = "cpu"
) -> RunConfig:
    """``preset`` (with ``key=value`` overrides) on ``device`` in the given precision, without
    progress bar or TensorBoard."""
    return load_config(
        preset,
        [
            *overrides,
            "logging.progress=false",
            "logging.tensorboard=false",
            f"training.device={device}",
            f"training.precision={precision}",
        ],
    )


def synthetic_mnist(n: int = 10000, n_valid: int = 100) -> Dataset:
    """n random MNIST-shaped training images and the first ``n_valid`` of them as the
    validation and test sets, in memory (speed does not depend on content)."""
    train = np.random.default_rng(0).random((n, 784), dtype=np.float32)
    held_out = train[:n_valid]
    return Dataset.from_arrays("synthetic", train, held_out, held_out, (28, 28), "-", "-")
