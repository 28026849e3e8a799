"""Anomaly detection with an autoencoder: an image it reconstructs badly is unlike its training
data (the seed's use of the autoencoder). The score of an image is its reconstruction error
under the autoencoder's own loss (``Autoencoder.reconstruction_error``); AUROC measures how
well the scores separate normal from anomalous images. Nothing is trained here. Two protocols:

- :func:`anomaly_protocol`: given an autoencoder trained without one class of its data
  (``data.exclude_class``, e.g. nine MNIST digits), score the test images of all; how well the
  left-out class stands out;
- :func:`run_anomaly` with ``against``: the test images of the classes the autoencoder was
  trained on (normal) against the test images of another set (anomalous): Fashion-MNIST
  (Xiao et al. 2017) against MNIST, the usual out-of-distribution check, and the reverse.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from advnets.config import ConfigError, DataConfig
from advnets.data.datasets import Dataset, ImageShape
from advnets.data.registry import load_dataset
from advnets.evaluation.runs import load_generator
from advnets.files import atomic_write_text
from advnets.models.autoencoder import Autoencoder
from advnets.runs import checkpoint as ckpt
from advnets.runs.logs import MetricsLog
from advnets.runs.rundir import RunDir, RunDirError


@torch.no_grad()
def reconstruction_scores(
    autoencoder: Autoencoder, images: torch.Tensor, batch_size: int = 1000
) -> np.ndarray:
    """Per-image reconstruction error (n,) float64, in evaluation mode, ``batch_size`` at a
    time on the autoencoder's device; higher means more anomalous."""
    device = next(autoencoder.parameters()).device
    was_training = autoencoder.training
    autoencoder.eval()
    try:
        scores = [
            autoencoder.reconstruction_error(rows.to(device)).double().cpu()
            for rows in torch.split(images, batch_size)
        ]
    finally:
        autoencoder.train(was_training)
    return torch.cat(scores).numpy()


def auroc(normal: np.ndarray, anomalous: np.ndarray) -> float:
    """Area under the ROC curve of "anomalous if the score is higher": the probability that an
    anomalous image outscores a normal one, ties counting half (the Mann–Whitney U statistic
    divided by n_normal · n_anomalous). 0.5 is chance, 1 a perfect separation."""
    normal, anomalous = np.sort(np.asarray(normal, np.float64)), np.asarray(anomalous, np.float64)
    if normal.size == 0 or anomalous.size == 0:
        raise ValueError("AUROC needs at least one normal and one anomalous score.")
    below = np.searchsorted(normal, anomalous, side="left")
    ties = np.searchsorted(normal, anomalous, side="right") - below
    return float((below + 0.5 * ties).sum() / (normal.size * anomalous.size))


@dataclass(frozen=True)
class AnomalyResult:
    """How well an autoencoder's reconstruction error tells anomalous images from normal
    ones (the AUROC), and which images it reconstructs best and worst."""

    auroc: float
    n_normal: int
    n_anomalous: int
    mean_normal: float  # mean reconstruction error of each group
    mean_anomalous: float
    best: list[int]  # indices of the lowest errors, lowest first
    worst: list[int]  # indices of the highest errors, highest first
    seconds: float
    # the AUROC of each class of the anomalous images alone against all normal ones
    auroc_by_class: dict[str, float] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def separation(
    autoencoder: Autoencoder,
    images: torch.Tensor,
    anomalous: np.ndarray,
    shown: int = 8,
    classes: tuple[np.ndarray, tuple[str, ...]] | None = None,
) -> AnomalyResult:
    """Score every image by its reconstruction error; the AUROC of the images marked
    ``anomalous`` (a boolean mask) against the others, and the ``shown`` best and worst
    reconstructed. With ``classes`` (the labels of the anomalous images, in order, and the
    class names), also the AUROC of each class of them."""
    start = time.perf_counter()
    scores = reconstruction_scores(autoencoder, images)
    anomalous = np.asarray(anomalous, bool)
    order = np.argsort(scores, kind="stable")
    by_class = None
    if classes is not None:
        labels, names = classes
        normal, odd = scores[~anomalous], scores[anomalous]
        by_class = {
            name: auroc(normal, odd[labels == k])
            for k, name in enumerate(names)
            if (labels == k).any()
        }
    return AnomalyResult(
        auroc=auroc(scores[~anomalous], scores[anomalous]),
        n_normal=int((~anomalous).sum()),
        n_anomalous=int(anomalous.sum()),
        mean_normal=float(scores[~anomalous].mean()),
        mean_anomalous=float(scores[anomalous].mean()),
        best=order[:shown].tolist(),
        worst=order[::-1][:shown].tolist(),
        seconds=time.perf_counter() - start,
        auroc_by_class=by_class,
    )


