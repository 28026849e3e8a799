"""The conditional adversarial net's MNIST networks (Mirza & Osindero 2014, Section 4.1).

Generator G(z | y): z (100-d, uniform on the unit hypercube) -> 200 ReLU, and y
(one-hot) -> 1000 ReLU; the two joined (1,200 values) -> 1200 ReLU -> 784 sigmoid.

Discriminator D(x | y): x -> maxout 240 units x 5 pieces, and y -> maxout 50 x 5;
the two joined (290 values) -> maxout 240 x 4 -> one logit of P(x is real | y)
(the sigmoid is in the loss).

What the paper leaves open, chosen here:

- Dropout. "Dropout with probability of 0.5 was applied to both the generator and
  discriminator", without saying where. Here both networks drop each hidden layer's
  output (keep 0.5): G after its three ReLU layers, D after its three maxout
  layers. D's image input keeps 0.8, as in the reference config of Goodfellow et
  al. 2014 that these networks extend (``advnets.models.mlp``); the one-hot label
  is never dropped (a dropped label is no label). Each keep probability is a
  constructor argument (1 turns that dropout off). Dropout is inverted (scaled
  by 1/keep in training) and off in evaluation mode, so samples are drawn
  without it.
- Initialisation. Not stated; as the reference config of Goodfellow et al. 2014
  (Pylearn2's ``irange``, ``advnets.models.mlp``): weights ~ U(+-0.05) in G and
  U(+-0.005) in D, biases 0. G's output bias can start at the logit of the mean
  training pixel (:meth:`ConditionalMLPGenerator.set_output_bias`), as there.
- Labels y are integer classes (N,), one-hot inside the networks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from advnets.models.dcgan import DCGANDiscriminator, DCGANGenerator, image_shape
from advnets.models.latent import Generator
from advnets.models.layers import Dropout, Maxout, init_uniform_, one_hot


class ConditionalMLPGenerator(Generator):
    """G(z | y): flat images (N, 784) with pixels in [0, 1]."""

    def __init__(
        self,
        latent_dim: int = 100,
        num_classes: int = 10,
        noise_hidden: int = 200,
        label_hidden: int = 1000,
        joint_hidden: int = 1200,
        data_dim: int = 784,
        hidden_keep: float = 0.5,
        init_range: float = 0.05,
        prior: str = "uniform-01",
    ) -> None:
        super().__init__(latent_dim, prior, (data_dim,), num_classes)
        self.noise = nn.Sequential(nn.Linear(latent_dim, noise_hidden), nn.ReLU())
        self.label = nn.Sequential(nn.Linear(num_classes, label_hidden), nn.ReLU())
        self.joint = nn.Sequential(nn.Linear(noise_hidden + label_hidden, joint_hidden), nn.ReLU())
        self.dropout = Dropout(hidden_keep)
        self.output = nn.Linear(joint_hidden, data_dim)
        init_uniform_(self, init_range)

    def set_output_bias(self, bias: torch.Tensor) -> None:
        """Set the sigmoid output's bias, e.g. to ``mlp.logit_of_mean_pixel`` of the data."""
        with torch.no_grad():
            self.output.bias.copy_(bias)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        y = one_hot(c, self.num_classes, z)
        h = torch.cat([self.dropout(self.noise(z)), self.dropout(self.label(y))], dim=1)
        return torch.sigmoid(self.output(self.dropout(self.joint(h))))


