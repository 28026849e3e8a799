"""Small MLPs for the theory lab's points (1-D and 2-D data).

Not the paper's MNIST networks: G maps z through SiLU hidden layers to an
unbounded linear output (points, not pixels). SiLU is smooth, so p_g has no
jumps from kinks (ReLU), and it saturates on one side only (tanh on both),
which keeps D* = p_data/(p_data + p_g) mostly within reach of a smooth D; a G
that drives its hidden units into SiLU's flat side can still give p_g a hard
edge, where D* jumps, unless a linear path z -> A z keeps its tails alive
(``model.generator_skip``, on in the 1-D preset). D is a plain MLP of leaky-ReLU
layers ending in one logit, without dropout, so that with G frozen it can be
trained to the optimum D* of Proposition 1. PyTorch's default initialisation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn

from advnets.models.latent import sample_latent


def _hidden_layers(sizes: list[int], activation: Callable[[], nn.Module]) -> nn.Sequential:
    """Linear + activation for each consecutive pair of ``sizes``."""
    layers: list[nn.Module] = []
    for width_in, width_out in pairwise(sizes):
        layers += [nn.Linear(width_in, width_out), activation()]
    return nn.Sequential(*layers)


class ToyGenerator(nn.Module):
    """G(z) = W h(z) + b (+ A z with ``skip``): SiLU hidden layers h, output in R^d.

    The linear path A z keeps every G able to reach the affine map that carries
    Gaussian noise onto a Gaussian; without it a G whose units saturate maps a
    whole tail of z to one point and p_g gets a hard edge.
    """

    def __init__(
        self, noise_dim: int, hidden: tuple[int, ...], data_dim: int, noise: str, skip: bool
    ):
        super().__init__()
        self.noise_dim, self.data_dim, self.noise = noise_dim, data_dim, noise
        self.hidden = _hidden_layers([noise_dim, *hidden], nn.SiLU)
        self.output = nn.Linear(hidden[-1], data_dim)
        self.skip = nn.Linear(noise_dim, data_dim, bias=False) if skip else None

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw n noise vectors from this generator's prior p_z."""
        return sample_latent(n, self.noise_dim, self.noise, generator).to(self.output.weight.device)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.output(self.hidden(z))
        return x if self.skip is None else x + self.skip(z)


class ToyDiscriminator(nn.Module):
    """D(x): leaky-ReLU hidden layers; returns the logit of P(x is real)."""

    def __init__(self, data_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.hidden = _hidden_layers([data_dim, *hidden], lambda: nn.LeakyReLU(0.2))
        self.output = nn.Linear(hidden[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.hidden(x)).squeeze(-1)


@dataclass(frozen=True)
class ToySettings:
    """The model.* settings of the mlp-toy family (meanings in advnets.config)."""

    noise_dim: int
    noise: str
    generator_hidden: list[int]
    generator_skip: bool
    discriminator_units: list[int]


def build_mlp_toy(
    settings: ToySettings, data_dim: int, pixel_means_logit: torch.Tensor | None = None
) -> tuple[ToyGenerator, ToyDiscriminator]:
    """Small SiLU MLPs for points (there are no pixel means to start from)."""
    generator = ToyGenerator(
        settings.noise_dim,
        tuple(settings.generator_hidden),
        data_dim,
        settings.noise,
        settings.generator_skip,
    )
    return generator, ToyDiscriminator(data_dim, tuple(settings.discriminator_units))
