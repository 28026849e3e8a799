"""Arrays that depend on a dataset alone, computed once and kept beside its cached files.

Some evaluation inputs are properties of the data, not of a model: for example each
test image's distance to its nearest training image, which the memorisation check
compares samples with (a 10,000 x 50,000 search on MNIST). ``cached_array`` keeps such
an array in ``<cache_dir>/derived/<key>.npz`` through the verified cache of
:mod:`advnets.data.decoded` (SHA-256 sidecar, atomic writes, a damaged file set aside),
so that every later evaluation reads it instead of recomputing it. The key must name
everything the array depends on (the data's digest, the split sizes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from advnets.data.decoded import load_arrays, save_arrays

DERIVED_DIR = "derived"
ARRAY = "array"  # the one array's name inside the .npz


def cached_array(cache_dir: Path | None, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()``, read from the cache when an intact copy for ``key`` is there.

    ``cache_dir`` None (data that has no cache, such as the generated toy sets) always
    computes; a cache that cannot be written costs only the recomputation next time.
    """
    if cache_dir is None:
        return compute()
    npz = cache_dir / DERIVED_DIR / f"{key}.npz"
    cached = load_arrays(npz)
    if cached is not None:
        return cached[0][ARRAY]
    array = compute()
    save_arrays(npz, {ARRAY: array}, {"key": key})
    return array
