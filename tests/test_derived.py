"""The cache of arrays derived from a dataset alone: computed once, verified on every read."""

from __future__ import annotations

import numpy as np

from advnets.data.derived import DERIVED_DIR, cached_array


class Counter:
    """A compute function that counts its calls."""

    def __init__(self, value: np.ndarray) -> None:
        self.value, self.calls = value, 0

    def __call__(self) -> np.ndarray:
        self.calls += 1
        return self.value.copy()


def test_computed_once_then_read(tmp_path):
    compute = Counter(np.arange(5, dtype=np.float64))
    first = cached_array(tmp_path, "key", compute)
    second = cached_array(tmp_path, "key", compute)
    assert compute.calls == 1
    np.testing.assert_array_equal(first, second)
    assert (tmp_path / DERIVED_DIR / "key.npz").is_file()


def test_damaged_or_unverified_copies_are_recomputed(tmp_path):
    compute = Counter(np.linspace(0, 1, 7))
    cached_array(tmp_path, "key", compute)
    path = tmp_path / DERIVED_DIR / "key.npz"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # one flipped byte: the digest no longer matches
    path.write_bytes(bytes(data))
    np.testing.assert_array_equal(cached_array(tmp_path, "key", compute), compute.value)
    assert compute.calls == 2
    path.with_name("key.json").unlink()  # no digest: not trusted
    np.testing.assert_array_equal(cached_array(tmp_path, "key", compute), compute.value)
    assert compute.calls == 3


def test_no_cache_dir_or_unwritable_cache_still_computes(tmp_path):
    compute = Counter(np.ones(3))
    np.testing.assert_array_equal(cached_array(None, "key", compute), compute.value)
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    np.testing.assert_array_equal(cached_array(blocked, "key", compute), compute.value)
    assert compute.calls == 2
