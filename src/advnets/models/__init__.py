"""Generators and discriminators, built from a run's model config."""

from __future__ import annotations

import torch

from advnets import limits
from advnets.config import ModelConfig
from advnets.models.mlp import MaxoutDiscriminator, MLPGenerator
from advnets.models.toy import ToyDiscriminator, ToyGenerator


def build_models(
    config: ModelConfig, data_dim: int, pixel_means_logit: torch.Tensor | None = None
) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The generator and discriminator a model config describes, freshly initialised.

    Refused with LimitError, before any weight is allocated, if training them would need
    more memory than is available.
    """
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        shapes = _build(config, data_dim, None)
    count = sum(count_parameters(module) for module in shapes)
    limits.check_memory(
        f"the model ({count:,} parameters)", count * limits.TRAINING_BYTES_PER_PARAMETER
    )
    return _build(config, data_dim, pixel_means_logit)


def _build(
    config: ModelConfig, data_dim: int, pixel_means_logit: torch.Tensor | None
) -> tuple[torch.nn.Module, torch.nn.Module]:
    if config.family == "mlp-toy":
        return (
            ToyGenerator(
                config.noise_dim,
                tuple(config.generator_hidden),
                data_dim,
                config.noise,
                config.generator_skip,
            ),
            ToyDiscriminator(data_dim, tuple(config.discriminator_units)),
        )
    generator = MLPGenerator(
        noise_dim=config.noise_dim,
        hidden=tuple(config.generator_hidden),
        data_dim=data_dim,
        init_range=config.generator_init_range,
        noise=config.noise,
        batchnorm=config.generator_batchnorm,
    )
    if pixel_means_logit is not None:
        generator.set_output_bias(pixel_means_logit)
    discriminator = MaxoutDiscriminator(
        data_dim=data_dim,
        units=tuple(config.discriminator_units),
        pieces=config.discriminator_pieces,
        init_range=config.discriminator_init_range,
        input_keep=config.discriminator_input_keep,
        hidden_keep=config.discriminator_hidden_keep,
        minibatch_std=config.discriminator_minibatch_std,
    )
    return generator, discriminator


def count_parameters(module: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


__all__ = [
    "MLPGenerator",
    "MaxoutDiscriminator",
    "ToyDiscriminator",
    "ToyGenerator",
    "build_models",
    "count_parameters",
]
