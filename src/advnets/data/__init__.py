"""Data sets, fetched and verified by SHA-256 before use (see :mod:`advnets.data.sources`)."""

from advnets.data.cifar10 import load_cifar10
from advnets.data.fashion import load_fashion_mnist
from advnets.data.folder import read_image_folder
from advnets.data.imageset import ImageSet, ImageSplits
from advnets.data.mnist import MNISTSplits, load_mnist
from advnets.data.sources import DataUnavailableError, default_data_dir

__all__ = [
    "DataUnavailableError",
    "ImageSet",
    "ImageSplits",
    "MNISTSplits",
    "default_data_dir",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "read_image_folder",
]
