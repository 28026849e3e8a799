"""Image sets and their readers: IDX files, Fashion-MNIST and CIFAR-10, on small files in each
real format. Nothing here touches the network: sockets and pip fail loudly, and downloads are
served by fakes."""

from __future__ import annotations

import gzip
import io
import logging
import os
import pickle
import re
import socket
import struct
import tarfile
import urllib.request
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from conftest import render_without_problems

from advnets.data import cifar10, fashion, mnist
from advnets.data.idx import IDXError, read_idx, read_idx_pair
from advnets.data.imageset import ImageSet, ImageSplits, splits_digest, to_unit_float
from advnets.data.sources import DataUnavailableError
from advnets.files import sha256_bytes
from advnets.limits import LimitError

pytestmark = pytest.mark.usefixtures("no_network")


def test_the_network_is_off_in_these_tests() -> None:
    with pytest.raises(AssertionError, match="network"):
        socket.create_connection(("127.0.0.1", 9))


def random_images(n: int, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def labelled(n: int = 10, channels: int = 3, classes: int = 4) -> ImageSet:
    images = random_images(n, (channels, 5, 6))
    labels = np.arange(n, dtype=np.int64) % classes
    return ImageSet("toy", images, labels, tuple("abcdefgh"[:classes]), "test fixture")


# --- ImageSet -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("images", "labels", "names", "words"),
    [
        (np.zeros((2, 3, 4, 4), np.float32), None, (), "uint8"),
        (np.zeros((2, 4, 4), np.uint8), None, (), "(N, 1 or 3, H, W)"),
        (np.zeros((2, 2, 4, 4), np.uint8), None, (), "(N, 1 or 3, H, W)"),
        (np.zeros((2, 1, 4, 4), np.uint8), np.zeros(2, np.int32), ("a",), "int64"),
        (np.zeros((2, 1, 4, 4), np.uint8), np.zeros(3, np.int64), ("a",), "int64 (2,)"),
        (np.zeros((2, 1, 4, 4), np.uint8), np.array([0, 2]), ("a", "b"), "outside 0 .. 1"),
        (np.zeros((2, 1, 4, 4), np.uint8), np.array([0, -1]), ("a", "b"), "outside 0 .. 1"),
        (np.zeros((2, 1, 4, 4), np.uint8), np.array([0, 1]), (), "without class names"),
        (np.zeros((2, 1, 4, 4), np.uint8), None, ("a",), "without labels"),
    ],
)
def test_an_image_set_refuses_arrays_of_the_wrong_kind(images, labels, names, words) -> None:
    with pytest.raises(ValueError, match="image set bad: ") as error:
        ImageSet("bad", images, labels, names, "test")
    assert words in str(error.value)


def test_an_image_set_knows_its_shape_and_classes() -> None:
    images = labelled()
    assert len(images) == 10 and images.shape == (3, 5, 6) and images.channels == 3
    assert images.num_classes == 4 and images.class_names == ("a", "b", "c", "d")
    grey = ImageSet("grey", random_images(3, (1, 2, 2)), None, (), "test")
    assert grey.num_classes == 0 and grey.channels == 1 and grey.labels is None


def test_split_gives_views_with_their_labels() -> None:
    images = labelled()
    first, rest = images.split(7, ("toy/train", "toy/valid"))
    assert (first.name, len(first), rest.name, len(rest)) == ("toy/train", 7, "toy/valid", 3)
    assert np.shares_memory(first.images, images.images)
    np.testing.assert_array_equal(rest.images, images.images[7:])
    np.testing.assert_array_equal(rest.labels, images.labels[7:])
    assert rest.class_names == images.class_names and rest.source == images.source
    with pytest.raises(ValueError, match=r"toy has 10 images; cannot take 0 \.\. 11"):
        images.split(11, ("a", "b"))


