"""Datasets as in-memory tensors: what the trainer and the evaluation tools read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from advnets.data.imageset import ImageSplits

# The shape of one image as the tools see it: (H, W) for grey images, (C, H, W) for colour;
# a flat row holds the C·H·W values channel by channel.
ImageShape = tuple[int, ...]


def picture_shape(channels: int, height: int, width: int) -> ImageShape:
    """(H, W) for a grey image (the shape every grey tool has always used), (C, H, W) else."""
    return (height, width) if channels == 1 else (channels, height, width)


def shape_channels(image_shape: ImageShape) -> int:
    """The channels of an image of ``image_shape`` (see :data:`ImageShape`)."""
    return 1 if len(image_shape) == 2 else image_shape[0]


@dataclass(frozen=True)
class Labels:
    """Class labels of a dataset's splits (int64, in 0 .. len(class_names) − 1)."""

    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    class_names: tuple[str, ...]


@dataclass(frozen=True)
class Dataset:
    """Flat images in [0, 1] held in memory, split into train / valid / test."""

    name: str
    train: torch.Tensor  # (N, D) float32
    valid: torch.Tensor
    test: torch.Tensor
    image_shape: ImageShape | None  # None: points, not images (the toy datasets)
    sha256: str  # identifies the data whatever the source
    source: str
    cache_dir: Path | None = None  # where arrays derived from the data alone may be kept
    labels: Labels | None = None  # None: unlabelled
    # a two-domain set's second domain, B, unpaired with this one, A (CycleGAN's data); the
    #   trainer then gives each minibatch of A one of B (games.base.Minibatch.other)
    other: Dataset | None = None

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])

    @property
    def channels(self) -> int | None:
        """1 (grey) or 3 (colour) for images; None for points."""
        return None if self.image_shape is None else shape_channels(self.image_shape)

    @classmethod
    def from_arrays(
        cls,
        name: str,
        train: np.ndarray,
        valid: np.ndarray,
        test: np.ndarray,
        image_shape: ImageShape | None,
        sha256: str,
        source: str,
        cache_dir: Path | None = None,
        labels: Labels | None = None,
    ) -> Dataset:
        def as_tensor(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

        tensors = as_tensor(train), as_tensor(valid), as_tensor(test)
        return cls(name, *tensors, image_shape, sha256, source, cache_dir, labels)

    @classmethod
    def from_image_splits(
        cls, name: str, splits: ImageSplits, cache_dir: Path | None, train_subset: int | None
    ) -> Dataset:
        """The flat float rows of an image set's splits (bytes/255), with their labels; only
        the first ``train_subset`` training images if given (the digest stays the full data's)."""
        full, valid, test = splits
        stop = len(full) if train_subset is None else train_subset
        train = full.subset(0, stop, full.name)
        labels = None
        if train.labels is not None:
            tensors = (torch.from_numpy(split.labels) for split in (train, valid, test))
            labels = Labels(*tensors, train.class_names)
        return cls.from_arrays(
            name,
            train.flat(),
            valid.flat(),
            test.flat(),
            picture_shape(*train.shape),
            splits.sha256,
            splits.source,
            cache_dir,
            labels,
        )
