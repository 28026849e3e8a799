"""The datasets a run's data config can name, each with its loader.

Image data sets reach the tools as flat rows in [0, 1] with their (C, H, W) shape and, where
the data has them, class labels (:class:`advnets.data.datasets.Dataset`). ``data.channels``
states what a preset was made for: data with other channels is refused when the config is
read (advnets.config), except a folder of the user's images, which is converted to it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable

import numpy as np
import torch

from advnets.config import DATASET_SHAPES, TOY_DATASETS, ConfigError, DataConfig
from advnets.data.cifar10 import load_cifar10
from advnets.data.datasets import Dataset, ImageShape, Labels, picture_shape
from advnets.data.digits import digits_sha256, digits_splits
from advnets.data.fashion import load_fashion_mnist
from advnets.data.folder import read_image_folder
from advnets.data.imageset import ImageSet, ImageSplits
from advnets.data.mnist import load_mnist
from advnets.data.sources import data_directory
from advnets.data.toy import load_toy

DIGITS = tuple(str(digit) for digit in range(10))
FOLDER_SPLIT_SEED = 0  # a folder's split is the same for every run of the same files
FOLDER_SHARES = (0.8, 0.1, 0.1)  # train / valid / test shares of a folder's images


def folder_channels(config: DataConfig) -> int:
    """The channels a folder's images are converted to: data.channels, else RGB."""
    return config.channels or 3


def _check_subset(config: DataConfig, n_train: int) -> None:
    if config.train_subset is not None and config.train_subset > n_train:
        raise ConfigError(
            f"data.train_subset = {config.train_subset} exceeds the {n_train} training images."
        )


def _mnist(config: DataConfig) -> Dataset:
    """The standard 50k/10k/10k split (the reference code's), optionally only the first
    training images."""
    splits = load_mnist(config.data_dir, download=config.download)
    _check_subset(config, len(splits.train_x))
    stop = config.train_subset
    tensors = (torch.from_numpy(y) for y in (splits.train_y[:stop], splits.valid_y, splits.test_y))
    labels = Labels(*tensors, DIGITS)
    return Dataset.from_arrays(
        "mnist",
        splits.train_x[:stop],
        splits.valid_x,
        splits.test_x,
        data_image_shape(config),
        splits.sha256,
        splits.source,
        data_directory(config.data_dir),
        labels,
    )


def _image_splits(name: str, load: Callable[..., ImageSplits]) -> Callable[[DataConfig], Dataset]:
    """The loader of a data set that comes as train / valid / test image splits."""

    def loader(config: DataConfig) -> Dataset:
        splits = load(config.data_dir, download=config.download)
        _check_subset(config, len(splits.train))
        return Dataset.from_image_splits(
            name, splits, data_directory(config.data_dir), config.train_subset
        )

    loader.__doc__ = f"{name}, verified by its checksums (advnets.data)."
    return loader


def _folder(config: DataConfig) -> Dataset:
    """A folder of the user's images (advnets.data.folder), shuffled once with a fixed seed
    and split 80 / 10 / 10 % into train / valid / test."""
    channels = folder_channels(config)
    images = read_image_folder(config.folder, config.image_size, channels, config.data_dir)
    if len(images) < 3:
        raise ConfigError(
            f"{config.folder} holds {len(images)} image(s); a run needs at least 3 (one each "
            "for training, validation and test)."
        )
    order = np.random.default_rng(FOLDER_SPLIT_SEED).permutation(len(images))
    shuffled = ImageSet(
        images.name,
        images.images[order],
        None if images.labels is None else images.labels[order],
        images.class_names,
        images.source,
    )
    n_valid = max(1, round(FOLDER_SHARES[1] * len(images)))
    n_test = max(1, round(FOLDER_SHARES[2] * len(images)))
    n_train = len(images) - n_valid - n_test
    train, rest = shuffled.split(n_train, (f"{images.name}/train", f"{images.name}/rest"))
    valid, test = rest.split(n_valid, (f"{images.name}/valid", f"{images.name}/test"))
    _check_subset(config, n_train)
    splits = ImageSplits(train, valid, test)
    cache = data_directory(config.data_dir)
    return Dataset.from_image_splits("folder", splits, cache, config.train_subset)