def test_floats_are_bytes_over_255_in_batches_and_flat() -> None:
    images = labelled(n=7)
    images.images[0, 0, 0, :2] = (0, 255)
    expected = images.images.astype(np.float32) / np.float32(255)

    batches = list(images.batches(3))
    assert [b.shape[0] for b in batches] == [3, 3, 1]
    assert all(b.dtype == torch_float32() and b.shape[1:] == (3, 5, 6) for b in batches)
    joined = np.concatenate([b.numpy() for b in batches])
    assert joined.tobytes() == expected.tobytes()
    assert joined.min() == 0.0 and joined.max() == 1.0

    order = np.array([6, 0, 3])
    (shuffled,) = images.batches(8, order)
    assert shuffled.numpy().tobytes() == expected[order].tobytes()

    flat = images.flat()
    assert flat.dtype == np.float32 and flat.shape == (7, 3 * 5 * 6)
    assert flat.tobytes() == expected.reshape(7, -1).tobytes()
    with pytest.raises(ValueError, match="batch_size = 0"):
        next(images.batches(0))


def torch_float32() -> object:
    import torch

    return torch.float32


def test_the_digest_of_splits_is_the_one_mnist_has_always_recorded() -> None:
    raw = {
        "train_x": random_images(6, (784,), 1),
        "train_y": np.arange(6, dtype=np.uint8),
        "valid_x": random_images(3, (784,), 2),
        "valid_y": np.arange(3, dtype=np.uint8),
        "test_x": random_images(4, (784,), 3),
        "test_y": np.arange(4, dtype=np.uint8),
    }
    names = tuple(str(i) for i in range(10))
    sets = [
        ImageSet(s, raw[f"{s}_x"].reshape(-1, 1, 28, 28), raw[f"{s}_y"].astype(np.int64), names, "")
        for s in ("train", "valid", "test")
    ]
    splits = ImageSplits(*sets)
    assert splits.sha256 == mnist.data_digest(raw) == splits_digest(sets)
    assert sets[0].sha256 == splits_digest(sets[:1]) != splits.sha256


def test_the_digest_sees_every_label_even_beyond_256_classes() -> None:
    names = tuple(str(i) for i in range(300))
    images = random_images(2, (1, 2, 2))
    one = ImageSet("a", images, np.array([1, 2]), names, "test")
    other = ImageSet("a", images, np.array([257, 2]), names, "test")
    assert one.sha256 != other.sha256


def test_splits_must_share_image_shape_and_classes() -> None:
    images = labelled()
    other = ImageSet("toy/test", random_images(2, (3, 5, 5)), np.zeros(2, np.int64), ("a",), "t")
    with pytest.raises(ValueError, match="toy/test"):
        ImageSplits(images, images, other)


# --- IDX files ------------------------------------------------------------------------------


def idx_data(array: np.ndarray, magic: int | None = None) -> bytes:
    """An IDX file of ``array`` (uint8), uncompressed."""
    magic = 0x0800 | array.ndim if magic is None else magic
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()


def write(path: Path, data: bytes, gz: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_round_trip_gzipped_or_raw(tmp_path: Path, gz: bool) -> None:
    images = random_images(5, (3, 7))
    labels = np.array([0, 9, 3, 3, 1], dtype=np.uint8)
    images_path = write(tmp_path / "images", idx_data(images), gz)
    labels_path = write(tmp_path / "labels", idx_data(labels), gz)

    assert read_idx(images_path, 3).tobytes() == images.tobytes()
    pixels, classes = read_idx_pair(images_path, labels_path, 10)
    assert pixels.shape == (5, 1, 3, 7) and pixels.dtype == np.uint8
    assert pixels.flags.writeable  # so torch.from_numpy takes it without a warning
    np.testing.assert_array_equal(pixels[:, 0], images)
    assert classes.dtype == np.int64 and classes.tolist() == [0, 9, 3, 3, 1]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (idx_data(random_images(2, (2, 2)), magic=1234), "magic number 1234, expected 2051"),
        (idx_data(np.zeros((2, 4), np.uint8)), "magic number 2050, expected 2051"),
        (idx_data(random_images(2, (2, 2)), magic=0x0D03), "magic number 3331"),
        (b"\x00\x00\x08\x03\x00\x00", "too short for the header"),
        (
            idx_data(random_images(2, (2, 2)))[:-1],
            "truncated: it holds 7 bytes of data, expected 8",
        ),
        (idx_data(random_images(2, (2, 2))) + b"\x00", "more data than the 2 x 2 x 2 values"),
    ],
)
@pytest.mark.parametrize("gz", [True, False])
def test_an_unusable_idx_file_is_one_sentence_naming_it(
    tmp_path: Path, data: bytes, words: str, gz: bool
) -> None:
    path = write(tmp_path / "broken.idx", data, gz)
    with pytest.raises(IDXError) as error:
        read_idx(path, 3)
    message = str(error.value)
    assert message.startswith(str(path)) and words in message and message.count(". ") == 0


