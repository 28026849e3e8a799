"""Fingerprints of the checkpoints every preset writes: a guard that a change of code leaves
training unchanged, bit for bit.

Each case trains a preset for a few updates through ``advnets train`` (the whole path a user
runs: config, data, models, game, trainer, callbacks, checkpoints) on small synthetic data
that needs no network (MNIST-shaped IDX files made here, or the toy sets with fewer points),
then records the SHA-256 of every tensor of every checkpoint and of its JSON state. Float
results depend on the CPU and the PyTorch build, so a recording is labelled with the machine
it was made on and compared exactly only on that machine.

    python scripts/checkpoint_fingerprint.py --write FILE   # record
    python scripts/checkpoint_fingerprint.py --check FILE   # compare; exit 1 on a difference
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import os
import struct
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from advnets.cli import main as advnets
from advnets.data import mnist
from advnets.files import sha256_bytes
from advnets.training.throughput import machine

SMALL_IMAGES = [  # 3 minibatches per epoch, a validation and a best checkpoint every epoch
    "training.epochs=2",
    "evaluation.every_epochs=1",
    "evaluation.samples=200",
    "evaluation.valid_images=50",
    "evaluation.patience=null",
    "logging.progress=false",
    "logging.tensorboard=false",
    "logging.log_every_steps=2",
    "logging.grid_rows=3",
    "training.device=cpu",
]
SMALL_CYCLEGAN = ["model.base_channels=4", "model.residual_blocks=1"]  # small networks
SMALL_BIGAN = [  # its three networks 32 units wide
    "model.generator_hidden=[32, 32]",
    "model.encoder_hidden=[32, 32]",
    "model.discriminator_units=[32, 32]",
]
SMALL_POINTS = ["data.toy_points=600", "training.epochs=2", "training.device=cpu"]

# name: (preset, overrides); together they reach every branch of the update and the schedules.
# The precision is pinned: "auto" picks fp32 or bf16 by timing this machine, by design.
FP32 = ["training.precision=fp32"]  # a preset's `auto` would pick by the machine

CASES: dict[str, tuple[str, list[str]]] = {
    "mnist-paper": ("mnist-paper", [*SMALL_IMAGES, "training.checkpoint_every_steps=2"]),
    "mnist-paper-k2-minimax": (
        "mnist-paper",
        [
            *SMALL_IMAGES,
            "training.update=alternating",
            "training.k=2",
            "training.generator_loss=minimax",
            "evaluation.domain_metrics=false",
        ],
    ),
    "mnist-quick": ("mnist-quick", [*SMALL_IMAGES, "training.precision=fp32"]),
    "mnist-quick-bf16": ("mnist-quick", [*SMALL_IMAGES, "training.precision=bf16"]),
    "mnist-fast": ("mnist-fast", [*SMALL_IMAGES, "training.precision=fp32"]),
    "dcgan-mnist": ("dcgan-mnist", [*SMALL_IMAGES, "model.base_channels=4"]),
    "dcgan-mnist-quick": (
        "dcgan-mnist-quick",
        [*SMALL_IMAGES, "model.base_channels=4", "model.dcgan_hidden=16", *FP32],
    ),
    "cgan-mnist": ("cgan-mnist", SMALL_IMAGES),
    "acgan-mnist": ("acgan-mnist", [*SMALL_IMAGES, "model.base_channels=4"]),
    "acgan-mnist-quick": (
        "acgan-mnist-quick",
        [*SMALL_IMAGES, "model.base_channels=4", "model.dcgan_hidden=16", *FP32],
    ),
    "ssgan-mnist": ("ssgan-mnist", SMALL_IMAGES),
    "ssgan-mnist-quick": ("ssgan-mnist-quick", SMALL_IMAGES),
    "context-encoder-mnist": ("context-encoder-mnist", [*SMALL_IMAGES, "model.base_channels=4"]),
    "context-encoder-mnist-random-blocks": (
        "context-encoder-mnist-quick",
        [*SMALL_IMAGES, "model.base_channels=4", "model.context_mask=random-blocks"],
    ),
    # its settings on the MNIST-shaped files made here (a folder's images at 28x28 grey)
    "dcgan-folder": (
        "dcgan-folder",
        [
            *SMALL_IMAGES,
            "model.base_channels=4",
            "data.dataset=mnist",
            "data.folder=null",
            "data.channels=null",
        ],
    ),
    "dcgan-folder-quick": (
        "dcgan-folder-quick",
        [
            *SMALL_IMAGES,
            "model.base_channels=4",
            "data.dataset=mnist",
            "data.folder=null",
            "data.channels=null",
            *FP32,
        ],
    ),
    # its settings on the MNIST-shaped files made here (the same format as Fashion-MNIST's)
    "acgan-fashion": (
        "acgan-fashion",
        [*SMALL_IMAGES, "model.base_channels=4", "data.dataset=mnist"],
    ),
    "ae-mnist": ("ae-mnist", [*SMALL_IMAGES, "model.autoencoder_hidden=32"]),
    "ae-mnist-quick": ("ae-mnist-quick", [*SMALL_IMAGES, "model.autoencoder_hidden=32"]),
    "cae-mnist": ("cae-mnist", [*SMALL_IMAGES, "model.base_channels=4"]),
    "cae-mnist-quick": ("cae-mnist-quick", [*SMALL_IMAGES, "model.base_channels=4"]),
    "vae-mnist": ("vae-mnist", [*SMALL_IMAGES, "model.autoencoder_hidden=32"]),
    "vae-mnist-quick": ("vae-mnist-quick", [*SMALL_IMAGES, "model.autoencoder_hidden=32"]),
    # MNIST-shaped files made here (A) and scikit-learn's digits (B), 3 minibatches an epoch
    "cyclegan-mnist-digits": (
        "cyclegan-mnist-digits",
        [*SMALL_IMAGES, *SMALL_CYCLEGAN, "data.train_subset=48"],
    ),
    "cyclegan-mnist-digits-quick": (  # and the linear lr decay in the second epoch
        "cyclegan-mnist-digits-quick",
        [*SMALL_IMAGES, *SMALL_CYCLEGAN, "data.train_subset=48", "training.lr_constant_epochs=1"],
    ),
    # its settings (the identity loss, 70x70 patches) on the pair above, 28x28 grey
    "cyclegan-folders": (
        "cyclegan-folders",
        [
            *SMALL_IMAGES,
            *SMALL_CYCLEGAN,
            "data.dataset=mnist-digits",
            "data.folder=null",
            "data.folder_b=null",
            "data.channels=null",
            "data.train_subset=12",
        ],
    ),
    "bigan-mnist": ("bigan-mnist", [*SMALL_IMAGES, *SMALL_BIGAN]),
    "bigan-mnist-quick": ("bigan-mnist-quick", [*SMALL_IMAGES, *SMALL_BIGAN]),
    "toy-1d": ("toy-1d", SMALL_POINTS),
    "toy-grid": ("toy-grid", SMALL_POINTS),
    "toy-ring": ("toy-ring", SMALL_POINTS),
    "toy-ring-remedies": ("toy-ring-remedies", SMALL_POINTS),
    "toy-ring-remedies-quick": ("toy-ring-remedies-quick", SMALL_POINTS),
    "toy-ring-pacgan": ("toy-ring-pacgan", SMALL_POINTS),
    "toy-grid-pacgan": ("toy-grid-pacgan", SMALL_POINTS),
    "toy-ring-unrolled5": ("toy-ring", [*SMALL_POINTS, "training.unrolled_steps=5"]),
    "toy-ring-unrolled5-exact": (
        "toy-ring",
        [*SMALL_POINTS, "training.unrolled_steps=5", "training.unrolled_second_order=true"],
    ),
    "toy-ring-minibatch-std": ("toy-ring", [*SMALL_POINTS, "model.discriminator_minibatch_std=4"]),
}
DIGITS = 16  # hex digits kept of each SHA-256: 64 bits tell any change apart
RESUMED = "mnist-quick"  # also trained one epoch, then resumed: the same checkpoints result


def _idx(array: np.ndarray) -> bytes:
    """Gzipped IDX bytes of uint8 images (n, 784) or labels (n,)."""
    if array.ndim == 2:
        header = struct.pack(">IIII", 2051, len(array), 28, 28)
    else:
        header = struct.pack(">II", 2049, len(array))
    return gzip.compress(header + array.tobytes(), mtime=0)


@contextlib.contextmanager
def synthetic_mnist(folder: Path) -> Iterator[None]:
    """MNIST-shaped IDX files of random blobs (300 train, 100 valid, 100 test) in ``folder``,
    made the data MNIST loads for the duration."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:28, 0:28]
    cy, cx = rng.uniform(8, 20, (2, 500, 1, 1))
    blobs = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 4.7**2))
    images = (blobs.reshape(500, 784) * 255).round().astype(np.uint8)
    labels = np.arange(500, dtype=np.uint8) % 10
    files = {
        mnist.TRAIN_IMAGES: _idx(images[:400]),
        mnist.TRAIN_LABELS: _idx(labels[:400]),
        mnist.TEST_IMAGES: _idx(images[400:]),
        mnist.TEST_LABELS: _idx(labels[400:]),
    }
    folder.mkdir(parents=True)
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    saved = (mnist.SHA256, mnist.N_TRAIN, mnist.N_VALID, mnist.N_TEST)
    saved_dir = os.environ.get(mnist.ENV_DATA_DIR)
    mnist.SHA256 = {**mnist.SHA256, **{name: sha256_bytes(b) for name, b in files.items()}}
    mnist.N_TRAIN, mnist.N_VALID, mnist.N_TEST = 300, 100, 100
    os.environ[mnist.ENV_DATA_DIR] = str(folder)
    try:
        yield
    finally:
        mnist.SHA256, mnist.N_TRAIN, mnist.N_VALID, mnist.N_TEST = saved
        if saved_dir is None:
            del os.environ[mnist.ENV_DATA_DIR]
        else:
            os.environ[mnist.ENV_DATA_DIR] = saved_dir


