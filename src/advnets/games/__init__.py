"""Games: the networks of a model family, their optimisers and their update phases."""

from __future__ import annotations

import torch

from advnets.config import RunConfig
from advnets.data.datasets import Dataset
from advnets.games.autoencoding import Autoencoding, VariationalAutoencoding
from advnets.games.base import Game
from advnets.games.gan import GAN
from advnets.models.registry import family

GAMES: dict[str, type[Game]] = {  # by the name a model family gives (models.registry)
    "gan": GAN,
    "autoencoder": Autoencoding,
    "vae": VariationalAutoencoding,
}


def build_game(
    config: RunConfig, dataset: Dataset, device: torch.device, world_size: int = 1
) -> Game:
    """The game that trains the run's model family, its networks initialised from the global
    RNG as it stands."""
    return GAMES[family(config.model.family).game](config, dataset, device, world_size)