def test_a_damaged_gzip_idx_file_is_named(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(idx_data(random_images(50, (9, 9))), mtime=0))
    data[len(data) // 2 :] = bytes(len(data) - len(data) // 2)
    path = write(tmp_path / "damaged.gz", bytes(data), gz=False)
    with pytest.raises(IDXError, match=re.escape(f"{path} is not a readable gzip file")):
        read_idx(path, 3)


def test_an_idx_header_beyond_the_limits_is_refused_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path / "huge", struct.pack(">IIII", 2051, 1 << 20, 1 << 10, 1 << 10))
    with pytest.raises(LimitError, match="huge"):
        read_idx(path, 3)


def test_an_idx_pair_must_agree(tmp_path: Path) -> None:
    images = write(tmp_path / "images", idx_data(random_images(3, (2, 2))))
    labels = write(tmp_path / "labels", idx_data(np.array([0, 1], np.uint8)))
    with pytest.raises(IDXError, match=re.escape(f"{labels} holds 2 labels, but {images} holds 3")):
        read_idx_pair(images, labels, 10)
    labels = write(tmp_path / "labels", idx_data(np.array([0, 1, 10], np.uint8)))
    with pytest.raises(IDXError, match=re.escape(f"{labels} holds the label 10, outside 0 .. 9")):
        read_idx_pair(images, labels, 10)


# --- Fashion-MNIST --------------------------------------------------------------------------

FASHION_SIZES = (8, 3, 12)  # train, valid, test (12: enough for the domain metrics)


