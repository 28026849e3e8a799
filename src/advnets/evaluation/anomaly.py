"""Anomaly detection with an autoencoder: an image it reconstructs badly is unlike its training
data (the seed's use of the autoencoder). The score of an image is its reconstruction error
under the autoencoder's own loss (``Autoencoder.reconstruction_error``); AUROC measures how
well the scores separate normal from anomalous images. :func:`anomaly_protocol` trains
nothing: given an autoencoder trained on nine MNIST digits (``data.exclude_class``), it scores
the test images of all ten and reports how well the tenth stands out.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from advnets.data.mnist import load_mnist
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
    """Outcome of :func:`anomaly_protocol`: the AUROC of one held-out class, and which test
    images the autoencoder reconstructs best and worst."""

    auroc: float
    held_out: int  # the class left out of training: the anomaly
    n_normal: int  # test images of the other classes
    n_anomalous: int
    mean_normal: float  # mean reconstruction error of each group
    mean_anomalous: float
    best: list[int]  # test indices of the lowest errors, lowest first
    worst: list[int]  # test indices of the highest errors, highest first
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def anomaly_protocol(
    autoencoder: Autoencoder,
    test: torch.Tensor,
    labels: np.ndarray,
    held_out: int,
    shown: int = 8,
) -> AnomalyResult:
    """Score every test image by its reconstruction error; the AUROC of the ``held_out`` class
    (anomalous) against all others (normal), and the ``shown`` best and worst reconstructed."""
    start = time.perf_counter()
    scores = reconstruction_scores(autoencoder, test)
    anomalous = np.asarray(labels) == held_out
    order = np.argsort(scores, kind="stable")
    return AnomalyResult(
        auroc=auroc(scores[~anomalous], scores[anomalous]),
        held_out=held_out,
        n_normal=int((~anomalous).sum()),
        n_anomalous=int(anomalous.sum()),
        mean_normal=float(scores[~anomalous].mean()),
        mean_anomalous=float(scores[anomalous].mean()),
        best=order[:shown].tolist(),
        worst=order[::-1][:shown].tolist(),
        seconds=time.perf_counter() - start,
    )


def autoencoder_of(generator: torch.nn.Module) -> Autoencoder:
    """The autoencoder whose decoder ``generator`` is; RunDirError for any other generator."""
    net = getattr(generator, "net", None)
    if not isinstance(net, Autoencoder):
        raise RunDirError(
            "anomaly scores come from an autoencoder's reconstruction error: this run's model "
            "is not one (train the mlp-ae or conv-ae family, e.g. the ae-mnist preset)."
        )
    return net


def run_anomaly(
    run: RunDir,
    checkpoint: str = "best",
    held_out: int | None = None,
    data_dir: str | None = None,
) -> tuple[dict, Autoencoder, torch.Tensor]:
    """The anomaly protocol of a run's autoencoder on the MNIST test set (from ``data_dir``,
    by default the run's), ``held_out`` (by default the run's data.exclude_class) as the
    anomaly; writes anomaly.json in the run. Returns the record, the autoencoder and the test
    images."""
    generator, config, meta = load_generator(run, checkpoint)
    autoencoder = autoencoder_of(generator)
    held_out = config.data.exclude_class if held_out is None else held_out
    if held_out is None:
        raise RunDirError(
            f"{run.path} was trained on all ten digits (data.exclude_class unset): name the "
            "digit to score as the anomaly with --class."
        )
    splits = load_mnist(data_dir or config.data.data_dir, download=config.data.download)
    ckpt.check_data(meta, splits.sha256, run.path)
    test = torch.from_numpy(splits.test_x)
    result = anomaly_protocol(autoencoder, test, splits.test_y, held_out)
    record = {
        "kind": "test_anomaly",
        "step": meta["state"]["g_updates"],
        "epoch": meta["state"]["epoch"],
        "checkpoint": meta["checkpoint"],
        "trained_without": config.data.exclude_class,
        **result.to_dict(),
        "time": time.time(),
    }
    atomic_write_text(run.path / "anomaly.json", json.dumps(record, indent=2) + "\n")
    MetricsLog(run.metrics).write(record)
    return record, autoencoder, test
