"""Games: the networks of a model family, their optimisers and their update phases."""

from __future__ import annotations

import torch

from advnets.config import RunConfig
from advnets.data.datasets import Dataset
from advnets.games.base import Game
from advnets.games.conditional import ConditionalGAN
from advnets.games.gan import GAN
from advnets.models.registry import family


def build_game(
    config: RunConfig, dataset: Dataset, device: torch.device, world_size: int = 1
) -> Game:
    """The game a run's config describes (the paper's GAN, or its conditional form for a
    conditional family), its networks initialised from the global RNG as it stands."""
    game = ConditionalGAN if family(config.model.family).conditional else GAN
    return game(config, dataset, device, world_size)
