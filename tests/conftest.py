"""Shared fixtures: small synthetic datasets, never the network."""

from __future__ import annotations

import gzip
import importlib.util
import os
import socket
import struct
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from advnets.config import load_config
from advnets.data import mnist
from advnets.data.datasets import Dataset
from advnets.files import sha256_bytes
from advnets.runs.rundir import RunDir
from advnets.training.loop import Trainer

ROOT = Path(__file__).resolve().parents[1]


def new_trainer(folder, config, dataset: Dataset, callbacks=()) -> Trainer:
    """A trainer of a new run of ``config`` on ``dataset``, its run directory ``folder``."""
    run = RunDir(folder)
    run.create(config, dataset.sha256, dataset.source)
    return Trainer(config, dataset, run, callbacks=callbacks)


@pytest.fixture
def one_thread():
    """Tiny matrices: a second thread only waits, on a busy machine long."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """Gzipped IDX encoding of uint8 images (n, 784) or labels (n,)."""
    if array.ndim == 2:
        header = struct.pack(">IIII", magic or 2051, len(array), 28, 28)
    else:
        header = struct.pack(">II", magic or 2049, len(array))
    return gzip.compress(header + array.tobytes(), mtime=0)


def make_dataset(n_train: int = 400, n_eval: int = 100, dim: int = 784, seed: int = 0) -> Dataset:
    """Blurry random 'digits': bright blobs on a dark background, pixels in [0, 1]."""
    rng = np.random.default_rng(seed)
    side = int(np.sqrt(dim))
    yy, xx = np.mgrid[0:side, 0:side]

    def images(n: int) -> np.ndarray:
        cy, cx = rng.uniform(side * 0.3, side * 0.7, (2, n, 1, 1))
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (side / 6) ** 2))
        return blob.reshape(n, dim).astype(np.float32)

    return Dataset.from_arrays(
        "synthetic",
        images(n_train),
        images(n_eval),
        images(n_eval),
        (side, side),
        f"synthetic-{seed}",
        "test fixture",
    )


@pytest.fixture
def tiny_dataset() -> Dataset:
    return make_dataset()


def tiny_config(*overrides: str):
    """The paper preset shrunk to run in seconds."""
    return load_config(
        "mnist-paper",
        [
            "model.generator_hidden=[64, 64]",
            "model.discriminator_units=[32, 32]",
            "training.batch_size=20",
            "training.epochs=2",
            "training.device=cpu",
            "evaluation.every_epochs=1",
            "evaluation.samples=200",
            "evaluation.valid_images=50",
            "logging.progress=false",
            "logging.tensorboard=false",
            "logging.log_every_steps=5",
            "logging.grid_rows=4",
            *overrides,
        ],
    )


@pytest.fixture
def mnist_dir(tmp_path, monkeypatch):
    """A small MNIST in the real IDX files (300/100 train/valid, 100 test), network disabled.

    The expected SHA-256 table and split sizes are patched to describe these files;
    ADVNETS_DATA_DIR points at them.
    """
    data = make_dataset(n_train=400, n_eval=100)
    to_bytes = {
        name: (t.numpy() * 255).round().astype(np.uint8)
        for name, t in (("train", data.train[:300]), ("valid", data.valid), ("test", data.test))
    }
    labels = np.arange(500, dtype=np.uint8) % 10
    files = {
        mnist.TRAIN_IMAGES: idx_bytes(np.concatenate([to_bytes["train"], to_bytes["valid"]])),
        mnist.TRAIN_LABELS: idx_bytes(labels[:400]),
        mnist.TEST_IMAGES: idx_bytes(to_bytes["test"]),
        mnist.TEST_LABELS: idx_bytes(labels[400:]),
    }
    cache = tmp_path / "mnist-cache"
    cache.mkdir()
    digests = dict(mnist.SHA256)
    for name, blob in files.items():
        (cache / name).write_bytes(blob)
        digests[name] = sha256_bytes(blob)
    monkeypatch.setattr(mnist, "SHA256", digests)
    monkeypatch.setattr(mnist, "N_TRAIN", 300)
    monkeypatch.setattr(mnist, "N_VALID", 100)
    monkeypatch.setattr(mnist, "N_TEST", 100)

    def no_network(*args, **kwargs):
        raise AssertionError("tests must not touch the network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(subprocess, "run", no_network)
    monkeypatch.setenv("ADVNETS_DATA_DIR", str(cache))
    return cache


@pytest.fixture
def no_network(monkeypatch):
    """Any connection, URL or pip run fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("tests must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(subprocess, "run", refuse)


@pytest.fixture(scope="module")
def cli():
    """One warm interpreter per test module that forks each ``advnets`` command (cli_children)."""
    from cli_children import Children  # it builds its caches with this module's helpers

    children = Children()
    yield children
    children.close()


def load_script(path: str):
    """The module of a script outside the package (``scripts/``, ``benchmarks/``), by its
    path from the repository's root, e.g. ``"scripts/render_page.py"``."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render_without_problems(page: Path, screenshot: Path) -> dict:
    """Render ``page`` in headless Chromium (``scripts/render_page.py``) and assert that every
    image loaded, nothing failed and nothing is wider than the window; the browser's result.
    Skipped where no Chromium is installed, unless ADVNETS_REQUIRE_BROWSER=1 (as in CI)."""
    renderer = load_script("scripts/render_page.py")
    browser_missing = not Path(renderer.chromium_path()).exists()
    if os.environ.get("ADVNETS_REQUIRE_BROWSER") != "1" and browser_missing:
        pytest.skip("no Chromium here (CI installs Debian's chromium)")
    pytest.importorskip("playwright")
    result = renderer.render_page(page, screenshot)
    assert result["images_loaded"] == result["images"] and result["problems"] == []
    return result