@pytest.fixture
def fashion_files(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Small Fashion-MNIST files in the real format, their digests declared as the expected."""
    n_train, n_valid, n_test = FASHION_SIZES
    monkeypatch.setattr(fashion, "N_TRAIN", n_train)
    monkeypatch.setattr(fashion, "N_VALID", n_valid)
    monkeypatch.setattr(fashion, "N_TEST", n_test)
    rng = np.random.default_rng(5)
    arrays = {
        fashion.TRAIN_IMAGES: random_images(n_train + n_valid, (28, 28), 6),
        fashion.TRAIN_LABELS: rng.integers(0, 10, n_train + n_valid, dtype=np.uint8),
        fashion.TEST_IMAGES: random_images(n_test, (28, 28), 7),
        fashion.TEST_LABELS: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    files = {name: gzip.compress(idx_data(a), mtime=0) for name, a in arrays.items()}
    monkeypatch.setattr(fashion, "SHA256", {name: sha256_bytes(b) for name, b in files.items()})
    return files


def place(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def test_fashion_mnist_splits_from_the_idx_files(tmp_path: Path, fashion_files) -> None:
    place(tmp_path / "fashion-mnist", fashion_files)
    splits = fashion.load_fashion_mnist(tmp_path, download=False)

    images = read_idx(tmp_path / "fashion-mnist" / fashion.TRAIN_IMAGES, 3)
    labels = read_idx(tmp_path / "fashion-mnist" / fashion.TRAIN_LABELS, 1)
    n_train, n_valid, n_test = FASHION_SIZES
    assert [len(s) for s in splits] == [n_train, n_valid, n_test]
    assert [s.name for s in splits] == [f"fashion-mnist/{s}" for s in ("train", "valid", "test")]
    np.testing.assert_array_equal(splits.train.images[:, 0], images[:n_train])
    np.testing.assert_array_equal(splits.valid.images[:, 0], images[n_train:])
    np.testing.assert_array_equal(splits.valid.labels, labels[n_train:])
    assert splits.test.shape == (1, 28, 28) and splits.test.labels.dtype == np.int64
    assert splits.train.class_names[0] == "T-shirt/top" and splits.train.num_classes == 10
    assert str(tmp_path / "fashion-mnist") in splits.source
    assert len(splits.sha256) == 64


def test_fashion_mnist_not_found_says_which_file_goes_where(tmp_path: Path, fashion_files) -> None:
    with pytest.raises(DataUnavailableError) as error:
        fashion.load_fashion_mnist(tmp_path, download=False)
    message = str(error.value)
    assert str(tmp_path / "fashion-mnist") in message and "--data-dir" in message
    for name in fashion.FILE_NAMES:
        assert f"{name}  sha256 {fashion.SHA256[name]}" in message


def test_a_corrupt_fashion_file_is_set_aside_and_a_mirror_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fashion_files, caplog
) -> None:
    folder = tmp_path / "fashion-mnist"
    place(folder, fashion_files)
    name = fashion.TEST_IMAGES
    truncated = fashion_files[name][:-9]
    (folder / name).write_bytes(truncated)
    served = {
        fashion.MIRRORS[0] + name: truncated,  # the canonical host serves a bad copy too
        fashion.MIRRORS[1] + name: fashion_files[name],
    }
    asked = []

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        asked.append(url)
        return io.BytesIO(served[url])

    with pytest.raises(DataUnavailableError):
        fashion.load_fashion_mnist(tmp_path, download=False)
    assert (folder / f"{name}.corrupt").read_bytes() == truncated and not (folder / name).exists()

    (folder / name).write_bytes(truncated)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with caplog.at_level(logging.WARNING, logger="advnets.data"):
        splits = fashion.load_fashion_mnist(tmp_path, download=True)
    assert asked == [fashion.MIRRORS[0] + name, fashion.MIRRORS[1] + name]
    assert (folder / name).read_bytes() == fashion_files[name]
    assert (folder / f"{name}.corrupt.1").read_bytes() == truncated
    assert "corrupt or truncated" in caplog.text and "discarded" in caplog.text
    assert len(splits.test) == FASHION_SIZES[2]


def test_fashion_files_of_the_wrong_size_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fashion_files
) -> None:
    wrong = gzip.compress(idx_data(random_images(FASHION_SIZES[2], (28, 27))), mtime=0)
    fashion_files[fashion.TEST_IMAGES] = wrong
    monkeypatch.setitem(fashion.SHA256, fashion.TEST_IMAGES, sha256_bytes(wrong))
    place(tmp_path / "fashion-mnist", fashion_files)
    with pytest.raises(IDXError, match="holds 12 images of 28x27 pixels, expected 12 of 28x28"):
        fashion.load_fashion_mnist(tmp_path, download=False)


# --- CIFAR-10 -------------------------------------------------------------------------------

CIFAR_PER_BATCH, CIFAR_VALID, CIFAR_TEST = 4, 3, 6
CIFAR_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


class Python2Pickler(pickle._Pickler):
    """Writes byte strings with Python 2's str opcodes, as cPickle wrote CIFAR-10's batches
    (so they are read back, like the real ones, through latin-1)."""

    dispatch: ClassVar = dict(pickle._Pickler.dispatch)

    def save_str2(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_str2

    def save_global(self, obj: object, name: str | None = None) -> None:
        if obj is np.zeros(0).__reduce__()[0]:  # as numpy 1 named it in the real files
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)


def python2_pickle(obj: object) -> bytes:
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def cifar_batch(n: int, seed: int, label: bytes = b"training batch") -> dict[bytes, object]:
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": label,
        b"labels": [int(y) for y in rng.integers(0, 10, n)],
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [f"image_{seed}_{i}.png".encode() for i in range(n)],
    }


def cifar_archive(members: dict[str, bytes]) -> bytes:
    """A tar.gz holding ``members`` under cifar-10-batches-py/, like the real archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def cifar_members(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The unpickled contents of a small CIFAR-10 archive; sizes shrunk to match."""
    monkeypatch.setattr(cifar10, "N_TRAIN", 5 * CIFAR_PER_BATCH - CIFAR_VALID)
    monkeypatch.setattr(cifar10, "N_VALID", CIFAR_VALID)
    monkeypatch.setattr(cifar10, "N_TEST", CIFAR_TEST)
    monkeypatch.setattr(cifar10, "SHA256", dict(cifar10.SHA256))
    members: dict[str, object] = {
        f"data_batch_{i}": cifar_batch(CIFAR_PER_BATCH, i) for i in range(1, 6)
    }
    members["test_batch"] = cifar_batch(CIFAR_TEST, 9, b"testing batch 1 of 1")
    members["batches.meta"] = {
        b"num_cases_per_batch": CIFAR_PER_BATCH,
        b"label_names": [n.encode() for n in CIFAR_NAMES],
        b"num_vis": 3072,
    }
    return members


def put_cifar(folder: Path, members: dict[str, object], extra: dict[str, bytes] = ()) -> bytes:
    """Write the archive of ``members`` (pickled) into ``folder``; declare its digest."""
    pickled = {name: python2_pickle(value) for name, value in members.items()}
    data = cifar_archive({**pickled, "readme.html": b"<html></html>", **dict(extra)})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / cifar10.ARCHIVE).write_bytes(data)
    cifar10.SHA256[cifar10.ARCHIVE] = sha256_bytes(data)
    return data


def test_the_fixture_pickles_like_python_2() -> None:
    data = python2_pickle({b"labels": [1], b"data": np.zeros((1, 2), np.uint8)})
    assert pickle.SHORT_BINSTRING + b"\x06labels" in data and b"_codecs" not in data
    assert b"numpy.core.multiarray\n_reconstruct" in data


def test_cifar10_splits_from_the_archive(tmp_path: Path, cifar_members) -> None:
    put_cifar(tmp_path / "cifar-10", cifar_members)
    splits = cifar10.load_cifar10(tmp_path, download=False)

    assert [len(s) for s in splits] == [5 * CIFAR_PER_BATCH - CIFAR_VALID, CIFAR_VALID, CIFAR_TEST]
    assert splits.train.shape == (3, 32, 32) and splits.train.class_names == tuple(CIFAR_NAMES)
    rows = np.concatenate([cifar_members[f"data_batch_{i}"][b"data"] for i in range(1, 6)])
    labels = [y for i in range(1, 6) for y in cifar_members[f"data_batch_{i}"][b"labels"]]
    first = splits.train.images[0]
    assert first[0, 0, 0] == rows[0, 0] and first[0, 0, 1] == rows[0, 1]  # red plane, row-major
    assert first[1, 0, 0] == rows[0, 1024] and first[2, 31, 31] == rows[0, 3071]  # green, blue
    np.testing.assert_array_equal(splits.valid.images.reshape(CIFAR_VALID, -1), rows[-CIFAR_VALID:])
    assert splits.valid.labels.tolist() == labels[-CIFAR_VALID:]
    assert splits.test.labels.tolist() == cifar_members["test_batch"][b"labels"]
    assert splits.test.name == "cifar-10/test" and cifar10.ARCHIVE in splits.source


def test_a_truncated_cifar_archive_is_set_aside_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cifar_members
) -> None:
    folder = tmp_path / "cifar-10"
    good = put_cifar(folder, cifar_members)
    (folder / cifar10.ARCHIVE).write_bytes(good[: len(good) // 2])
    monkeypatch.setattr(cifar10, "read_archive", lambda path: pytest.fail("read unverified"))

    with pytest.raises(DataUnavailableError) as error:
        cifar10.load_cifar10(tmp_path, download=False)
    assert f"{cifar10.ARCHIVE}  sha256 {cifar10.SHA256[cifar10.ARCHIVE]}" in str(error.value)
    assert str(folder) in str(error.value)
    assert (folder / f"{cifar10.ARCHIVE}.corrupt").read_bytes() == good[: len(good) // 2]
    assert not (folder / cifar10.ARCHIVE).exists()


def test_cifar10_is_fetched_from_its_home_page_and_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cifar_members
) -> None:
    good = put_cifar(tmp_path / "elsewhere", cifar_members)
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(good))
    splits = cifar10.load_cifar10(tmp_path, download=True)
    assert (tmp_path / "cifar-10" / cifar10.ARCHIVE).read_bytes() == good
    assert len(splits.test) == CIFAR_TEST


class Exploit:
    """Unpickling this would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_cifar_batch_naming_another_global_is_refused(tmp_path: Path, cifar_members) -> None:
    marker = tmp_path / "pwned"
    cifar_members["data_batch_3"][b"data"] = Exploit(marker)
    put_cifar(tmp_path / "cifar-10", cifar_members)
    with pytest.raises(pickle.UnpicklingError, match=r"data_batch_3\): refusing to load"):
        cifar10.load_cifar10(tmp_path, download=False)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: m.pop("test_batch"), "lacks cifar-10-batches-py/test_batch"),
        (lambda m: m["data_batch_2"].update({b"labels": [0, 1]}), "(data_batch_2): 'labels'"),
        (lambda m: m["data_batch_2"][b"labels"].__setitem__(0, 10), "integers in 0 .. 9"),
        (lambda m: m["data_batch_4"].update({b"data": np.zeros((4, 3071), np.uint8)}), "'data'"),
        (lambda m: m["data_batch_4"].update({b"data": np.zeros((4, 3072))}), "uint8 rows"),
        (lambda m: m["batches.meta"][b"label_names"].pop(), "list of 10 names"),
        (lambda m: m.update({"test_batch": [1, 2]}), "(test_batch) holds a list, not a dict"),
        (lambda m: m.update({"test_batch": cifar_batch(2, 3)}), "holds 2 test images, expected 6"),
    ],
)
def test_a_cifar_archive_of_the_wrong_shape_is_named(
    tmp_path: Path, cifar_members, change, words
) -> None:
    change(cifar_members)
    put_cifar(tmp_path / "cifar-10", cifar_members)
    with pytest.raises(cifar10.ArchiveError) as error:
        cifar10.load_cifar10(tmp_path, download=False)
    assert str(error.value).startswith(str(tmp_path / "cifar-10" / cifar10.ARCHIVE))
    assert words in str(error.value)


