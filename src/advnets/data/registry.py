"""The datasets a run's data config can name, each with its loader."""

from __future__ import annotations

from collections.abc import Callable

from advnets.config import ConfigError, DataConfig
from advnets.data.datasets import Dataset
from advnets.data.mnist import load_mnist
from advnets.data.sources import data_directory
from advnets.data.toy import TOY_DATASETS, load_toy


def _mnist(config: DataConfig) -> Dataset:
    """The standard 50k/10k/10k split (PAPER.md), optionally without one digit in training and
    validation (data.exclude_class) and only the first training images (data.train_subset)."""
    splits = load_mnist(config.data_dir, download=config.download)
    train, valid = splits.train_x, splits.valid_x
    if config.exclude_class is not None:
        train = train[splits.train_y != config.exclude_class]
        valid = valid[splits.valid_y != config.exclude_class]
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
        valid,
        splits.test_x,
        (28, 28),
        splits.sha256,
        splits.source,
        data_directory(config.data_dir),
    )


def _toy(config: DataConfig) -> Dataset:
    """A low-dimensional mixture with a known density (advnets.data.toy)."""
    return load_toy(config.dataset, config.toy_points)


DATASETS: dict[str, Callable[[DataConfig], Dataset]] = {
    "mnist": _mnist,
    **dict.fromkeys(TOY_DATASETS, _toy),
}


def load_dataset(config: DataConfig) -> Dataset:
    """Load the dataset a data config names (verified against its checksums)."""
    try:
        loader = DATASETS[config.dataset]
    except KeyError:
        raise ConfigError(
            f"data.dataset = {config.dataset!r} is not valid; choose one of {', '.join(DATASETS)}."
        ) from None
    return loader(config)
