"""Searching a trained G's latent space: the code whose image minimises a per-image loss.

    z* = argmin_z  loss(G(z), y)

by Adam from several random starts drawn from G's prior (the best start kept), z clamped back
into a uniform prior's support after every step. Inpainting's loss matches the visible
pixels and asks D to take the image for real (``evaluation.inpainting``, Yeh et al. 2017);
inverting G (``evaluation.inference``) is the squared error to the whole image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from advnets.models.latent import UNIFORM_BOUNDS
from advnets.sampling import eval_mode

# (G(z), the target images) -> the loss of each image, (N,)
ImageLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class SearchSettings:
    """The latent search: restarts per image, Adam steps and rate."""

    restarts: int = 4
    steps: int = 300
    lr: float = 0.01


def search_latent_codes(
    generator: torch.nn.Module,
    loss: ImageLoss,
    images: torch.Tensor,
    settings: SearchSettings,
    seed: int = 0,
) -> torch.Tensor:
    """z* for each of ``images``, the best of the restarts by ``loss`` (G in evaluation mode;
    whatever ``loss`` calls, e.g. D, is put in evaluation mode by the caller)."""
    n, restarts = len(images), settings.restarts
    rng = torch.Generator().manual_seed(seed)
    z = generator.sample_noise(n * restarts, rng).requires_grad_(True)
    target = images.repeat(restarts, 1)
    optimizer = torch.optim.Adam([z], lr=settings.lr)
    bounds = UNIFORM_BOUNDS.get(getattr(generator, "noise", ""), None)
    with eval_mode(generator):
        for _ in range(settings.steps):
            value = loss(generator(z), target)
            optimizer.zero_grad(set_to_none=True)
            value.sum().backward()
            optimizer.step()
            if bounds is not None:  # back into the prior's support
                with torch.no_grad():
                    z.clamp_(*bounds)
        with torch.no_grad():
            best = loss(generator(z), target).reshape(restarts, n).argmin(dim=0)
    return z.detach().reshape(restarts, n, -1)[best, torch.arange(n)]
