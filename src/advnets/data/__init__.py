"""Data sets, fetched and verified by SHA-256 before use (see :mod:`advnets.data.sources`)."""

from advnets.data.mnist import MNISTSplits, load_mnist
from advnets.data.sources import DataUnavailableError, default_data_dir

__all__ = ["DataUnavailableError", "MNISTSplits", "default_data_dir", "load_mnist"]