def _train(args: list[str]) -> None:
    """``advnets train ARGS`` quietly; raise if it fails."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = advnets(["train", *args, "--no-eval"])
    if code != 0:
        raise RuntimeError(f"advnets train {' '.join(args)} failed ({code}): {err.getvalue()}")


def checkpoint_fingerprint(path: Path) -> dict:
    """SHA-256 of each tensor (name, type, shape, bytes) and of the JSON state of a checkpoint."""
    from safetensors import safe_open

    tensors = {}
    with safe_open(path, framework="pt") as file:
        for name in sorted(file.keys()):
            tensor = file.get_tensor(name).contiguous()
            digest = hashlib.sha256(f"{tensor.dtype} {list(tensor.shape)}\n".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
            tensors[name] = digest.hexdigest()[:DIGITS]
        state = file.metadata()["state"]
    return {"state": hashlib.sha256(state.encode()).hexdigest()[:DIGITS], "tensors": tensors}


def run_fingerprint(run: Path) -> dict:
    """The fingerprints of a run's checkpoints, by name."""
    return {
        path.name: checkpoint_fingerprint(path)
        for path in sorted((run / "checkpoints").glob("*.safetensors"))
    }


def fingerprints(workdir: Path, cases: list[str] | None = None) -> dict:
    """Train each case (all by default) under ``workdir``; their checkpoints' fingerprints."""
    torch.set_num_threads(1)  # one thread: the same reduction order whatever the core count
    runs: dict[str, dict] = {}
    with synthetic_mnist(workdir / "mnist"):
        for name in cases or list(CASES):
            preset, overrides = CASES[name]
            sets = [item for override in overrides for item in ("--set", override)]
            out = workdir / name
            _train([preset, "--out", str(out), *sets])
            runs[name] = run_fingerprint(out)
            if name == RESUMED:
                resumed = workdir / f"{name}-resumed"
                _train([preset, "--out", str(resumed), *sets, "--set", "training.epochs=1"])
                _train(["--resume", "--out", str(resumed), *sets])
                runs[f"{name}-resumed"] = run_fingerprint(resumed)
    return {"machine": machine(), "runs": runs}


