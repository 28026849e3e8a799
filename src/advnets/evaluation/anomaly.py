"""Anomaly detection with an autoencoder: an image it reconstructs badly is unlike its training
data (the seed's use of the autoencoder). The score of an image is its reconstruction error
under the autoencoder's own loss (``Autoencoder.reconstruction_error``); AUROC measures how
well the scores separate normal from anomalous images.
"""

from __future__ import annotations

import numpy as np
import torch

from advnets.models.autoencoder import Autoencoder


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
