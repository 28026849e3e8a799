"""The anomaly protocol's picture: the test images an autoencoder reconstructs best and worst."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from advnets.data.datasets import ImageShape
from advnets.figures.grid import save_grid
from advnets.models.autoencoder import Autoencoder
from advnets.sampling import eval_mode


@torch.no_grad()
def save_reconstructions(
    path: str | os.PathLike,
    autoencoder: Autoencoder,
    images: torch.Tensor,
    best: list[int],
    worst: list[int],
    image_shape: ImageShape = (28, 28),
    scale: int = 2,
) -> Path:
    """Four rows: the best reconstructed images, their reconstructions, the worst, theirs."""
    device = next(autoencoder.parameters()).device
    rows = []
    for indices in (best, worst):
        originals = images[indices].to(device)
        with eval_mode(autoencoder):
            rows += [originals.cpu(), autoencoder(originals).cpu()]
    grid = torch.cat(rows).numpy().astype(np.float32)
    return save_grid(path, grid, image_shape, columns=max(len(best), 1), scale=scale)
