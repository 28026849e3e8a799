"""IDX files, the format of MNIST and Fashion-MNIST, read with strict checks.

An IDX file is a magic number (two zero bytes, a type code, the number of
dimensions), each dimension as a big-endian uint32, then the values in row-major
order; it may be gzipped. advnets reads unsigned bytes (type code 0x08), the type
of every image and label file of both data sets. The header is checked before
anything is allocated, and the data must fill exactly the shape it states.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from advnets import limits

UNSIGNED_BYTE = 0x08
GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """An IDX file that cannot be used; the message names it."""


def magic_number(ndim: int) -> int:
    """The magic number of an IDX file of unsigned bytes with ``ndim`` dimensions (2051 for
    MNIST's images, 2049 for its labels)."""
    return UNSIGNED_BYTE << 8 | ndim


def _open(path: Path) -> BinaryIO:
    """``path`` opened for reading, through gzip if it begins with the gzip magic bytes."""
    handle = path.open("rb")
    if handle.read(2) == GZIP_MAGIC:
        handle.close()
        return gzip.open(path, "rb")
    handle.seek(0)
    return handle


def _read_shape(handle: BinaryIO, path: Path, ndim: int) -> tuple[int, ...]:
    """The shape an IDX header states, after checking its magic number."""
    header = handle.read(4 + 4 * ndim)
    if len(header) < 4 + 4 * ndim:
        raise IDXError(f"{path} is too short for the header of an IDX file ({len(header)} bytes).")
    (found,) = struct.unpack_from(">I", header)
    if found != magic_number(ndim):
        raise IDXError(
            f"{path} is not an IDX file of {ndim}-dimensional unsigned bytes "
            f"(magic number {found}, expected {magic_number(ndim)})."
        )
    return struct.unpack_from(f">{ndim}I", header, 4)


def _fill(handle: BinaryIO, array: np.ndarray) -> int:
    """Read into ``array`` until it is full or the file ends; the number of bytes read."""
    view = memoryview(array).cast("B")
    filled = 0
    while filled < len(view):
        count = handle.readinto(view[filled:])
        if not count:
            break
        filled += count
    return filled


def _read(path: Path, ndim: int) -> np.ndarray:
    with _open(path) as handle:
        shape = _read_shape(handle, path, ndim)
        nbytes = math.prod(shape)
        shown = " x ".join(f"{n:,}" for n in shape)
        limits.check_range(f"the data of {path} ({shown} bytes)", nbytes, 0, limits.MAX_IDX_BYTES)
        limits.check_memory(f"{path} ({shown} bytes)", nbytes)
        array = np.empty(shape, dtype=np.uint8)
        filled = _fill(handle, array)
        if filled < nbytes:
            raise IDXError(
                f"{path} is truncated: it holds {filled:,} bytes of data, expected {nbytes:,} "
                f"for the {shown} values its header states."
            )
        if handle.read(1):
            raise IDXError(f"{path} holds more data than the {shown} values its header states.")
    return array


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """The uint8 array of ``ndim`` dimensions in the IDX file at ``path`` (gzipped or raw).

    Raises IDXError (or LimitError), one sentence naming the file, for a wrong magic number,
    a shape beyond the limits, or data shorter or longer than the header states.
    """
    path = Path(path)
    try:
        return _read(path, ndim)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise IDXError(f"{path} is not a readable gzip file ({err}).") from err
    except OSError as err:
        raise IDXError(f"cannot read {path}: {err.strerror or err}.") from err


def read_idx_pair(
    images_path: str | os.PathLike, labels_path: str | os.PathLike, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Images as uint8 (N, 1, H, W) and labels as int64 (N,) from an IDX image file and its
    label file; every label must lie in 0 .. ``num_classes`` - 1."""
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1)
    if len(labels) != len(images):
        raise IDXError(
            f"{labels_path} holds {len(labels):,} labels, but {images_path} holds "
            f"{len(images):,} images."
        )
    if labels.max(initial=0) >= num_classes:
        raise IDXError(
            f"{labels_path} holds the label {labels.max()}, outside 0 .. {num_classes - 1}."
        )
    return images[:, None], labels.astype(np.int64)
