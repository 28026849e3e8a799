"""Games: the networks of a model family, their optimisers and their update phases."""

from __future__ import annotations

import torch

from advnets.config import RunConfig
from advnets.data.datasets import Dataset
from advnets.games.autoencoding import Autoencoding, VariationalAutoencoding
from advnets.games.base import Game
from advnets.games.bigan import BiGAN
from advnets.games.conditional import AuxiliaryClassifierGAN, ConditionalGAN
from advnets.games.context_encoding import ContextEncoding
from advnets.games.cycle import CycleGAN
from advnets.games.gan import GAN
from advnets.games.semisupervised import SemiSupervisedGAN
from advnets.models.registry import family


def build_game(
    config: RunConfig, dataset: Dataset, device: torch.device, world_size: int = 1
) -> Game:
    """The game a run's model family plays (the paper's GAN, the conditional net's, AC-GAN's,
    BiGAN's, the semi-supervised GAN's, the context encoder's, an autoencoder's or VAE's
    alone, or CycleGAN's), its networks initialised from the global RNG as it stands."""
    return GAMES[family(config.model.family).game](config, dataset, device, world_size)


GAMES: dict[str, type[Game]] = {
    "gan": GAN,
    "conditional": ConditionalGAN,
    "auxiliary-classifier": AuxiliaryClassifierGAN,
    "semi-supervised": SemiSupervisedGAN,  # Salimans et al. 2016: K+1 classes, feature matching
    "context-encoder": ContextEncoding,  # Pathak et al. 2016: completion, reconstruction + D
    "autoencoder": Autoencoding,  # the autoencoders: one network, its reconstruction error
    "vae": VariationalAutoencoding,  # Kingma & Welling's VAE: its negative ELBO
    "cycle": CycleGAN,  # Zhu et al.'s two translators and two critics on two unpaired domains
    "bidirectional": BiGAN,  # BiGAN/ALI: G and an encoder E against a joint D(x, z)
}
