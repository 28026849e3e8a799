"""Child processes that run the real ``advnets`` command on a small MNIST in the real IDX
file format, for the tests that drive the command line from outside (killed, interrupted, fed
bad data or a damaged run directory).

The MNIST digest table and split sizes are module constants that a test cannot monkeypatch
across a process boundary, so a short bootstrap (``BOOT``) sets them in the child, disables the
network, and then hands the argument list to ``advnets.cli.main`` unchanged.

Starting Python and importing torch costs a child several seconds, most of it on one core, so
children are started one command ahead (:class:`Children`): each imports torch and advnets,
then waits on its stdin for the command it is to run, while the previous command runs on the
other core. Nothing here touches the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from conftest import idx_bytes, make_dataset

import advnets
from advnets.data import mnist
from advnets.files import sha256_bytes

# Runs in the child: import ahead of time, wait for one command on stdin (argv, environment,
# the test MNIST's digests and sizes), forbid the network, then run the real CLI.
BOOT = """
import json, os, subprocess, sys, urllib.request
import torch, torch._dynamo, advnets.cli, advnets.training.loop  # warm-up only
from advnets.data import mnist
command = json.loads(sys.stdin.readline())
os.environ.update(command["env"])
mnist.SHA256.update(command["sha256"])
mnist.N_TRAIN, mnist.N_VALID, mnist.N_TEST = command["sizes"]
def no_network(*args, **kwargs):
    raise AssertionError("tests must not touch the network")
urllib.request.urlopen = no_network
subprocess.run = no_network
raise SystemExit(advnets.cli.main(command["argv"]))
"""

CHILD_TIMEOUT_S = 120


@dataclass
class Cache:
    """A data directory holding a test MNIST, and the digests and sizes that describe it."""

    path: Path
    sha256: dict[str, str]
    sizes: tuple[int, int, int]


class Children:
    """Child interpreters for ``advnets`` commands, each started (and importing) one ahead."""

    def __init__(self) -> None:
        self.env = dict(os.environ)
        src = str(Path(advnets.__file__).resolve().parents[1])  # the advnets these tests import
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, self.env.get("PYTHONPATH")]))
        self.env["OMP_NUM_THREADS"] = self.env["MKL_NUM_THREADS"] = "1"
        self.env["PYTHONUNBUFFERED"] = "1"
        self.spare = self._spawn()

    def _spawn(self) -> tuple[subprocess.Popen, int]:
        read, write = os.pipe()
        process = subprocess.Popen(
            [sys.executable, "-c", BOOT],
            stdin=read,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            text=True,
        )
        os.close(read)
        return process, write

    def start(self, cache: Cache, *argv: str) -> subprocess.Popen:
        """Run ``advnets ARGV`` with ``cache`` as its data directory; stdout, stderr captured."""
        (process, pipe), self.spare = self.spare, self._spawn()
        command = {
            "argv": list(argv),
            "env": {"ADVNETS_DATA_DIR": str(cache.path)},
            "sha256": cache.sha256,
            "sizes": cache.sizes,
        }
        os.write(pipe, (json.dumps(command) + "\n").encode())
        os.close(pipe)
        return process

    def close(self) -> None:
        process, pipe = self.spare
        os.close(pipe)
        process.kill()
        process.communicate()


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=CHILD_TIMEOUT_S)
    return process.returncode, out, err


def write_cache(folder: Path, files: dict[str, bytes]) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    return {name: sha256_bytes(blob) for name, blob in files.items()}


def as_bytes(images: torch.Tensor) -> np.ndarray:
    return (images.numpy() * 255).round().astype(np.uint8)


def build_cache(folder: Path, n_train: int, n_valid: int, n_test: int) -> Cache:
    """Blurry blobs as the four gzipped IDX files of an MNIST with these split sizes."""
    data = make_dataset(n_train=n_train + n_valid, n_eval=n_test)
    labels = np.arange(n_train + n_valid + n_test, dtype=np.uint8) % 10
    train = np.concatenate([as_bytes(data.train[:n_train]), as_bytes(data.valid)])
    files = {
        mnist.TRAIN_IMAGES: idx_bytes(train),
        mnist.TRAIN_LABELS: idx_bytes(labels[: n_train + n_valid]),
        mnist.TEST_IMAGES: idx_bytes(as_bytes(data.test)),
        mnist.TEST_LABELS: idx_bytes(labels[n_train + n_valid :]),
    }
    return Cache(folder, write_cache(folder, files), (n_train, n_valid, n_test))
