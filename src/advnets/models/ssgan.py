"""The semi-supervised GAN's MNIST networks (Salimans et al. 2016, "Improved techniques for
training GANs", Sections 3.1 and 5; their code improved-gan,
mnist_svhn_cifar10/train_mnist_feature_matching.py).

Generator: z (100-d, uniform on [0, 1]) -> 500 softplus -> 500 softplus -> 784 sigmoid, as
their code builds it: batch normalisation before each softplus with a learned shift and no
scale (their ``nn.batch_norm(..., g=None)``, epsilon 1e-6), the hidden weights Glorot-uniform
(Lasagne's ``DenseLayer`` default), the output layer weight-normalised with a learned length g
(their ``nn.l2normalize``) and a bias starting at 0.

Discriminator: a classifier of K classes. Gaussian noise (sigma 0.3) on the input, then
weight-normalised (Salimans & Kingma 2016) ReLU layers of 1000, 500, 250, 250, 250 units, each
output given Gaussian noise (sigma 0.5), and a weight-normalised linear layer of K logits
l_1 .. l_K. The K+1-th class, "generated", has its logit fixed at 0 (Section 5), so

    D(x) = P(real | x) = Z(x) / (Z(x) + 1),  Z(x) = sum_k exp l_k(x),

the sigmoid of log Z(x). The noise is on in training only; in evaluation D is the classifier
argmax_k l_k(x). The directions v start ~ N(0, 0.1²) (their MNIST ``DenseLayer``'s theta); as
Adam steps each coordinate by about the learning rate whatever its size, this scale sets how
fast the directions turn. Every weight-normalised layer of D is initialised from data as in
their code (:meth:`SemiSupervisedDiscriminator.initialise_from`): each unit's pre-activation
has mean 0 and standard deviation 1 on a batch of training images passed through D with its
noise on. As in their code the lengths g then stay fixed in the hidden layers (their
``DenseLayer``'s ``train_scale=False``), so D cannot grow its activations out of reach of the
noise; the output layer learns its g (``train_scale=True``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from advnets.models.layers import GaussianNoise
from advnets.models.mlp import MLPGenerator

V_STD = 0.1  # D's directions v ~ N(0, 0.1²) (their MNIST DenseLayer's theta=Normal(0.1))
BATCHNORM_EPS = 1e-6  # their BatchNormLayer's sqrt(1e-6 + var)


class WeightNormLinear(nn.Linear):
    """A linear layer with weights w = g v / ‖v‖ per output unit (Salimans & Kingma 2016):
    ``weight`` holds the directions v (~ N(0, V_STD²)), ``scale`` the lengths g (1 at first;
    learned only with ``train_scale``, as their code's layers), ``bias`` b (0)."""

    def __init__(self, inputs: int, outputs: int, train_scale: bool = False) -> None:
        super().__init__(inputs, outputs)
        self.scale = nn.Parameter(torch.ones(outputs), requires_grad=train_scale)
        nn.init.normal_(self.weight, 0.0, V_STD)
        nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lengths = self.scale / self.weight.norm(dim=1)
        return F.linear(x, self.weight * lengths[:, None], self.bias)


class SemiSupervisedDiscriminator(nn.Module):
    """The K+1-class D: ``forward(x)`` gives the K class logits (N, K);
    ``forward(x, with_features=True)`` also the last hidden layer (N, 250), before its noise,
    the layer G's feature matching compares (their code's ``layers[-3]``)."""

    def __init__(
        self,
        data_dim: int = 784,
        units: tuple[int, ...] = (1000, 500, 250, 250, 250),
        num_classes: int = 10,
        input_noise: float = 0.3,
        hidden_noise: float = 0.5,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        layers: list[nn.Module] = [GaussianNoise(input_noise)]
        width = data_dim
        for index, size in enumerate(units):
            if index:
                layers.append(GaussianNoise(hidden_noise))
            layers += [WeightNormLinear(width, size), nn.ReLU()]
            width = size
        self.hidden = nn.Sequential(*layers)
        self.output_noise = GaussianNoise(hidden_noise)
        self.output = WeightNormLinear(width, num_classes, train_scale=True)

    def forward(self, x: torch.Tensor, with_features: bool = False):
        features = self.hidden(x)
        logits = self.output(self.output_noise(features))
        return (features, logits) if with_features else logits

    @torch.no_grad()
    def initialise_from(self, images: torch.Tensor) -> None:
        """Data-dependent initialisation (Salimans & Kingma 2016, Section 3; their code runs
        it once on 500 training images, ``get_output(..., deterministic=False, init=True)``):
        layer by layer, in D's current mode (training: the noise on, as theirs), set g and the
        bias so that each unit's pre-activation has mean 0 and standard deviation 1 (over the
        batch, as theirs: the root mean square about the mean) on ``images``."""
        h = images
        for layer in [*self.hidden, self.output_noise, self.output]:
            if isinstance(layer, WeightNormLinear):
                layer.scale.fill_(1.0)
                layer.bias.zero_()
                out = layer(h)
                mean = out.mean(dim=0)
                std = out.std(dim=0, unbiased=False).clamp(min=1e-8)
                layer.scale.copy_(1 / std)
                layer.bias.copy_(-mean / std)
            h = layer(h)


class SemiSupervisedGenerator(MLPGenerator):
    """Their MNIST G (module docstring): the MLP generator's softplus layers with batch norm,
    the norm's scale fixed at 1 (a shift only), Glorot-uniform weights and a weight-normalised
    sigmoid output layer."""

    def __init__(self, noise_dim: int, hidden: tuple[int, ...], data_dim: int, noise: str) -> None:
        super().__init__(
            noise_dim, hidden, data_dim, noise=noise, batchnorm=True, activation=nn.Softplus
        )
        self.output = WeightNormLinear(self.output.in_features, data_dim, train_scale=True)
        for layer in self.modules():
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
            elif isinstance(layer, nn.BatchNorm1d):
                layer.eps = BATCHNORM_EPS
                layer.weight.requires_grad_(False)


def realness_logit(class_logits: torch.Tensor) -> torch.Tensor:
    """log Z(x) = logsumexp_k l_k(x): the logit of D(x) = Z / (Z + 1) (Section 5)."""
    return torch.logsumexp(class_logits, dim=1)


@dataclass(frozen=True)
class SemiSupervisedSettings:
    """The model.* settings of the ssgan-mlp family (meanings in advnets.config)."""

    noise_dim: int
    noise: str
    generator_hidden: list[int]
    discriminator_units: list[int]
    num_classes: int
    discriminator_input_noise: float
    discriminator_hidden_noise: float


def build_ssgan_mlp(
    settings: SemiSupervisedSettings, data_dim: int, pixel_means_logit: torch.Tensor | None
) -> tuple[SemiSupervisedGenerator, SemiSupervisedDiscriminator]:
    """Salimans et al.'s MNIST G and K+1-class D (D's weights before the data-dependent step,
    which the game takes with the training images). G's output bias starts at 0, as theirs,
    not at ``pixel_means_logit``."""
    generator = SemiSupervisedGenerator(
        noise_dim=settings.noise_dim,
        hidden=tuple(settings.generator_hidden),
        data_dim=data_dim,
        noise=settings.noise,
    )
    discriminator = SemiSupervisedDiscriminator(
        data_dim=data_dim,
        units=tuple(settings.discriminator_units),
        num_classes=settings.num_classes,
        input_noise=settings.discriminator_input_noise,
        hidden_noise=settings.discriminator_hidden_noise,
    )
    return generator, discriminator