def anomaly_protocol(
    autoencoder: Autoencoder,
    test: torch.Tensor,
    labels: np.ndarray,
    held_out: int,
    shown: int = 8,
) -> AnomalyResult:
    """The AUROC of the ``held_out`` class of the test images (anomalous) against all the
    others (normal), by :func:`separation`."""
    return separation(autoencoder, test, np.asarray(labels) == held_out, shown)


def autoencoder_of(generator: torch.nn.Module) -> Autoencoder:
    """The autoencoder whose decoder ``generator`` is; RunDirError for any other generator."""
    net = getattr(generator, "net", None)
    if not isinstance(net, Autoencoder):
        raise RunDirError(
            "anomaly scores come from an autoencoder's reconstruction error: this run's model "
            "is not one (train the mlp-ae or conv-ae family, e.g. the ae-mnist preset)."
        )
    return net


AGAINST_SETS = ("mnist", "fashion-mnist")  # data sets --against names; else a folder


def other_images(
    against: str, like: Dataset, data_dir: str | None, download: bool
) -> tuple[torch.Tensor, tuple[np.ndarray, tuple[str, ...]] | None, str]:
    """The test images of the set named ``against``, their labels and class names (None if
    unlabelled), and a short name for the set: ``mnist`` or ``fashion-mnist`` (their 10,000
    test images, checksummed), or a folder of PNG/JPEG images (its test split, as ``data.dataset:
    folder`` splits it, converted to the size and channels of ``like``'s images). ConfigError
    if they are not images of ``like``'s shape."""
    if against in AGAINST_SETS:
        config = DataConfig(dataset=against, data_dir=data_dir, download=download)
        name = against
    elif Path(against).is_dir():
        side, channels = like.image_shape[-1], like.channels
        config = DataConfig(
            dataset="folder", folder=against, image_size=side, channels=channels, data_dir=data_dir
        )
        name = "folder"
    else:
        raise ConfigError(
            f"--against {against!r} is neither {' nor '.join(AGAINST_SETS)} nor a folder of "
            "images: name one of them, or a folder of PNG/JPEG images (one sub-folder per "
            "class allowed)."
        )
    dataset = load_dataset(config)
    if dataset.image_shape != like.image_shape:
        raise ConfigError(
            f"--against {against}: its images are {dataset.image_shape}, the run's "
            f"{like.name} images {like.image_shape}; an autoencoder scores images of its own shape."
        )
    labels = dataset.labels
    classes = None if labels is None else (labels.test.numpy(), labels.class_names)
    return dataset.test, classes, name


def run_anomaly(
    run: RunDir,
    checkpoint: str = "best",
    held_out: int | None = None,
    data_dir: str | None = None,
    against: str | None = None,
) -> tuple[dict, Autoencoder, torch.Tensor, ImageShape]:
    """An anomaly protocol of a run's autoencoder on the test images of the data it was trained
    on (from ``data_dir``, by default the run's). Without ``against``: class ``held_out`` (by
    default the run's data.exclude_class) against the other classes, written to anomaly.json.
    With ``against`` (see :func:`other_images`): the test images of the classes the run was
    trained on against that set's test images, written to anomaly-NAME.json. Returns the
    record, the autoencoder, the images scored (normal first) and their shape."""
    generator, config, meta = load_generator(run, checkpoint)
    autoencoder = autoencoder_of(generator)
    data = dataclasses.replace(config.data, data_dir=data_dir or config.data.data_dir)
    dataset = load_dataset(data)
    ckpt.check_data(meta, dataset.sha256, run.path)
    test = dataset.test
    labels = None if dataset.labels is None else dataset.labels.test.numpy()
    if against is None:
        held_out = config.data.exclude_class if held_out is None else held_out
        if held_out is None or labels is None:
            raise RunDirError(
                f"{run.path} was trained on every class of {dataset.name} (data.exclude_class "
                "unset), or on unlabelled images: name the class to score as the anomaly with "
                "--class, or a set to score against with --against."
            )
        result = anomaly_protocol(autoencoder, test, labels, held_out)
        described, path = {"held_out": held_out}, run.path / "anomaly.json"
    else:
        others, classes, name = other_images(against, dataset, data.data_dir, data.download)
        if config.data.exclude_class is not None:
            test = test[torch.from_numpy(labels != config.data.exclude_class)]
        test = torch.cat([test, others])
        anomalous = np.arange(len(test)) >= len(test) - len(others)
        result = separation(autoencoder, test, anomalous, classes=classes)
        described, path = {"against": name}, run.path / f"anomaly-{name}.json"
    record = {
        "kind": "test_anomaly",
        "step": meta["state"]["g_updates"],
        "epoch": meta["state"]["epoch"],
        "checkpoint": meta["checkpoint"],
        "dataset": dataset.name,
        "trained_without": config.data.exclude_class,
        **described,
        **result.to_dict(),
        "time": time.time(),
    }
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")
    MetricsLog(run.metrics).write(record)
    return record, autoencoder, test, dataset.image_shape
