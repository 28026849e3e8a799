"""The paper's MNIST networks (Goodfellow et al. 2014, Section 5 and its reference config).

Generator: z (100-d, uniform on [-sqrt 3, sqrt 3]) -> 1200 ReLU -> 1200 ReLU ->
784 sigmoid; weights ~ U(+-0.05); the output bias is the logit of each pixel's
mean training value. 2,503,984 parameters. Not in the paper, an option: batch
normalisation (Ioffe & Szegedy 2015) before each hidden ReLU, as DCGAN's
generator has (Radford et al. 2016); it keeps G's samples apart from its first
updates, where the paper's G collapses onto a few shapes for several epochs.

Discriminator: x (784) -> maxout 240x5 -> maxout 240x5 -> 1 sigmoid; weights
~ U(+-0.005); dropout with keep probability 0.8 on the input and 0.5 on each
hidden layer (inverted scaling). 1,231,441 parameters. It returns logits;
D(x) = sigmoid(logit).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from advnets.models.latent import sample_latent
from advnets.models.layers import Dropout, Maxout, init_uniform_


def logit_of_mean_pixel(images: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Per-pixel logit of the mean training image, clipped away from 0 and 1.

    The paper's generator starts from this output bias (Pylearn2's
    ``init_sigmoid_bias_from_marginals``), so G's first samples already match
    the data's marginal pixel means.
    """
    mean = images.double().mean(dim=0).clamp(eps, 1 - eps)
    return torch.log(mean / (1 - mean)).float()


class MLPGenerator(nn.Module):
    """G(z; theta_g): ReLU hidden layers (or another ``activation``'s) and a sigmoid output
    in [0, 1]."""

    def __init__(
        self,
        noise_dim: int = 100,
        hidden: tuple[int, ...] = (1200, 1200),
        data_dim: int = 784,
        init_range: float = 0.05,
        noise: str = "uniform",
        batchnorm: bool = False,
        activation: type[nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.data_dim = data_dim
        self.noise = noise
        layers: list[nn.Module] = []
        width = noise_dim
        for size in hidden:
            if batchnorm:  # the normalisation's shift replaces the layer's bias
                layers += [nn.Linear(width, size, bias=False), nn.BatchNorm1d(size), activation()]
            else:
                layers += [nn.Linear(width, size), activation()]
            width = size
        self.hidden = nn.Sequential(*layers)
        self.output = nn.Linear(width, data_dim)
        init_uniform_(self, init_range)

    def set_output_bias(self, bias: torch.Tensor) -> None:
        """Set the sigmoid output's bias, e.g. to :func:`logit_of_mean_pixel` of the data."""
        with torch.no_grad():
            self.output.bias.copy_(bias)

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw n noise vectors from this generator's prior p_z."""
        return sample_latent(n, self.noise_dim, self.noise, generator).to(self.output.weight.device)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.output(self.hidden(z)))


def minibatch_std(features: torch.Tensor, group: int) -> torch.Tensor:
    """Minibatch standard deviation (Karras et al. 2018, Section 3), one value per sample.

    Consecutive groups of ``group`` samples: the standard deviation of each feature
    over the group, averaged over features, given to every member of the group. A
    generator that collapses gives groups of near-identical fakes, and so a spread
    near 0 that real groups never have. Groups are consecutive, so a batch of real
    images followed by fakes never mixes the two if each part divides into groups.
    """
    n, width = features.shape
    if n % group:
        raise ValueError(f"a batch of {n} does not divide into minibatch groups of {group}.")
    grouped = features.view(n // group, group, width)
    spread = (grouped.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=1)
    return spread.repeat_interleave(group)


class MaxoutDiscriminator(nn.Module):
    """D(x; theta_d): maxout layers with dropout; returns the logit of P(x is real).

    With ``minibatch_std`` > 0 (not in the paper) the output layer also sees the
    minibatch standard deviation of the last hidden layer over groups of that many
    samples (:func:`minibatch_std`), as one more input.
    """

    def __init__(
        self,
        data_dim: int = 784,
        units: tuple[int, ...] = (240, 240),
        pieces: int = 5,
        init_range: float = 0.005,
        input_keep: float = 0.8,
        hidden_keep: float = 0.5,
        minibatch_std: int = 0,
    ) -> None:
        super().__init__()
        self.minibatch_std = minibatch_std
        layers: list[nn.Module] = [Dropout(input_keep)]
        width = data_dim
        for size in units:
            layers += [Maxout(width, size, pieces), Dropout(hidden_keep)]
            width = size
        self.features = nn.Sequential(*layers)
        self.output = nn.Linear(width + (1 if minibatch_std else 0), 1)
        init_uniform_(self, init_range)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        if self.minibatch_std:
            h = torch.cat([h, minibatch_std(h, self.minibatch_std)[:, None]], dim=1)
        return self.output(h).squeeze(-1)


@dataclass(frozen=True)
class MaxoutSettings:
    """The model.* settings of the mlp-maxout family (meanings in advnets.config)."""

    noise_dim: int
    noise: str
    generator_hidden: list[int]
    generator_init_range: float
    generator_batchnorm: bool
    discriminator_units: list[int]
    discriminator_pieces: int
    discriminator_init_range: float
    discriminator_input_keep: float
    discriminator_hidden_keep: float
    discriminator_minibatch_std: int
    max_col_norm: float | None  # a limit the game applies after each update (games.optim)


def build_mlp_maxout(
    settings: MaxoutSettings, data_dim: int, pixel_means_logit: torch.Tensor | None
) -> tuple[MLPGenerator, MaxoutDiscriminator]:
    """The paper's G and maxout D; G's output bias from the data's pixel means if given."""
    generator = MLPGenerator(
        noise_dim=settings.noise_dim,
        hidden=tuple(settings.generator_hidden),
        data_dim=data_dim,
        init_range=settings.generator_init_range,
        noise=settings.noise,
        batchnorm=settings.generator_batchnorm,
    )
    if pixel_means_logit is not None:
        generator.set_output_bias(pixel_means_logit)
    discriminator = MaxoutDiscriminator(
        data_dim=data_dim,
        units=tuple(settings.discriminator_units),
        pieces=settings.discriminator_pieces,
        init_range=settings.discriminator_init_range,
        input_keep=settings.discriminator_input_keep,
        hidden_keep=settings.discriminator_hidden_keep,
        minibatch_std=settings.discriminator_minibatch_std,
    )
    return generator, discriminator
