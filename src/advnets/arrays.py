"""Reading a user's ``.npy`` file: its header is checked before any of its data are read.

A ``.npy`` file states its dtype and shape in a short header. advnets reads that header first
and refuses, before allocating anything, a file that is not a ``.npy`` array, one that holds
Python objects (only unpickling could read those, and advnets never unpickles), one shorter
than its header promises, and one larger than advnets.limits allows or the memory available
could hold.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from advnets import limits

_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


class ArrayFileError(ValueError):
    """A file that is not a numeric ``.npy`` array advnets can read; the message names it."""


def _read_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data offset of the ``.npy`` file at ``path``."""
    with path.open("rb") as handle:
        try:
            version = np.lib.format.read_magic(handle)
        except ValueError as err:
            raise ArrayFileError(
                f"{path} is not a .npy array file (it does not begin with the .npy header)."
            ) from err
        if version not in _HEADER_READERS:
            raise ArrayFileError(
                f"{path} is a .npy file of format version {version[0]}.{version[1]}, which "
                "advnets does not read; write it with numpy.save."
            )
        try:
            shape, _, dtype = _HEADER_READERS[version](handle)
        except ValueError as err:
            raise ArrayFileError(f"{path} has a damaged .npy header.") from err
        return shape, dtype, handle.tell()


def read_npy(path: str | os.PathLike, max_rows: int = limits.MAX_SAMPLES) -> np.ndarray:
    """The numeric array in the ``.npy`` file at ``path``, at most ``max_rows`` rows.

    Raises ArrayFileError or LimitError, with one sentence naming the file, before reading
    any data that could not be used.
    """
    path = Path(path)
    try:
        shape, dtype, offset = _read_header(path)
        size = path.stat().st_size
    except OSError as err:
        raise ArrayFileError(f"cannot read {path}: {err.strerror or err}.") from err
    if dtype.hasobject:
        raise ArrayFileError(
            f"{path} holds Python objects, not numbers; advnets reads numeric arrays only."
        )
    shown = " x ".join(f"{n:,}" for n in shape) or "one"
    if shape:
        limits.check_range(f"the number of rows in {path}", shape[0], 0, max_rows)
    nbytes = math.prod(shape) * dtype.itemsize
    limits.check_memory(f"{path} ({shown} values of {dtype})", nbytes)
    if size < offset + nbytes:
        raise ArrayFileError(
            f"{path} is truncated: its header promises {shown} values of {dtype} "
            f"({nbytes:,} bytes), but it holds {max(size - offset, 0):,} bytes of data."
        )
    return np.load(path, allow_pickle=False)
