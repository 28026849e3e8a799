"""Pickles of plain numpy arrays, read without running anything else they name.

Two data sets come as pickles: the classic ``mnist.pkl.gz`` and CIFAR-10's batches.
Both are checked against their SHA-256 first; then :func:`load_array_pickle`
unpickles them with a :class:`pickle.Unpickler` that resolves only the globals
numpy needs to rebuild an array (and builtins need none: dicts, lists, strings,
numbers), so a pickle naming any other callable is refused instead of run.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable

import numpy as np


def _numpy_reconstruct() -> Callable[..., np.ndarray]:
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class ArrayUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals needed to rebuild numpy arrays."""

    def find_class(self, module: str, name: str) -> object:
        allowed: dict[tuple[str, str], object] = {
            ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct(),
            ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct(),
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
        }
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays are allowed in this pickle"
            )
        return allowed[module, name]


def load_array_pickle(data: bytes, origin: object) -> object:
    """The object pickled in ``data`` (Python 2 strings read as latin-1, as numpy needs).

    Raises pickle.UnpicklingError naming ``origin`` for a pickle that names a global other
    than numpy's array constructors, or that is damaged.
    """
    try:
        return ArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, LookupError) as err:
        raise pickle.UnpicklingError(f"{origin}: {err}") from err
