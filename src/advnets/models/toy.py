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

``model.toy_layers = pacgan`` builds the networks of PacGAN's 2-D experiments instead
(Lin et al. 2018, NeurIPS): G of ReLU layers with batch normalisation, D of maxout layers,
weights ~ N(0, 0.02²) and biases 0 as in their released code.
D may judge packs of m points (``model.discriminator_pack``, m x d inputs; the game forms
the packs) and may see the minibatch standard deviation of its last hidden layer
(``model.discriminator_minibatch_std``, :func:`advnets.models.mlp.minibatch_std`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn

from advnets.models.latent import sample_latent
from advnets.models.layers import Maxout
from advnets.models.mlp import minibatch_std

PACGAN_INIT_STD = 0.02  # the weights' std in PacGAN's 2-D experiments
# their batch normalisation's population statistics move 5% of the way to each minibatch's
# (PyTorch's default momentum is 10%); samples are drawn with the population statistics
PACGAN_BATCHNORM_MOMENTUM = 0.05


def _hidden_layers(
    sizes: list[int],
    activation: Callable[[], nn.Module],
    batchnorm_momentum: float | None = None,
) -> nn.Sequential:
    """Linear + activation for each consecutive pair of ``sizes``, with batch normalisation
    between them (of this momentum) where ``batchnorm_momentum`` is given."""
    layers: list[nn.Module] = []
    for width_in, width_out in pairwise(sizes):
        norm = []
        if batchnorm_momentum is not None:
            norm = [nn.BatchNorm1d(width_out, momentum=batchnorm_momentum)]
        # batch normalisation has the bias, if there is one
        layers += [nn.Linear(width_in, width_out, bias=not norm), *norm, activation()]
    return nn.Sequential(*layers)


def _maxout_layers(sizes: list[int], pieces: int) -> nn.Sequential:
    """A maxout layer of ``pieces`` pieces for each consecutive pair of ``sizes``."""
    return nn.Sequential(*(Maxout(a, b, pieces) for a, b in pairwise(sizes)))


class ToyGenerator(nn.Module):
    """G(z) = W h(z) + b (+ A z with ``skip``): SiLU hidden layers h, output in R^d
    (``layers = "pacgan"``: ReLU hidden layers with batch normalisation).

    The linear path A z keeps every G able to reach the affine map that carries
    Gaussian noise onto a Gaussian; without it a G whose units saturate maps a
    whole tail of z to one point and p_g gets a hard edge.
    """

    def __init__(
        self,
        noise_dim: int,
        hidden: tuple[int, ...],
        data_dim: int,
        noise: str,
        skip: bool,
        layers: str = "smooth",
    ):
        super().__init__()
        self.noise_dim, self.data_dim, self.noise = noise_dim, data_dim, noise
        if layers == "pacgan":
            self.hidden = _hidden_layers(
                [noise_dim, *hidden], nn.ReLU, batchnorm_momentum=PACGAN_BATCHNORM_MOMENTUM
            )
        else:
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
    """D(x): leaky-ReLU hidden layers (``layers = "pacgan"``: maxout layers of ``pieces``
    pieces); returns the logit of P(x is real).

    With ``pack`` = m > 1 its input is m points side by side (m x ``data_dim`` values) and
    its logit is that of P(all m are real), PacGAN's packed discriminator (Lin et al. 2018).
    With ``minibatch_std`` > 0 the output layer also sees the minibatch standard deviation
    of the last hidden layer over groups of that many inputs (Karras et al. 2018).
    """

    def __init__(
        self,
        data_dim: int,
        hidden: tuple[int, ...],
        layers: str = "smooth",
        pieces: int = 5,
        pack: int = 1,
        minibatch_std: int = 0,
    ):
        super().__init__()
        self.pack, self.minibatch_std = pack, minibatch_std
        sizes = [data_dim * pack, *hidden]
        if layers == "pacgan":
            self.hidden = _maxout_layers(sizes, pieces)
        else:
            self.hidden = _hidden_layers(sizes, lambda: nn.LeakyReLU(0.2))
        self.output = nn.Linear(hidden[-1] + (1 if minibatch_std else 0), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.hidden(x)
        if self.minibatch_std:
            h = torch.cat([h, minibatch_std(h, self.minibatch_std)[:, None]], dim=1)
        return self.output(h).squeeze(-1)


@dataclass(frozen=True)
class ToySettings:
    """The model.* settings of the mlp-toy family (meanings in advnets.config)."""

    noise_dim: int
    noise: str
    generator_hidden: list[int]
    generator_skip: bool
    toy_layers: str
    discriminator_units: list[int]
    discriminator_pieces: int
    discriminator_pack: int
    discriminator_minibatch_std: int


def build_mlp_toy(
    settings: ToySettings, data_dim: int, pixel_means_logit: torch.Tensor | None = None
) -> tuple[ToyGenerator, ToyDiscriminator]:
    """Small MLPs for points (there are no pixel means to start from)."""
    generator = ToyGenerator(
        settings.noise_dim,
        tuple(settings.generator_hidden),
        data_dim,
        settings.noise,
        settings.generator_skip,
        settings.toy_layers,
    )
    discriminator = ToyDiscriminator(
        data_dim,
        tuple(settings.discriminator_units),
        settings.toy_layers,
        settings.discriminator_pieces,
        settings.discriminator_pack,
        settings.discriminator_minibatch_std,
    )
    if settings.toy_layers == "pacgan":
        for module in (*generator.modules(), *discriminator.modules()):
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=PACGAN_INIT_STD)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
    return generator, discriminator
