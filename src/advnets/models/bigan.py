"""BiGAN's networks (Donahue, Krähenbühl & Darrell 2017, "Adversarial feature learning";
ALI, Dumoulin et al. 2017, is the same game): G(z), an encoder E(x) and a joint D(x, z).

For their permutation-invariant MNIST experiments every network is an MLP of 1024-unit
hidden layers with batch normalisation and leaky ReLUs (slope 0.2), and z is 50-d uniform on
[-1, 1]. Here, following that setup where it is stated:

- G: the paper's MLP generator (``models.mlp.MLPGenerator``) with batch normalisation before
  each hidden ReLU, sigmoid output whose bias starts at the logit of the mean pixel;
- E: x -> [linear, batch norm (not on the first layer), leaky ReLU 0.2] per hidden layer ->
  a code of ``noise_dim`` values, squashed into the support of a uniform prior (a scaled
  sigmoid: tanh(h / 2) for U[-1, 1]; unbounded for a Gaussian prior). The paper does not say
  how its encoder's output meets the prior's bounds; left unbounded, 57% of E's codes lay
  outside [-1, 1] after the quick preset's 5 epochs, where no fake pair's code lies, and D
  told the pairs apart by that alone (BENCHMARKS.md);
- D: the pair (x, z) concatenated -> [linear, batch norm (not on the first layer), leaky
  ReLU 0.2] per hidden layer -> the logit of P((x, z) comes from (x, E(x))).

Weights are initialised as DCGAN's (N(0, 0.02), batch-norm scales N(1, 0.02), biases 0;
``models.dcgan.init_dcgan_``): our choice, as the paper does not state its initialisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from advnets.models.dcgan import init_dcgan_
from advnets.models.latent import UNIFORM_BOUNDS
from advnets.models.mlp import MLPGenerator

LEAK = 0.2  # the leaky ReLUs' slope for negative inputs (Donahue et al. 2017)


def leaky_mlp(width: int, hidden: list[int], out: int) -> nn.Sequential:
    """width -> [linear, batch norm except on the first layer, leaky ReLU] per hidden size ->
    linear ``out``."""
    layers: list[nn.Module] = []
    for index, size in enumerate(hidden):
        normalised = index > 0
        layers.append(nn.Linear(width, size, bias=not normalised))
        if normalised:  # the normalisation's shift replaces the layer's bias
            layers.append(nn.BatchNorm1d(size))
        layers.append(nn.LeakyReLU(LEAK))
        width = size
    layers.append(nn.Linear(width, out))
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """E(x): a code z of ``noise_dim`` values for each flat image (the inference network),
    within the support of the ``prior`` (``models.latent``)."""

    def __init__(self, data_dim: int, hidden: list[int], noise_dim: int, prior: str) -> None:
        super().__init__()
        self.data_dim, self.noise_dim = data_dim, noise_dim
        self.net = leaky_mlp(data_dim, hidden, noise_dim)
        self.bounds = UNIFORM_BOUNDS.get(prior)  # None: a Gaussian prior, codes unbounded

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.net(x)
        if self.bounds is None:
            return h
        low, high = self.bounds
        return low + (high - low) * torch.sigmoid(h)


class JointDiscriminator(nn.Module):
    """D(x, z): the logit of P((x, z) is a real image with its code E(x))."""

    def __init__(self, data_dim: int, hidden: list[int], noise_dim: int) -> None:
        super().__init__()
        self.net = leaky_mlp(data_dim + noise_dim, hidden, 1)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, z], dim=1)).squeeze(-1)


@dataclass(frozen=True)
class BiGANSettings:
    """The model.* settings of the bigan family (meanings in advnets.config)."""

    noise_dim: int
    noise: str
    generator_hidden: list[int]
    encoder_hidden: list[int]
    discriminator_units: list[int]


def build_bigan(
    settings: BiGANSettings, data_dim: int, pixel_means_logit: torch.Tensor | None
) -> tuple[MLPGenerator, JointDiscriminator]:
    """G and the joint D; G's output bias from the data's pixel means if given."""
    generator = MLPGenerator(
        noise_dim=settings.noise_dim,
        hidden=tuple(settings.generator_hidden),
        data_dim=data_dim,
        noise=settings.noise,
        batchnorm=True,
    )
    init_dcgan_(generator)
    if pixel_means_logit is not None:
        generator.set_output_bias(pixel_means_logit)
    discriminator = JointDiscriminator(data_dim, settings.discriminator_units, settings.noise_dim)
    init_dcgan_(discriminator)
    return generator, discriminator


def build_bigan_encoder(settings: BiGANSettings, data_dim: int) -> Encoder:
    """E, freshly initialised."""
    encoder = Encoder(data_dim, settings.encoder_hidden, settings.noise_dim, settings.noise)
    init_dcgan_(encoder)
    return encoder
