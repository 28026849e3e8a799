"""Image sets: uint8 images (N, C, H, W) with optional class labels, and their splits.

An :class:`ImageSet` holds its pixels as bytes, the compact form every reader
produces (a 50,000-image CIFAR-10 split is 154 MB as bytes, four times that as
floats); models see floats in [0, 1] (bytes/255, the convention of Goodfellow et
al. 2014), made a batch at a time by :meth:`ImageSet.batches` or all at once,
flattened, by :meth:`ImageSet.flat` for the fully connected models.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

CHANNELS = (1, 3)  # grey or RGB


def to_unit_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 bytes/255 in [0, 1] (exactly as the MNIST loader scales them)."""
    return np.divide(pixels, np.float32(255), dtype=np.float32)


def _update_digest(digest: hashlib._Hash, images: ImageSet) -> None:
    """Feed the pixels, then the labels (one byte each where they fit, else int64 little-endian)."""
    digest.update(np.ascontiguousarray(images.images))
    if images.labels is not None:
        dtype = np.uint8 if images.num_classes <= 256 else np.dtype("<i8")
        digest.update(np.ascontiguousarray(images.labels, dtype=dtype))


def _problem(
    images: np.ndarray, labels: np.ndarray | None, class_names: Sequence[str]
) -> str | None:
    """What is wrong with these arrays as an image set, or None."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] not in CHANNELS:
        return f"images are {images.dtype} {images.shape}, expected uint8 (N, 1 or 3, H, W)"
    if labels is None:
        return "class names given without labels" if class_names else None
    if labels.dtype != np.int64 or labels.shape != images.shape[:1]:
        return f"labels are {labels.dtype} {labels.shape}, expected int64 ({len(images)},)"
    if not class_names:
        return "labels given without class names"
    if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
        return f"labels lie outside 0 .. {len(class_names) - 1} ({len(class_names)} classes)"
    return None


@dataclass(frozen=True, eq=False)
class ImageSet:
    """Images as uint8 (N, C, H, W), C = 1 (grey) or 3 (RGB), with optional int64 labels."""

    name: str  # e.g. "fashion-mnist/train"
    images: np.ndarray = field(repr=False)  # uint8 (N, C, H, W)
    labels: np.ndarray | None = field(repr=False)  # int64 (N,) in 0 .. num_classes - 1, or None
    class_names: tuple[str, ...]  # one per class; () when unlabelled
    source: str  # where the images came from, for logs and run directories

    def __post_init__(self) -> None:
        problem = _problem(self.images, self.labels, self.class_names)
        if problem:
            raise ValueError(f"image set {self.name}: {problem}.")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        _, channels, height, width = self.images.shape
        return channels, height, width

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def num_classes(self) -> int:
        """Number of classes; 0 for an unlabelled set."""
        return len(self.class_names)

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the pixels, then of the labels (see :func:`splits_digest`)."""
        digest = hashlib.sha256()
        _update_digest(digest, self)
        return digest.hexdigest()

    def subset(self, start: int, stop: int, name: str) -> ImageSet:
        """Images ``start`` .. ``stop - 1`` as a new set named ``name`` (views, no copy)."""
        if not 0 <= start <= stop <= len(self):
            raise ValueError(f"{self.name} has {len(self)} images; cannot take {start} .. {stop}.")
        labels = None if self.labels is None else self.labels[start:stop]
        return ImageSet(name, self.images[start:stop], labels, self.class_names, self.source)

    def split(self, n: int, names: tuple[str, str]) -> tuple[ImageSet, ImageSet]:
        """The first ``n`` images and the rest, named ``names``."""
        return self.subset(0, n, names[0]), self.subset(n, len(self), names[1])

    def batches(self, batch_size: int, order: np.ndarray | None = None) -> Iterator[torch.Tensor]:
        """float32 (B, C, H, W) tensors in [0, 1], in ``order`` (indices) or as stored."""
        import torch  # here, so that reading data sets does not load torch

        if batch_size < 1:
            raise ValueError(f"batch_size = {batch_size} must be at least 1.")
        n = len(self) if order is None else len(order)
        for start in range(0, n, batch_size):
            if order is None:
                pixels = self.images[start : start + batch_size]
            else:
                pixels = self.images[order[start : start + batch_size]]
            yield torch.from_numpy(to_unit_float(pixels))

    def flat(self) -> np.ndarray:
        """All images as float32 (N, C·H·W) in [0, 1], the input of the fully connected models."""
        return to_unit_float(self.images.reshape(len(self), -1))


@dataclass(frozen=True, eq=False)
class ImageSplits:
    """A data set's train / valid / test image sets (same image shape and classes)."""

    train: ImageSet
    valid: ImageSet
    test: ImageSet

    def __post_init__(self) -> None:
        for split in (self.valid, self.test):
            if split.shape != self.train.shape or split.class_names != self.train.class_names:
                raise ValueError(
                    f"{split.name} ({split.shape}, {split.num_classes} classes) does not match "
                    f"{self.train.name} ({self.train.shape}, {self.train.num_classes} classes)."
                )

    def __iter__(self) -> Iterator[ImageSet]:
        return iter((self.train, self.valid, self.test))

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of train, valid, test in order (see :func:`splits_digest`)."""
        return splits_digest(self)

    @property
    def source(self) -> str:
        return self.train.source


def splits_digest(sets: Iterable[ImageSet]) -> str:
    """SHA-256 of each set in order: its uint8 pixels, then its labels, one byte each where
    every class fits one (else little-endian int64). For MNIST this is the digest its loader
    has always recorded (pixels then uint8 labels of train, valid, test)."""
    digest = hashlib.sha256()
    for images in sets:
        _update_digest(digest, images)
    return digest.hexdigest()
