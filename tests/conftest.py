"""Shared fixtures: small synthetic datasets, never the network."""

from __future__ import annotations

import numpy as np
import pytest

from advnets.config import load_config
from advnets.data.datasets import Dataset


def make_dataset(n_train: int = 400, n_eval: int = 100, dim: int = 784, seed: int = 0) -> Dataset:
    """Blurry random 'digits': bright blobs on a dark background, pixels in [0, 1]."""
    rng = np.random.default_rng(seed)
    side = int(np.sqrt(dim))
    yy, xx = np.mgrid[0:side, 0:side]

    def images(n: int) -> np.ndarray:
        cy, cx = rng.uniform(side * 0.3, side * 0.7, (2, n, 1, 1))
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (side / 6) ** 2))
        return blob.reshape(n, dim).astype(np.float32)

    return Dataset.from_arrays(
        "synthetic",
        images(n_train),
        images(n_eval),
        images(n_eval),
        (side, side),
        f"synthetic-{seed}",
        "test fixture",
    )


@pytest.fixture
def tiny_dataset() -> Dataset:
    return make_dataset()


def tiny_config(*overrides: str):
    """The paper preset shrunk to run in seconds."""
    return load_config(
        "mnist-paper",
        [
            "model.generator_hidden=[64, 64]",
            "model.discriminator_units=[32, 32]",
            "training.batch_size=20",
            "training.epochs=2",
            "evaluation.every_epochs=1",
            "evaluation.samples=200",
            "evaluation.valid_images=50",
            "logging.progress=false",
            "logging.tensorboard=false",
            "logging.log_every_steps=5",
            "logging.grid_rows=4",
            *overrides,
        ],
    )