def test_a_cifar_archive_that_is_no_tar_is_named(tmp_path: Path, cifar_members) -> None:
    folder = tmp_path / "cifar-10"
    folder.mkdir()
    (folder / cifar10.ARCHIVE).write_bytes(b"not an archive")
    cifar10.SHA256[cifar10.ARCHIVE] = sha256_bytes(b"not an archive")
    with pytest.raises(cifar10.ArchiveError, match=r"is not a readable tar\.gz archive"):
        cifar10.load_cifar10(tmp_path, download=False)


def test_unit_floats_are_exact() -> None:
    pixels = np.arange(256, dtype=np.uint8)
    assert to_unit_float(pixels).tolist() == [np.float32(v) / np.float32(255) for v in range(256)]


# ----- image sets as training data (advnets.data.registry) ----------------------------------

TRAIN_QUICKLY = [
    "training.epochs=1",
    "training.batch_size=4",
    "evaluation.samples=20",
    "evaluation.valid_images=3",
    "logging.progress=false",
    "logging.tensorboard=false",
    "logging.grid_rows=2",
]


def test_cifar10_trains_a_colour_dcgan_judged_without_domain_metrics(
    tmp_path: Path, cifar_members, capsys
) -> None:
    import json

    from PIL import Image

    from advnets.cli import main

    put_cifar(tmp_path / "data" / cifar10.FOLDER, cifar_members)
    overrides = ["data.dataset=cifar10", "data.channels=3", "model.base_channels=4"]
    overrides.append("evaluation.select=parzen")  # the preset selects by FID, MNIST only
    args = ["train", "dcgan-mnist", "--out", str(tmp_path / "run"), "--data-dir"]
    args += [str(tmp_path / "data")]
    for setting in overrides + TRAIN_QUICKLY:
        args += ["--set", setting]
    assert main(args) == 0
    grid = Image.open(tmp_path / "run" / "samples" / "latest.png")
    assert grid.mode == "RGB" and grid.size == (2 * 34 + 2, 2 * 34 + 2)
    evaluation = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert evaluation["dataset"] == "cifar10" and evaluation["domain"] is None
    assert (
        "MNIST digits, Fashion-MNIST clothes and scikit-learn" in evaluation["domain_unavailable"]
    )
    assert main(["sample", str(tmp_path / "run"), "-n", "4", "-o", str(tmp_path / "s.png")]) == 0
    assert Image.open(tmp_path / "s.png").mode == "RGB"
    assert main(["report", str(tmp_path / "run")]) == 0
    assert (
        "MNIST digits, Fashion-MNIST clothes and scikit-learn"
        in (tmp_path / "run" / "report.html").read_text()
    )


