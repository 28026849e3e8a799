"""Datasets as in-memory tensors, built from a run's data config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from advnets.config import ConfigError, DataConfig


@dataclass(frozen=True)
class Dataset:
    """Flat images in [0, 1] held in memory, split into train / valid / test."""

    name: str
    train: torch.Tensor  # (N, D) float32
    valid: torch.Tensor
    test: torch.Tensor
    image_shape: tuple[int, int] | None  # None: points, not images (the toy datasets)
    sha256: str  # identifies the data whatever the source
    source: str
    cache_dir: Path | None = None  # where arrays derived from the data alone may be kept

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])

    @classmethod
    def from_arrays(
        cls,
        name: str,
        train: np.ndarray,
        valid: np.ndarray,
        test: np.ndarray,
        image_shape: tuple[int, int] | None,
        sha256: str,
        source: str,
        cache_dir: Path | None = None,
    ) -> Dataset:
        def as_tensor(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

        tensors = as_tensor(train), as_tensor(valid), as_tensor(test)
        return cls(name, *tensors, image_shape, sha256, source, cache_dir)


def load_dataset(config: DataConfig) -> Dataset:
    """Load the dataset a data config names (verified against its checksums)."""
    if config.dataset == "mnist":
        from advnets.data.mnist import load_mnist
        from advnets.data.sources import data_directory

        splits = load_mnist(config.data_dir, download=config.download)
        train = splits.train_x
        if config.train_subset is not None:
            if config.train_subset > len(train):
                raise ConfigError(
                    f"data.train_subset = {config.train_subset} exceeds the "
                    f"{len(train)} training images."
                )
            train = train[: config.train_subset]
        return Dataset.from_arrays(
            "mnist",
            train,
            splits.valid_x,
            splits.test_x,
            (28, 28),
            splits.sha256,
            splits.source,
            data_directory(config.data_dir),
        )
    from advnets.data.toy import TOY_DATASETS, load_toy

    if config.dataset in TOY_DATASETS:
        return load_toy(config.dataset, config.toy_points)
    raise ConfigError(f"data.dataset = {config.dataset!r} is not valid; choose 'mnist'.")
