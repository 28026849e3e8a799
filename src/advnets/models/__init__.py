"""Generators and discriminators, built from a run's model config."""

from __future__ import annotations

import torch

from advnets import limits
from advnets.config import ModelConfig
from advnets.models.mlp import MaxoutDiscriminator, MLPGenerator
from advnets.models.registry import family
from advnets.models.toy import ToyDiscriminator, ToyGenerator


def build_models(
    config: ModelConfig, data_dim: int, pixel_means_logit: torch.Tensor | None = None
) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """The generator and discriminator (None for a family trained without one) a model config
    describes, freshly initialised.

    Refused with LimitError, before any weight is allocated, if training them would need
    more memory than is available.
    """
    count = model_parameters(config, data_dim)
    limits.check_memory(
        f"the model ({count:,} parameters)", count * limits.TRAINING_BYTES_PER_PARAMETER
    )
    chosen = family(config.family)
    return chosen.build(chosen.section(config), data_dim, pixel_means_logit)


def build_encoder(config: ModelConfig, data_dim: int) -> torch.nn.Module | None:
    """The encoder E(x) of a family that learns one with G (BiGAN's), freshly initialised;
    None for the others."""
    chosen = family(config.family)
    if chosen.encoder is None:
        return None
    return chosen.encoder(chosen.section(config), data_dim)


def model_parameters(config: ModelConfig, data_dim: int) -> int:
    """Trainable parameters of G and D together (and of E, where the family has one), counted
    without allocating them."""
    chosen = family(config.family)
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        shapes = chosen.build(chosen.section(config), data_dim, None)
        encoder = build_encoder(config, data_dim)
    return sum(count_parameters(module) for module in (*shapes, encoder) if module is not None)


def count_parameters(module: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


__all__ = [
    "MLPGenerator",
    "MaxoutDiscriminator",
    "ToyDiscriminator",
    "ToyGenerator",
    "build_encoder",
    "build_models",
    "count_parameters",
    "model_parameters",
]