def test_a_grey_preset_refuses_colour_data_before_any_work(tmp_path: Path) -> None:
    from advnets.cli import main

    out = tmp_path / "run"
    settings = ["--set", "data.dataset=cifar10", "--set", "data.channels=1"]
    code = main(["train", "mnist-quick", "--out", str(out), *settings])
    assert code != 0 and not out.exists()


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_a_colour_preset_refuses_grey_data_in_one_sentence(dataset: str) -> None:
    from advnets.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=rf"colour \(3 channels\).*{dataset} images are grey"):
        load_config("dcgan-mnist", [f"data.dataset={dataset}", "data.channels=3"])


def test_fashion_mnist_reaches_the_trainer_with_its_labels(tmp_path: Path, fashion_files) -> None:
    from advnets.config import load_config
    from advnets.data.registry import load_dataset

    place(tmp_path / "fashion-mnist", fashion_files)
    settings = ["data.dataset=fashion-mnist", f"data.data_dir={tmp_path}", "data.download=false"]
    config = load_config("mnist-quick", [*settings, "data.train_subset=6"])
    dataset = load_dataset(config.data)
    splits = fashion.load_fashion_mnist(tmp_path, download=False)
    assert dataset.image_shape == (28, 28) and dataset.channels == 1
    assert dataset.train.shape == (6, 784) and dataset.sha256 == splits.sha256
    assert dataset.labels.class_names == fashion.CLASS_NAMES
    assert dataset.labels.train.tolist() == splits.train.labels[:6].tolist()
    assert np.array_equal(dataset.test.numpy(), splits.test.flat())