class ConditionalMaxoutDiscriminator(nn.Module):
    """D(x | y): the logit of P(x is real | y), shape (N,), for flat images x (N, 784)."""

    def __init__(
        self,
        num_classes: int = 10,
        data_dim: int = 784,
        image_units: tuple[int, int] = (240, 5),
        label_units: tuple[int, int] = (50, 5),
        joint_units: tuple[int, int] = (240, 4),
        input_keep: float = 0.8,
        hidden_keep: float = 0.5,
        init_range: float = 0.005,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.input_dropout = Dropout(input_keep)
        self.image = Maxout(data_dim, *image_units)
        self.label = Maxout(num_classes, *label_units)
        self.joint = Maxout(image_units[0] + label_units[0], *joint_units)
        self.dropout = Dropout(hidden_keep)
        self.output = nn.Linear(joint_units[0], 1)
        init_uniform_(self, init_range)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        y = one_hot(c, self.num_classes, x)
        image = self.dropout(self.image(self.input_dropout(x.flatten(1))))
        h = torch.cat([image, self.dropout(self.label(y))], dim=1)
        return self.output(self.dropout(self.joint(h))).squeeze(-1)


class ClassSampler(nn.Module):
    """A conditional generator as every tool sees a generator: noise rows in, flat images out.

    A noise row is [z, u]: z from G's prior and one more value u ~ U[0, 1) that picks the
    class, c = F⁻¹(u) for the cumulative class frequencies F of the training set. So samples
    come with labels in proportion to the training set, as the conditional adversarial net's
    Parzen estimate draws them (Mirza & Osindero 2014, Table 1), and a seed fixes both z and
    c. Training passes its labels explicitly (``forward(noise, labels)``), and
    :attr:`fixed_class` (``advnets sample --class``) makes every sample one class.
    """

    def __init__(self, net: Generator, dropout_at_sampling: bool = False) -> None:
        super().__init__()
        self.net = net
        # draw samples with G's dropout on, as part of G's noise (see sample_with_dropout)
        self.dropout_at_sampling = dropout_at_sampling
        # the upper ends of each class's share of [0, 1); a buffer, so checkpoints keep it.
        # Equal shares until set_class_frequencies
        equal = torch.arange(1, net.num_classes + 1, dtype=torch.float32) / net.num_classes
        self.register_buffer("class_cdf", equal)
        self.noise_dim, self.noise = net.latent_dim + 1, net.prior
        self.data_dim = math.prod(net.out_shape)
        self.fixed_class: int | None = None

    def set_class_frequencies(self, counts: torch.Tensor) -> None:
        """Draw classes in proportion to ``counts`` (one per class, e.g. of the training set)."""
        if counts.shape != (self.num_classes,) or counts.min() < 0 or counts.sum() <= 0:
            raise ValueError(f"counts {counts.tolist()} do not fit {self.num_classes} classes.")
        shares = counts.double() / counts.sum()
        self.class_cdf.copy_(shares.cumsum(0))

    @property
    def num_classes(self) -> int:
        return self.net.num_classes

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n noise rows [z, u] (see the class docstring)."""
        z = self.net.sample_latent(n, generator)
        device = generator.device if generator is not None else None
        u = torch.rand(n, 1, generator=generator, device=device).to(z.device)
        return torch.cat([z, u], dim=1)

    def classes_of(self, noise: torch.Tensor) -> torch.Tensor:
        """The class each noise row picks (or :attr:`fixed_class` for all)."""
        if self.fixed_class is not None:
            return torch.full((len(noise),), self.fixed_class, device=noise.device)
        picked = torch.searchsorted(self.class_cdf, noise[:, -1].contiguous(), right=True)
        return picked.clamp_(max=self.num_classes - 1)

    def forward(self, noise: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Flat images (N, C·H·W) of G(z | c), c = ``labels`` or the one each row picks."""
        c = self.classes_of(noise) if labels is None else labels
        if self.training or not self.dropout_at_sampling:
            return self.net(noise[:, :-1], c).flatten(1)
        return self.sample_with_dropout(noise[:, :-1], c)

    def sample_with_dropout(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """G(z | c) with the dropout G was trained with: its masks are part of its noise.

        A G trained with dropout on its hidden layers may never have made an image without
        it; evaluated without (the mean of its units), the conditional net's MNIST samples
        score about 170 nats lower (BENCHMARKS.md). The masks come from a stream seeded by
        the batch's noise, inside a fork of the global random state, so that a seed still
        fixes the samples and sampling never changes what training draws next (the same
        noise row in another batch meets other masks)."""
        devices = [z.device] if z.device.type == "cuda" else []
        seed = int(z.detach().double().abs().sum().item() * 1e6) % (2**63)
        with torch.random.fork_rng(devices=devices, device_type=z.device.type):
            torch.manual_seed(seed)
            self.net.train()
            try:
                return self.net(z, c).flatten(1)
            finally:
                self.net.eval()


@dataclass(frozen=True)
class ConditionalSettings:
    """The model.* settings of the cgan-mlp family (meanings in advnets.config)."""

    noise_dim: int
    noise: str
    num_classes: int
    generator_init_range: float
    generator_hidden_keep: float
    generator_sampling_dropout: bool
    discriminator_init_range: float
    discriminator_input_keep: float
    discriminator_hidden_keep: float


def build_cgan_mlp(
    settings: ConditionalSettings, data_dim: int, pixel_means_logit: torch.Tensor | None
) -> tuple[ClassSampler, ConditionalMaxoutDiscriminator]:
    """The conditional adversarial net's G (behind a :class:`ClassSampler`) and D, with the
    layer sizes of the paper; G's output bias from the data's pixel means if given."""
    generator = ConditionalMLPGenerator(
        latent_dim=settings.noise_dim,
        num_classes=settings.num_classes,
        data_dim=data_dim,
        hidden_keep=settings.generator_hidden_keep,
        init_range=settings.generator_init_range,
        prior=settings.noise,
    )
    if pixel_means_logit is not None:
        generator.set_output_bias(pixel_means_logit)
    discriminator = ConditionalMaxoutDiscriminator(
        num_classes=settings.num_classes,
        data_dim=data_dim,
        input_keep=settings.discriminator_input_keep,
        hidden_keep=settings.discriminator_hidden_keep,
        init_range=settings.discriminator_init_range,
    )
    return ClassSampler(generator, settings.generator_sampling_dropout), discriminator


@dataclass(frozen=True)
class AuxiliaryClassifierSettings:
    """The model.* settings of the acgan family (meanings in advnets.config)."""

    noise_dim: int
    noise: str
    base_channels: int
    dcgan_hidden: int
    num_classes: int


def build_acgan(
    settings: AuxiliaryClassifierSettings, data_dim: int, pixel_means_logit: torch.Tensor | None
) -> tuple[ClassSampler, DCGANDiscriminator]:
    """AC-GAN with DCGAN's networks (advnets.models.dcgan): G(z, c) behind a
    :class:`ClassSampler`, and D with its class head; the pixel means are not used."""
    shape = image_shape(data_dim)
    channels, classes, hidden = settings.base_channels, settings.num_classes, settings.dcgan_hidden
    generator = DCGANGenerator(shape, settings.noise_dim, channels, settings.noise, classes, hidden)
    discriminator = DCGANDiscriminator(shape, channels, classes, hidden)
    return ClassSampler(generator), discriminator
