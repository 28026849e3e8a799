"""Failure survival: the real ``advnets`` command in a subprocess, killed, interrupted, fed bad
data.

Each child process (``cli_children``) runs the CLI's ``main`` on a small MNIST in the real IDX
file format. Nothing here touches the network.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import pickle
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from cli_children import CHILD_TIMEOUT_S, Cache, Children, build_cache, finish, write_cache
from conftest import idx_bytes

from advnets.data import load_mnist, mnist
from advnets.files import sha256_bytes
from advnets.runs.checkpoint import CheckpointError, load_checkpoint, read_state
from advnets.runs.logs import read_metrics

N_TRAIN, N_VALID, N_TEST = 300, 100, 100
BATCH = 10
STEPS_PER_EPOCH = N_TRAIN // BATCH  # 30
EPOCHS = 3
TOTAL_STEPS = EPOCHS * STEPS_PER_EPOCH  # 90
# 7 divides no epoch end (30, 60, 90): every mid-epoch checkpoint lies strictly inside an epoch.
# (Kills during an epoch's end are tested in test_training.py.)
CHECKPOINT_EVERY = 7

TINY = {
    "model": {"generator_hidden": [64, 64], "discriminator_units": [32, 32]},
    "training": {
        "epochs": EPOCHS,
        "batch_size": BATCH,
        "threads": 1,
        "checkpoint_every_steps": CHECKPOINT_EVERY,
    },
    "evaluation": {
        "every_epochs": 1,
        "samples": 200,
        "valid_images": 50,
        "domain_metrics": False,
    },
    "logging": {"progress": False, "tensorboard": False, "log_every_steps": 5, "grid_rows": 4},
    "data": {"download": False},
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Cache:
    """300 / 100 / 100 blurry blobs as the four gzipped IDX files."""
    return build_cache(tmp_path_factory.mktemp("mnist-cache"), N_TRAIN, N_VALID, N_TEST)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


class Straight:
    """The reference run, trained without interruption in the background while tests proceed."""

    def __init__(self, cli: Children, cache: Cache, config: Path, out: Path) -> None:
        self.out = out
        self.process = cli.start(cache, "train", str(config), "--out", str(out), "--no-eval")
        self.result: tuple[int, str, str] | None = None

    def run(self) -> Path:
        if self.result is None:
            self.result = finish(self.process)
        code, _, err = self.result
        assert code == 0, err
        return self.out


@pytest.fixture(scope="module")
def straight(cli, cache, config_file, tmp_path_factory):
    reference = Straight(cli, cache, config_file, tmp_path_factory.mktemp("straight") / "run")
    yield reference
    if reference.process.poll() is None:
        reference.process.kill()
        reference.process.communicate()


def wait_for_mid_training_checkpoint(process: subprocess.Popen, run: Path) -> int:
    """Poll until run/checkpoints/last holds a step strictly inside epoch 2; return that step.

    Epoch 2 is chosen so that the run has one evaluated epoch behind it (a best checkpoint,
    validation records) and at least one more epoch ahead of it.
    """
    last = run / "checkpoints" / "last.safetensors"
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, _, err = finish(process)
            pytest.fail(f"training ended (code {process.returncode}) before the signal:\n{err}")
        try:
            state = read_state(last)["state"]
        except CheckpointError:  # not written yet
            state = None
        if state and STEPS_PER_EPOCH < state["g_updates"] < 2 * STEPS_PER_EPOCH:
            return state["g_updates"]
        time.sleep(0.005)
    process.kill()
    pytest.fail(f"no mid-training checkpoint in {last} within {CHILD_TIMEOUT_S} s")


def resume(cli: Children, cache: Cache, run: Path) -> str:
    code, out, err = finish(cli.start(cache, "train", "--resume", "--out", str(run), "--no-eval"))
    assert code == 0, err
    assert "resuming" in out
    return out


def assert_same_run(a: Path, b: Path) -> None:
    """Both checkpoints bit for bit, and the same validation history with no repeated epoch."""
    for name in ("last", "best"):
        ta, meta_a = load_checkpoint(a / "checkpoints" / f"{name}.safetensors")
        tb, meta_b = load_checkpoint(b / "checkpoints" / f"{name}.safetensors")
        assert ta.keys() == tb.keys(), name
        for key in ta:
            assert torch.equal(ta[key], tb[key]), f"{name}: {key} differs"
        assert meta_a["state"] == meta_b["state"], name
    assert read_state(b / "checkpoints" / "last.safetensors")["state"]["g_updates"] == TOTAL_STEPS

    def history(run: Path) -> list[tuple[str, int, float | None]]:
        return [
            (r["kind"], r["epoch"], r.get("ll"))
            for r in read_metrics(run / "metrics.jsonl")
            if r["kind"] in ("epoch", "valid_parzen")
        ]

    assert history(b) == history(a)
    assert [e for kind, e, _ in history(b) if kind == "epoch"] == list(range(1, EPOCHS + 1))


def test_sigkill_mid_training_then_resume_is_bit_identical(
    cli, cache, config_file, straight, tmp_path
):
    run = tmp_path / "killed"
    process = cli.start(cache, "train", str(config_file), "--out", str(run), "--no-eval")
    seen = wait_for_mid_training_checkpoint(process, run)
    os.kill(process.pid, signal.SIGKILL)
    code, _, err = finish(process)
    assert code == -signal.SIGKILL, f"the run was not killed mid-way (code {code}):\n{err}"
    state = read_state(run / "checkpoints" / "last.safetensors")["state"]
    assert seen <= state["g_updates"] < TOTAL_STEPS and not state["finished"]
    assert (run / "checkpoints" / "best.safetensors").is_file()  # epoch 1 was evaluated

    resume(cli, cache, run)
    assert_same_run(straight.run(), run)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_ends_cleanly_says_how_to_resume_and_resumes_exactly(
    stop, cli, cache, config_file, straight, tmp_path
):
    """Ctrl-C, or a scheduler's SIGTERM: a checkpoint where it stopped, a hint, no traceback."""
    run = tmp_path / "interrupted"
    process = cli.start(cache, "train", str(config_file), "--out", str(run), "--no-eval")
    seen = wait_for_mid_training_checkpoint(process, run)
    process.send_signal(stop)
    code, _, err = finish(process)
    assert code in (130, 128 + stop), f"exit code {code}:\n{err}"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "--resume" in err and str(run) in err
    state = read_state(run / "checkpoints" / "last.safetensors")["state"]
    assert seen <= state["g_updates"] < TOTAL_STEPS and not state["finished"]
    assert f"interrupted at step {state['g_updates']}" in err  # the checkpoint is where it says
    load_checkpoint(run / "checkpoints" / "last.safetensors")  # complete and readable

    resume(cli, cache, run)
    assert_same_run(straight.run(), run)


