"""Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 28x28 grey images of clothing, 10 classes.

Split: train = the first 50,000 of the 60,000 training images, valid = the last
10,000, test = the 10,000 t10k images. This is MNIST's split: Fashion-MNIST is
made as a drop-in replacement for MNIST, with the same files and sizes, so the
MNIST presets and the Parzen protocol (bandwidth chosen on 10,000 valid images)
carry over unchanged. The last 10,000 training images hold 955 to 1,050 of each
class; the test images 1,000 of each.

The four IDX files live in the ``fashion-mnist/`` folder of the data directory
(their names are MNIST's, so they need a folder of their own). Each is checked
against its SHA-256 before use; if downloading is allowed, a missing one is
fetched from the data set's canonical host, then from the copy in its GitHub
repository, then from the Keras mirror. No package on PyPI is known to carry
them.

Checksums: the data set's README publishes an MD5 of each file; the SHA-256
digests below are those TensorFlow Datasets and torchvision record for the same
files. For both label files the real bytes were checked against both digests;
for the image files, whose bytes were not at hand, the SHA-256 values rest on
those records.

====================================  ================================
file                                  MD5 (the data set's README)
====================================  ================================
``train-images-idx3-ubyte.gz``        8d4fb7e6c68d591d4c3dfef9ec88bf0d
``train-labels-idx1-ubyte.gz``        25c81989df183df01b3e8a0aad5dffbe
``t10k-images-idx3-ubyte.gz``         bef4ecab320f06d8554ea6380940ec79
``t10k-labels-idx1-ubyte.gz``         bb300cfdad3c16e7a12a480ee83cd310
====================================  ================================
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from advnets.data.idx import IDXError, read_idx_pair
from advnets.data.imageset import ImageSet, ImageSplits
from advnets.data.sources import (
    DataUnavailableError,
    RemoteFile,
    data_directory,
    fetch_all,
    unavailable_message,
)

log = logging.getLogger(__name__)

FOLDER = "fashion-mnist"
N_TRAIN = 50_000  # first 50,000 of the 60,000 training images
N_VALID = 10_000  # last 10,000 training images
N_TEST = 10_000  # the t10k images
SIDE = 28

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILE_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

SHA256: dict[str, str] = {
    TRAIN_IMAGES: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    TRAIN_LABELS: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    TEST_IMAGES: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    TEST_LABELS: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}

MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/"
    "b2617bb6d3ffa2e429640350f613e3291e10b141/data/fashion/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
)


def remote_files() -> tuple[RemoteFile, ...]:
    """The four IDX files, their SHA-256 (read at call time) and mirrors, in FILE_NAMES order."""
    return tuple(
        RemoteFile(name, SHA256[name], tuple(mirror + name for mirror in MIRRORS))
        for name in FILE_NAMES
    )


def _read_split(images_path: Path, labels_path: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (n, 1, 28, 28) and their labels from one pair of IDX files."""
    images, labels = read_idx_pair(images_path, labels_path, len(CLASS_NAMES))
    if images.shape != (n, 1, SIDE, SIDE):
        _, _, height, width = images.shape
        raise IDXError(
            f"{images_path} holds {len(images):,} images of {height}x{width} pixels, "
            f"expected {n:,} of {SIDE}x{SIDE}."
        )
    return images, labels


def load_fashion_mnist(
    data_dir: str | os.PathLike | None = None, download: bool = True
) -> ImageSplits:
    """Fashion-MNIST as 50,000 / 10,000 / 10,000 grey images (N, 1, 28, 28) with labels.

    ``data_dir`` defaults to :func:`advnets.data.sources.default_data_dir`; the files are
    looked for (and fetched into) its ``fashion-mnist/`` folder. A cached file whose SHA-256
    differs is moved aside to ``<name>.corrupt``. Raises DataUnavailableError, saying which
    file to put where, if no verified copy can be had.
    """
    cache_dir = data_directory(data_dir) / FOLDER
    files = remote_files()
    paths = fetch_all(files, cache_dir, download)
    if paths is None:
        raise DataUnavailableError(unavailable_message("Fashion-MNIST", files, cache_dir, download))
    train_images, train_labels, test_images, test_labels = paths
    source = f"Fashion-MNIST IDX files in {cache_dir}"
    images, labels = _read_split(train_images, train_labels, N_TRAIN + N_VALID)
    train = ImageSet(f"{FOLDER}/train+valid", images, labels, CLASS_NAMES, source)
    images, labels = _read_split(test_images, test_labels, N_TEST)
    test = ImageSet(f"{FOLDER}/test", images, labels, CLASS_NAMES, source)
    splits = ImageSplits(*train.split(N_TRAIN, (f"{FOLDER}/train", f"{FOLDER}/valid")), test)
    log.info("loaded Fashion-MNIST from %s (data sha256 %s)", source, splits.sha256)
    return splits
