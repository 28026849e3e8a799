"""Model families by name: each builds its G and D from its own section of the model settings.

A run's ``model.family`` picks the family; the family reads only the ``model.*`` keys its
settings class names (its section), so adding a family adds an entry here, not a branch.
The config file keeps one flat ``model`` mapping, as run directories have always stored it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from advnets.config import ConfigError, ModelConfig
from advnets.models.conditional import (
    AuxiliaryClassifierSettings,
    ConditionalSettings,
    build_acgan,
    build_cgan_mlp,
)
from advnets.models.dcgan import DCGANSettings, build_dcgan
from advnets.models.mlp import MaxoutSettings, build_mlp_maxout
from advnets.models.toy import ToySettings, build_mlp_toy


@dataclass(frozen=True)
class Family:
    """A model family: its settings class and its builder (settings, data dimension, the
    logit of the data's mean pixel or None) -> (G, D)."""

    settings: type
    build: Callable[[Any, int, torch.Tensor | None], tuple[nn.Module, nn.Module]]
    # the game its networks play (advnets.games): "gan", the paper's; "conditional", G(z | y)
    #   and D(x | y) on labelled images; "auxiliary-classifier", AC-GAN's
    game: str = "gan"

    def section(self, config: ModelConfig) -> Any:
        """This family's settings, read from the model config."""
        names = [field.name for field in dataclasses.fields(self.settings)]
        return self.settings(**{name: getattr(config, name) for name in names})


FAMILIES: dict[str, Family] = {
    "mlp-maxout": Family(MaxoutSettings, build_mlp_maxout),  # the paper's MNIST networks
    "mlp-toy": Family(ToySettings, build_mlp_toy),  # small MLPs for the theory lab's points
    "dcgan": Family(DCGANSettings, build_dcgan),  # Radford et al. 2016, convolutional
    # Mirza & Osindero 2014: the paper's MLPs conditioned on the class
    "cgan-mlp": Family(ConditionalSettings, build_cgan_mlp, game="conditional"),
    # Odena et al. 2017 with DCGAN's networks: D also names the class
    "acgan": Family(AuxiliaryClassifierSettings, build_acgan, game="auxiliary-classifier"),
}


def family(name: str) -> Family:
    """The family registered under ``name``."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(
            f"model.family = {name!r} is not valid; choose one of {', '.join(FAMILIES)}."
        ) from None
