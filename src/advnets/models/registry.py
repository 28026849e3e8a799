"""Model families by name: each builds its G and D from its own section of the model settings.

A family also names the game that trains it (``advnets.games``): ``gan``, the adversarial
game of G and D; ``autoencoder`` and ``vae``, one network trained alone (its D is None), whose
decoder is the generator (``models.autoencoder.DecoderGenerator``); ``bidirectional``,
BiGAN's, whose family also builds an encoder E trained with G against a joint D(x, z);
``cycle``, CycleGAN's, whose G and D each hold a pair of networks, one per direction or
domain (``models.cyclegan``).

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
from advnets.models.autoencoder import (
    AutoencoderSettings,
    ConvAutoencoderSettings,
    VAESettings,
    build_conv_autoencoder,
    build_mlp_autoencoder,
    build_vae,
)
from advnets.models.bigan import BiGANSettings, build_bigan, build_bigan_encoder
from advnets.models.conditional import (
    AuxiliaryClassifierSettings,
    ConditionalSettings,
    build_acgan,
    build_cgan_mlp,
)
from advnets.models.context_encoder import ContextEncoderSettings, build_context_encoder
from advnets.models.cyclegan import CycleGANSettings, build_cyclegan
from advnets.models.dcgan import DCGANSettings, build_dcgan
from advnets.models.mlp import MaxoutSettings, build_mlp_maxout
from advnets.models.ssgan import SemiSupervisedSettings, build_ssgan_mlp
from advnets.models.toy import ToySettings, build_mlp_toy


@dataclass(frozen=True)
class Family:
    """A model family: its settings class, its builder (settings, data dimension, the
    logit of the data's mean pixel or None) -> (G, D or None) and the game that trains it."""

    settings: type
    build: Callable[[Any, int, torch.Tensor | None], tuple[nn.Module, nn.Module | None]]
    # the game its networks play (advnets.games): "gan", the paper's; "conditional", G(z | y)
    #   and D(x | y) on labelled images; "auxiliary-classifier", AC-GAN's; "semi-supervised",
    #   a K+1-class D and feature matching from a few labels; "context-encoder", a network
    #   completing images and its D; "autoencoder", "vae", one network alone (D is None);
    #   "bidirectional", BiGAN's G and E against D(x, z); "cycle", CycleGAN's two generators
    #   and two discriminators on two unpaired domains (G and D each hold a pair)
    game: str = "gan"
    # builds the encoder E(x) (settings, data dimension) of a family that learns one with G
    encoder: Callable[[Any, int], nn.Module] | None = None
    # whether its generator draws samples from noise (what sample, evaluate and Table 1 read);
    #   False: the context encoder, which completes images instead (advnets inpaint)
    samples: bool = True

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
    # Salimans et al. 2016: a K+1-class D learns from a few labels, G by feature matching
    "ssgan-mlp": Family(SemiSupervisedSettings, build_ssgan_mlp, game="semi-supervised"),
    # Pathak et al. 2016: completes images with a hidden region, against DCGAN's D
    "context-encoder": Family(
        ContextEncoderSettings, build_context_encoder, game="context-encoder", samples=False
    ),
    # autoencoders and the VAE (advnets.models.autoencoder), each trained alone
    "mlp-ae": Family(AutoencoderSettings, build_mlp_autoencoder, "autoencoder"),
    "conv-ae": Family(ConvAutoencoderSettings, build_conv_autoencoder, "autoencoder"),
    "vae": Family(VAESettings, build_vae, "vae"),  # Kingma & Welling 2014
    # Zhu et al. 2017: G: A -> B and F: B -> A, PatchGAN D_A and D_B (models.cyclegan)
    "cyclegan": Family(CycleGANSettings, build_cyclegan, "cycle"),
    # Donahue et al. 2017 (BiGAN; ALI): G and an encoder E against a joint D(x, z)
    "bigan": Family(BiGANSettings, build_bigan, "bidirectional", build_bigan_encoder),
}


def family(name: str) -> Family:
    """The family registered under ``name``."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(
            f"model.family = {name!r} is not valid; choose one of {', '.join(FAMILIES)}."
        ) from None