def differences(recorded: dict, measured: dict) -> list[str]:
    """Each checkpoint tensor or state that differs between two fingerprint records."""
    found = []
    for case in sorted(set(recorded) | set(measured)):
        old, new = recorded.get(case, {}), measured.get(case, {})
        for ckpt in sorted(set(old) | set(new)):
            if ckpt not in old or ckpt not in new:
                found.append(f"{case}/{ckpt}: present in only one record")
                continue
            if old[ckpt]["state"] != new[ckpt]["state"]:
                found.append(f"{case}/{ckpt}: state differs")
            for name in sorted(set(old[ckpt]["tensors"]) | set(new[ckpt]["tensors"])):
                if old[ckpt]["tensors"].get(name) != new[ckpt]["tensors"].get(name):
                    found.append(f"{case}/{ckpt}: tensor {name} differs")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="FILE", help="record the fingerprints in FILE")
    action.add_argument("--check", metavar="FILE", help="compare with the record in FILE")
    parser.add_argument("--case", action="append", choices=list(CASES), help="only these cases")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measured = fingerprints(Path(folder), args.case)
    if args.write:
        Path(args.write).write_text(json.dumps(measured, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(measured['runs'])} runs' fingerprints to {args.write}")
        return 0
    recorded = json.loads(Path(args.check).read_text())
    if recorded["machine"] != measured["machine"]:
        print(f"note: recorded on {recorded['machine']}, measured on {measured['machine']}")
    runs = recorded["runs"] if not args.case else {k: recorded["runs"][k] for k in measured["runs"]}
    found = differences(runs, measured["runs"])
    for line in found:
        print(line)
    checkpoints = sum(len(run) for run in measured["runs"].values())
    print(f"{'DIFFERENT' if found else 'identical'}: {checkpoints} checkpoints compared")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