def test_a_diverging_run_ends_with_a_clear_message_and_keeps_a_finite_checkpoint(
    cli, cache, config_file, tmp_path
):
    run = tmp_path / "diverged"
    code, out, err = finish(
        cli.start(
            cache,
            "train",
            str(config_file),
            "--out",
            str(run),
            "--no-eval",
            "--set",
            "training.lr=1000.0",
            "--set",
            "training.checkpoint_every_steps=2",
        )
    )
    assert code == 2, f"exit code {code}:\n{out}\n{err}"
    assert "Traceback" not in err, err
    assert "NaN or infinite" in err and "training.lr" in err
    tensors, meta = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert 0 < meta["state"]["g_updates"] < TOTAL_STEPS
    assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())


# --- a cached data file altered in place ------------------------------------------------------

SMALL = (30, 10, 12)  # train / valid / test images of the in-process data tests


def stored_gzip(payload: bytes) -> bytes:
    """gzip without compression: a flipped payload byte keeps the length and, once the CRC
    is recomputed, the file stays a perfectly valid gzip: only the SHA-256 can tell."""
    return gzip.compress(payload, compresslevel=0, mtime=0)


def small_raw(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_train, n_valid, n_test = SMALL
    return {
        "train_images": rng.integers(0, 256, size=(n_train + n_valid, 784), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=n_train + n_valid, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, 784), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }


def small_idx_files(raw: dict[str, np.ndarray]) -> dict[str, bytes]:
    def idx(array: np.ndarray) -> bytes:
        return stored_gzip(gzip.decompress(idx_bytes(array)))

    return {
        mnist.TRAIN_IMAGES: idx(raw["train_images"]),
        mnist.TRAIN_LABELS: idx(raw["train_labels"]),
        mnist.TEST_IMAGES: idx(raw["test_images"]),
        mnist.TEST_LABELS: idx(raw["test_labels"]),
    }


def classic_pickle(raw: dict[str, np.ndarray]) -> bytes:
    """The classic mnist.pkl.gz layout: float32 bytes/256, int64 labels."""
    n_train = SMALL[0]
    images, labels = raw["train_images"], raw["train_labels"]

    def pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x.astype(np.float32) / np.float32(256), y.astype(np.int64)

    splits = (
        pair(images[:n_train], labels[:n_train]),
        pair(images[n_train:], labels[n_train:]),
        pair(raw["test_images"], raw["test_labels"]),
    )
    return gzip.compress(pickle.dumps(splits, protocol=4), mtime=0)


def alter_in_place(path: Path, pixels: list[int]) -> bytes:
    """Invert a few image bytes of a stored-gzip IDX file in place, keeping it valid gzip.

    Returns the altered file's bytes; asserts it has the original length and still decodes.
    """
    original = path.read_bytes()
    payload = bytearray(gzip.decompress(original))
    for i in pixels:
        payload[16 + i] ^= 0xFF  # after the 16-byte IDX image header
    altered = stored_gzip(bytes(payload))
    assert len(altered) == len(original) and altered != original
    changed = [i for i, (a, b) in enumerate(zip(original, altered, strict=True)) if a != b]
    with path.open("r+b") as handle:  # the same file, rewritten byte by byte where it differs
        for i in changed:
            handle.seek(i)
            handle.write(altered[i : i + 1])
    assert path.read_bytes() == altered
    assert gzip.decompress(altered) == bytes(payload)  # a valid gzip: the CRC cannot catch it
    return altered


FLIPPED = [0, 1000, 5 * 784 + 17]  # pixel indices in the training-images file


@pytest.fixture
def small_mnist(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process: small split sizes, a private digest table, and no network unless a test
    serves it."""
    monkeypatch.setattr(mnist, "N_TRAIN", SMALL[0])
    monkeypatch.setattr(mnist, "N_VALID", SMALL[1])
    monkeypatch.setattr(mnist, "N_TEST", SMALL[2])
    monkeypatch.setattr(mnist, "SHA256", dict(mnist.SHA256))

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tests must not touch the network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(subprocess, "run", no_network)


@pytest.mark.parametrize("next_source", ["cached pickle", "mirror"])
def test_a_same_size_altered_cache_file_is_refetched_from_the_next_source(
    next_source, small_mnist, tmp_path, monkeypatch, caplog
):
    raw = small_raw()
    files = small_idx_files(raw)
    mnist.SHA256.update(write_cache(tmp_path, files))
    if next_source == "cached pickle":
        blob = classic_pickle(raw)
        mnist.SHA256.update(write_cache(tmp_path, {mnist.PICKLE_NAME: blob}))
    else:
        good = {
            mirror + mnist.TRAIN_IMAGES: files[mnist.TRAIN_IMAGES] for mirror in mnist.IDX_MIRRORS
        }
        fetched = []

        def mirror(url: str, timeout: float) -> io.BytesIO:
            if url not in good:
                raise urllib.error.URLError(f"test mirror does not serve {url}")
            fetched.append(url)
            return io.BytesIO(good[url])

        monkeypatch.setattr(urllib.request, "urlopen", mirror)
    target = tmp_path / mnist.TRAIN_IMAGES
    altered = alter_in_place(target, FLIPPED)

    with caplog.at_level(logging.WARNING, logger="advnets.data"):
        splits = load_mnist(tmp_path, download=next_source == "mirror")

    assert mnist.TRAIN_IMAGES in caplog.text and "SHA-256" in caplog.text
    assert (tmp_path / (mnist.TRAIN_IMAGES + ".corrupt")).read_bytes() == altered
    if next_source == "cached pickle":
        assert mnist.PICKLE_NAME in splits.source
        assert not target.exists()
    else:
        assert fetched == [mnist.IDX_MIRRORS[0] + mnist.TRAIN_IMAGES]
        assert target.read_bytes() == files[mnist.TRAIN_IMAGES]
    images = raw["train_images"].astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(splits.train_x, images[: SMALL[0]])  # no flipped pixel
    np.testing.assert_array_equal(splits.valid_x, images[SMALL[0] :])
    again = load_mnist(tmp_path, download=False)  # the decoded cache holds the good data too
    assert "decoded cache" in again.source and again.sha256 == splits.sha256
    np.testing.assert_array_equal(again.train_x, splits.train_x)


def test_a_same_size_altered_cache_file_with_no_other_source_is_a_clear_cli_error(
    cli, config_file, tmp_path
):
    raw = small_raw()
    files = small_idx_files(raw)
    folder = tmp_path / "cache"
    cache = Cache(folder, write_cache(folder, files), SMALL)
    altered = alter_in_place(folder / mnist.TRAIN_IMAGES, FLIPPED)
    run = tmp_path / "run"

    code, out, err = finish(cli.start(cache, "train", str(config_file), "--out", str(run)))
    assert code == 2, f"exit code {code}:\n{out}\n{err}"
    assert "Traceback" not in err, err
    # the warning names the altered file and why; the error says where good copies must go
    warning = next(line for line in err.splitlines() if "corrupt" in line)
    assert str(folder / mnist.TRAIN_IMAGES) in warning
    assert sha256_bytes(altered) in warning and cache.sha256[mnist.TRAIN_IMAGES] in warning
    assert "MNIST is not available" in err and mnist.TRAIN_IMAGES in err
    assert (folder / (mnist.TRAIN_IMAGES + ".corrupt")).is_file()
    assert not (folder / mnist.TRAIN_IMAGES).exists()
    assert not (folder / mnist.DECODED_NAME).exists()  # nothing derived from the bad bytes
    assert not (run / "checkpoints").exists()
