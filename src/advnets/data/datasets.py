"""Datasets as in-memory tensors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


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
