"""Games: the networks of a model family, their optimisers and their update phases."""

from __future__ import annotations

import torch

from advnets.config import RunConfig
from advnets.data.datasets import Dataset
from advnets.games.base import Game
from advnets.games.gan import GAN


def build_game(
    config: RunConfig, dataset: Dataset, device: torch.device, world_size: int = 1
) -> Game:
    """The game a run's config describes (every model family so far plays the paper's GAN),
    its networks initialised from the global RNG as it stands."""
    return GAN(config, dataset, device, world_size)