def test_a_fashion_mnist_run_is_judged_in_the_clothes_classifier_features(
    tmp_path: Path, fashion_files
) -> None:
    import json

    from advnets.cli import main

    place(tmp_path / "data" / "fashion-mnist", fashion_files)
    args = ["train", "mnist-quick", "--out", str(tmp_path / "run"), "--data-dir"]
    args += [str(tmp_path / "data")]
    settings = ["data.dataset=fashion-mnist", "data.download=false"]
    for setting in settings + TRAIN_QUICKLY:
        args += ["--set", setting]
    assert main(args) == 0
    evaluation = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert evaluation["dataset"] == "fashion-mnist" and evaluation["domain_unavailable"] is None
    assert evaluation["domain"]["fid"] >= 0 and evaluation["domain"]["n_reference"] == 12
    assert main(["report", str(tmp_path / "run")]) == 0
    page = (tmp_path / "run" / "report.html").read_text()
    assert "shipped Fashion-MNIST classifier" in page


def test_an_image_folder_is_split_80_10_10_with_its_class_labels(tmp_path: Path) -> None:
    from PIL import Image

    from advnets.config import load_config
    from advnets.data.registry import load_dataset

    rng = np.random.default_rng(0)
    for name, count in (("cats", 12), ("dogs", 8)):
        (tmp_path / "pets" / name).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "pets" / name / f"{i}.png")
    folder, cache = tmp_path / "pets", tmp_path / "cache"
    settings = ["data.dataset=folder", f"data.folder={folder}", f"data.data_dir={cache}"]
    config = load_config("dcgan-mnist", [*settings, "data.image_size=28"])
    dataset = load_dataset(config.data)
    assert dataset.image_shape == (3, 28, 28) and dataset.dim == 2352
    assert (len(dataset.train), len(dataset.valid), len(dataset.test)) == (16, 2, 2)
    assert dataset.labels.class_names == ("cats", "dogs")
    labels = dataset.labels
    everything = np.concatenate([labels.train.numpy(), labels.valid.numpy(), labels.test.numpy()])
    assert np.bincount(everything).tolist() == [12, 8]
    assert load_dataset(config.data).train.equal(dataset.train)  # the same split every time