def two_domains(name: str, a: Dataset, b: Dataset) -> Dataset:
    """The unpaired two-domain set of ``a`` (domain A) and ``b`` (domain B, its ``other``),
    identified by the digests of both."""
    if a.image_shape != b.image_shape:
        raise ConfigError(
            f"{name}: domain A's images are {a.image_shape} and domain B's {b.image_shape}; "
            "the two domains need images of one shape."
        )
    digest = hashlib.sha256(f"{a.sha256}\n{b.sha256}".encode()).hexdigest()
    source = f"A: {a.source}; B: {b.source}"
    return dataclasses.replace(a, name=name, sha256=digest, source=source, other=b)


def _digits() -> Dataset:
    """scikit-learn's 8x8 digits up-sampled to 28x28, split once (advnets.data.digits)."""
    (train, train_y), (valid, valid_y), (test, test_y) = digits_splits()
    labels = Labels(*(torch.from_numpy(y) for y in (train_y, valid_y, test_y)), DIGITS)
    source = "scikit-learn load_digits (8x8, bilinear to 28x28)"
    return Dataset.from_arrays(
        "digits", train, valid, test, (28, 28), digits_sha256(), source, None, labels
    )


def _digits_alone(config: DataConfig) -> Dataset:
    """scikit-learn's 8x8 digits as a data set of their own (nothing to download), optionally
    only the first training images."""
    digits = _digits()
    _check_subset(config, len(digits.train))
    if config.train_subset is None:
        return digits
    stop, labels = config.train_subset, digits.labels
    return dataclasses.replace(
        digits,
        train=digits.train[:stop],
        labels=dataclasses.replace(labels, train=labels.train[:stop]),
    )


def _mnist_digits(config: DataConfig) -> Dataset:
    """MNIST (domain A; data.train_subset takes its first training images) and scikit-learn's
    8x8 digits up-sampled to 28x28 (domain B), unpaired: CycleGAN's offline pair."""
    return two_domains("mnist-digits", _mnist(config), _digits())


def _folder_pair(config: DataConfig) -> Dataset:
    """Two folders of the user's images, data.folder (domain A; data.train_subset takes its
    first training images) and data.folder_b (domain B), each split as a folder is."""
    b = _folder(dataclasses.replace(config, folder=config.folder_b, train_subset=None))
    return two_domains("folder-pair", _folder(config), b)


def _toy(config: DataConfig) -> Dataset:
    """A low-dimensional mixture with a known density (advnets.data.toy)."""
    return load_toy(config.dataset, config.toy_points)


DATASETS: dict[str, Callable[[DataConfig], Dataset]] = {
    "mnist": _mnist,
    "fashion-mnist": _image_splits("fashion-mnist", load_fashion_mnist),
    "cifar10": _image_splits("cifar10", load_cifar10),
    "folder": _folder,
    "mnist-digits": _mnist_digits,
    "digits": _digits_alone,
    "folder-pair": _folder_pair,
    **dict.fromkeys(TOY_DATASETS, _toy),
}


def data_image_shape(config: DataConfig) -> ImageShape | None:
    """The shape of the images a data config gives (see ImageShape), known without reading
    them; None for points."""
    if config.dataset in ("folder", "folder-pair"):
        return picture_shape(folder_channels(config), config.image_size, config.image_size)
    fixed = DATASET_SHAPES.get(config.dataset)
    return None if fixed is None else picture_shape(*fixed)


def load_dataset(config: DataConfig) -> Dataset:
    """Load the dataset a data config names (verified against its checksums)."""
    try:
        loader = DATASETS[config.dataset]
    except KeyError:
        raise ConfigError(
            f"data.dataset = {config.dataset!r} is not valid; choose one of {', '.join(DATASETS)}."
        ) from None
    dataset = loader(config)
    if config.exclude_class is None:
        return dataset
    return without_class(dataset, config.exclude_class)


def without_class(dataset: Dataset, excluded: int) -> Dataset:
    """``dataset`` without class ``excluded`` in its training and validation splits
    (data.exclude_class: the anomaly an autoencoder never sees); the test split keeps all."""
    labels = dataset.labels
    if labels is None:
        raise ConfigError(f"data.exclude_class needs labels; {dataset.name} has none.")
    train, valid = labels.train != excluded, labels.valid != excluded
    kept = dataclasses.replace(labels, train=labels.train[train], valid=labels.valid[valid])
    return dataclasses.replace(
        dataset, train=dataset.train[train], valid=dataset.valid[valid], labels=kept
    )
