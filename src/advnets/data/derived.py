"""Arrays that depend on a dataset alone, computed once and kept beside its cached files.

Some evaluation inputs are properties of the data, not of a model: for example each
test image's distance to its nearest training image, which the memorisation check
compares samples with (a 10,000 x 50,000 search on MNIST). ``cached_array`` keeps such
an array in ``<cache_dir>/derived/<key>.npy`` with its SHA-256 beside it, so that every
later evaluation reads it instead of recomputing it. A missing, damaged or mismatching
file is simply computed again; a cache directory that cannot be written costs only the
recomputation. The key must name everything the array depends on (the data's digest,
the split sizes).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

from advnets.files import atomic_write_bytes, atomic_write_text, sha256_bytes

DERIVED_DIR = "derived"


def _read_verified(path: Path, digest_path: Path) -> np.ndarray | None:
    """The array at ``path`` if its bytes match the digest stored beside it, else None."""
    try:
        data, expected = path.read_bytes(), digest_path.read_text().strip()
    except OSError:
        return None
    if sha256_bytes(data) != expected:
        return None
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError:
        return None


def cached_array(cache_dir: Path | None, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()``, read from the cache when an intact copy for ``key`` is there.

    ``cache_dir`` None (data that has no cache, such as the generated toy sets) always
    computes.
    """
    if cache_dir is None:
        return compute()
    path = cache_dir / DERIVED_DIR / f"{key}.npy"
    digest_path = path.with_name(path.name + ".sha256")
    cached = _read_verified(path, digest_path)
    if cached is not None:
        return cached
    array = compute()
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    data = buffer.getvalue()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
        atomic_write_text(digest_path, sha256_bytes(data) + "\n")
    except OSError:
        pass  # a read-only cache: the array is still right, only computed again next time
    return array
