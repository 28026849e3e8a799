"""CIFAR-10 (Krizhevsky 2009): 32x32 colour images, 10 classes, from its python-version archive.

Split: train = the first 45,000 of the 50,000 training images (``data_batch_1``
to ``_5`` in order), valid = the last 5,000, test = the 10,000 of
``test_batch``. 45,000 / 5,000 is the usual CIFAR-10 validation split (He et al.
2016); 5,000 images are enough to choose a Parzen bandwidth, and a generative
model gains more from the other 5,000 as training data than MNIST's 10,000-image
valid split would give it.

The archive ``cifar-10-python.tar.gz`` lives in the ``cifar-10/`` folder of the
data directory; if downloading is allowed it is fetched from the data set's home
page. Its SHA-256 is checked before anything is read from it (a mismatching copy
is moved aside, never used). The batches inside are Python 2 pickles: they are
read straight from the archive, nothing is extracted to disk, and unpickled by
:func:`advnets.data.pickles.load_array_pickle`, which rebuilds numpy arrays and
refuses any other global a pickle names.

Checksum: the home page publishes the archive's MD5,
c58f30108f718f92721af3b95e74349a (170,498,071 bytes); the SHA-256 below is the
one Keras records for the same file (``keras.datasets.cifar10``).
"""

from __future__ import annotations

import logging
import os
import tarfile
import zlib
from pathlib import Path

import numpy as np

from advnets.data.imageset import ImageSet, ImageSplits
from advnets.data.pickles import load_array_pickle
from advnets.data.sources import (
    DataUnavailableError,
    RemoteFile,
    data_directory,
    fetch_verified,
    unavailable_message,
)

log = logging.getLogger(__name__)

FOLDER = "cifar-10"
ARCHIVE = "cifar-10-python.tar.gz"
SHA256: dict[str, str] = {
    ARCHIVE: "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
}
URLS = ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)

BATCH_FOLDER = "cifar-10-batches-py"  # the archive's one folder
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"

N_TRAIN = 45_000  # first 45,000 of the 50,000 training images
N_VALID = 5_000  # last 5,000 training images
N_TEST = 10_000  # test_batch
NUM_CLASSES = 10
SHAPE = (3, 32, 32)  # each row of a batch's data: 1,024 red, 1,024 green, 1,024 blue bytes


class ArchiveError(ValueError):
    """A CIFAR-10 archive whose contents cannot be used; the message names it."""


def _read_members(path: Path) -> dict[str, bytes]:
    """The bytes of every batch and of the metadata, read in one pass over the archive."""
    wanted = {f"{BATCH_FOLDER}/{name}" for name in (*TRAIN_BATCHES, TEST_BATCH, META)}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for info in archive:
                if info.name in wanted and info.isfile():
                    handle = archive.extractfile(info)
                    found[info.name] = handle.read() if handle is not None else b""
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise ArchiveError(f"{path} is not a readable tar.gz archive ({err}).") from err
    missing = sorted(wanted - found.keys())
    if missing:
        raise ArchiveError(f"{path} lacks {', '.join(missing)}.")
    return found


def _unpickle_dict(data: bytes, origin: str) -> dict[str, object]:
    """The dict pickled in a batch, its keys as str (Python 2 wrote them as byte strings)."""
    content = load_array_pickle(data, origin)
    if not isinstance(content, dict):
        raise ArchiveError(f"{origin} holds a {type(content).__name__}, not a dict.")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in content.items()}


def _batch_arrays(batch: dict[str, object], origin: str) -> tuple[np.ndarray, np.ndarray]:
    """A batch's images as uint8 (n, 3, 32, 32) and labels as int64 (n,), checked."""
    data, labels = batch.get("data"), batch.get("labels")
    pixels = int(np.prod(SHAPE))
    if not (
        isinstance(data, np.ndarray)
        and data.dtype == np.uint8
        and data.ndim == 2
        and data.shape[1] == pixels
    ):
        raise ArchiveError(f"{origin}: 'data' is not an array of uint8 rows of {pixels} bytes.")
    values = np.asarray(labels if isinstance(labels, list | np.ndarray) else None)
    if (
        values.shape != (len(data),)
        or values.dtype.kind not in "iu"
        or values.min(initial=0) < 0
        or values.max(initial=0) >= NUM_CLASSES
    ):
        raise ArchiveError(
            f"{origin}: 'labels' is not {len(data):,} integers in 0 .. {NUM_CLASSES - 1}."
        )
    return data.reshape(len(data), *SHAPE), values.astype(np.int64)


def _class_names(meta: dict[str, object], origin: str) -> tuple[str, ...]:
    names = meta.get("label_names")
    if not (isinstance(names, list) and len(names) == NUM_CLASSES):
        raise ArchiveError(f"{origin}: 'label_names' is not a list of {NUM_CLASSES} names.")
    decoded = [n.decode("latin1") if isinstance(n, bytes) else n for n in names]
    if not all(isinstance(n, str) for n in decoded):
        raise ArchiveError(f"{origin}: 'label_names' holds something other than names.")
    return tuple(decoded)


def read_archive(path: str | os.PathLike) -> tuple[ImageSet, ImageSet]:
    """The 50,000 training and 10,000 test images of a verified archive, labelled with the
    class names of its ``batches.meta``."""
    path = Path(path)
    members = _read_members(path)

    def batch(name: str) -> dict[str, object]:
        return _unpickle_dict(members[f"{BATCH_FOLDER}/{name}"], f"{path} ({name})")

    names = _class_names(batch(META), f"{path} ({META})")
    parts = [_batch_arrays(batch(name), f"{path} ({name})") for name in TRAIN_BATCHES]
    test_images, test_labels = _batch_arrays(batch(TEST_BATCH), f"{path} ({TEST_BATCH})")
    train_images = np.concatenate([images for images, _ in parts])
    train_labels = np.concatenate([labels for _, labels in parts])
    expected = ((train_images, N_TRAIN + N_VALID, "training"), (test_images, N_TEST, "test"))
    for images, n, what in expected:
        if len(images) != n:
            raise ArchiveError(f"{path} holds {len(images):,} {what} images, expected {n:,}.")
    source = f"CIFAR-10 archive {path}"
    train = ImageSet(f"{FOLDER}/train+valid", train_images, train_labels, names, source)
    test = ImageSet(f"{FOLDER}/test", test_images, test_labels, names, source)
    return train, test


def load_cifar10(data_dir: str | os.PathLike | None = None, download: bool = True) -> ImageSplits:
    """CIFAR-10 as 45,000 / 5,000 / 10,000 RGB images (N, 3, 32, 32) with labels.

    ``data_dir`` defaults to :func:`advnets.data.sources.default_data_dir`; the archive is
    looked for (and fetched into) its ``cifar-10/`` folder. A cached archive whose SHA-256
    differs is moved aside to ``<name>.corrupt``. Raises DataUnavailableError, saying which
    file to put where, if no verified copy can be had.
    """
    cache_dir = data_directory(data_dir) / FOLDER
    spec = RemoteFile(ARCHIVE, SHA256[ARCHIVE], URLS)
    path = fetch_verified(spec, cache_dir, download)
    if path is None:
        raise DataUnavailableError(unavailable_message("CIFAR-10", (spec,), cache_dir, download))
    train, test = read_archive(path)
    splits = ImageSplits(*train.split(N_TRAIN, (f"{FOLDER}/train", f"{FOLDER}/valid")), test)
    log.info("loaded CIFAR-10 from %s (data sha256 %s)", path, splits.sha256)
    return splits
