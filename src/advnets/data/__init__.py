"""Data sets, fetched and verified by SHA-256 before use (see :mod:`advnets.data.sources`)."""

from advnets.data.mnist import DataUnavailableError, MNISTSplits, default_data_dir, load_mnist

__all__ = ["DataUnavailableError", "MNISTSplits", "default_data_dir", "load_mnist"]