def test_the_folder_key_belongs_to_the_folder_dataset() -> None:
    from advnets.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=r"data\.folder"):
        load_config("mnist-quick", ["data.folder=somewhere"])
    with pytest.raises(ConfigError, match=r"data\.folder"):
        load_config("dcgan-mnist", ["data.dataset=folder"])


def test_colour_rows_tile_channel_first_into_an_rgb_grid() -> None:
    from advnets.figures.grid import tile_images

    red, blue = np.zeros((3, 2, 2), np.float32), np.zeros((3, 2, 2), np.float32)
    red[0], blue[2] = 1, 1
    pixels = tile_images(np.stack([red.ravel(), blue.ravel()]), (3, 2, 2), columns=2, padding=1)
    assert pixels.shape == (4, 7, 3)
    assert pixels[1, 1].tolist() == [255, 0, 0] and pixels[1, 4].tolist() == [0, 0, 255]
    assert pixels[0, 0].tolist() == [255, 255, 255]  # the white padding


@pytest.mark.parametrize("preset, side", [("dcgan-folder", 64), ("dcgan-folder-quick", 32)])
def test_your_own_folder_trains_a_colour_dcgan(preset: str, side: int, tmp_path: Path, capsys):
    from PIL import Image

    from advnets.cli import main

    rng = np.random.default_rng(3)
    (tmp_path / "faces").mkdir()
    for i in range(20):
        pixels = rng.integers(0, 256, (80, 70, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / "faces" / f"{i}.jpg")
    settings = [f"data.folder={tmp_path / 'faces'}", f"data.data_dir={tmp_path / 'cache'}",
                "model.base_channels=4", "evaluation.samples=20", "evaluation.valid_images=2",
                *TRAIN_QUICKLY]  # fmt: skip
    args = ["train", preset, "--out", str(tmp_path / "run")]
    assert main([*args, *(arg for s in settings for arg in ("--set", s))]) == 0
    grid = Image.open(tmp_path / "run" / "samples" / "latest.png")
    assert grid.mode == "RGB" and grid.size == (2 * (side + 2) + 2,) * 2
    assert "no domain metrics" in capsys.readouterr().out
    # latent arithmetic without classes: bright - dark, one row each of z, z plus, z minus
    assert main(["arithmetic", str(tmp_path / "run"), "--samples", "100"]) == 0
    assert "grouped by brightness alone" in capsys.readouterr().out
    figure = Image.open(tmp_path / "run" / "figures" / "arithmetic.png")
    assert figure.mode == "RGB" and figure.size[0] > 2 * figure.size[1]  # 8 columns, 3 rows
    # the report names the real images it compares with, and its page fits the window
    assert main(["report", str(tmp_path / "run")]) == 0
    page = (tmp_path / "run" / "report.html").read_text()
    assert "<th>16 training images</th>" in page and "no domain metrics" not in page
    assert "need a classifier of folder images" in page
    render_without_problems(tmp_path / "run" / "report.html", tmp_path / "report.png")
