"""scikit-learn's 8x8 handwritten digits, up-sampled to MNIST's 28x28: CycleGAN's offline B domain.

The set (``sklearn.datasets.load_digits``; the UCI optical recognition of handwritten digits
test set) holds 1,797 grey images of 8x8 pixels with values 0 .. 16 and their digit. It ships
inside scikit-learn, so nothing is downloaded. Each image is scaled to [0, 1] (value / 16) and
up-sampled to 28x28 bilinearly (``torch.nn.functional.interpolate``, ``align_corners=False``).
The images are shuffled once with ``SPLIT_SEED`` and split into ``SPLIT_SIZES`` (train / valid
/ test, about 80 / 10 / 10 %), labels kept: the same split on every machine.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import torch
from torch.nn import functional as F

from advnets.config import ConfigError

SIDE = 28  # up-sampled to MNIST's side
LEVELS = 16  # the 8x8 images hold values 0 .. 16
SPLIT_SEED = 0
SPLIT_SIZES = (1437, 180, 180)  # train, valid, test of the 1,797 images
RECIPE = "sklearn load_digits / 16, bilinear 8x8 -> 28x28 (align_corners=False), seed-0 split"


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 raw 8x8 images (uint8 values 0 .. 16, (N, 8, 8)) and their digits (int64),
    read from the installed scikit-learn."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ConfigError(
            "the 8x8 digits come with scikit-learn, which is not installed: "
            "pip install 'advnets[cyclegan]'."
        ) from None
    bunch = load_digits()
    return bunch.images.astype(np.uint8), bunch.target.astype(np.int64)


def upsample(images: np.ndarray) -> np.ndarray:
    """8x8 images with values 0 .. 16 as flat float32 (N, 784) rows in [0, 1], bilinearly
    up-sampled to 28x28."""
    scaled = torch.from_numpy(images.astype(np.float32) / LEVELS)[:, None]
    resized = F.interpolate(scaled, size=(SIDE, SIDE), mode="bilinear", align_corners=False)
    return resized.clamp(0, 1).reshape(len(images), SIDE * SIDE).numpy()


def digits_splits() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(images, labels) of the train, valid and test splits: flat 28x28 rows in [0, 1]."""
    images, labels = digits_arrays()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(images))
    flat, labels = upsample(images[order]), labels[order]
    bounds = np.cumsum((0, *SPLIT_SIZES))
    return tuple((flat[a:b], labels[a:b]) for a, b in itertools.pairwise(bounds))


def digits_sha256() -> str:
    """SHA-256 of the recipe, then the raw images and labels: identifies the digits set."""
    images, labels = digits_arrays()
    digest = hashlib.sha256(RECIPE.encode())
    digest.update(np.ascontiguousarray(images))
    digest.update(np.ascontiguousarray(labels))
    return digest.hexdigest()
