"""Small MLPs for the theory lab's points (1-D and 2-D data).

Not the paper's MNIST networks: small MLPs for points, with a smooth leaky
ReLU in every hidden layer of both. For G this matters: a kinked activation
(ReLU) gives p_g jumps and a bounded one (tanh, SiLU, ELU) can give p_g a hard
edge where G's output saturates, and at a jump of p_g the optimum
D* = p_data/(p_data + p_g) jumps too, which no smooth D can reach (measured:
max |D − D*| 0.21–0.44 for a G with such an edge). D ends in one logit and has
no dropout, so that with G frozen it can be trained to the D* of
Proposition 1. PyTorch's default initialisation.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional as F

from advnets.models.mlp import sample_noise


class SmoothLeakyReLU(nn.Module):
    """f(x) = a·x + (1 − a)·softplus(x): smooth, strictly increasing, unbounded both ways.

    Slope a for x → −∞ and 1 for x → +∞, like a leaky ReLU without the kink.
    """

    def __init__(self, negative_slope: float = 0.2) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.negative_slope * x + (1 - self.negative_slope) * F.softplus(x)


def _hidden_layers(sizes: list[int], activation: Callable[[], nn.Module]) -> nn.Sequential:
    """Linear + activation for each consecutive pair of ``sizes``."""
    layers: list[nn.Module] = []
    for width_in, width_out in pairwise(sizes):
        layers += [nn.Linear(width_in, width_out), activation()]
    return nn.Sequential(*layers)


class ToyGenerator(nn.Module):
    """G(z): smooth leaky-ReLU hidden layers, linear output in R^d."""

    def __init__(self, noise_dim: int, hidden: tuple[int, ...], data_dim: int, noise: str):
        super().__init__()
        self.noise_dim, self.data_dim, self.noise = noise_dim, data_dim, noise
        self.hidden = _hidden_layers([noise_dim, *hidden], SmoothLeakyReLU)
        self.output = nn.Linear(hidden[-1], data_dim)

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw n noise vectors from this generator's prior p_z."""
        return sample_noise(n, self.noise_dim, self.noise, generator).to(self.output.weight.device)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.output(self.hidden(z))


class ToyDiscriminator(nn.Module):
    """D(x): smooth leaky-ReLU hidden layers; returns the logit of P(x is real)."""

    def __init__(self, data_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.hidden = _hidden_layers([data_dim, *hidden], SmoothLeakyReLU)
        self.output = nn.Linear(hidden[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.hidden(x)).squeeze(-1)
