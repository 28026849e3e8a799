"""DCGAN's networks (Radford, Metz & Chintala 2016, Section 3 and Figure 1), sized for small images.

Generator: z -> linear projection -> batch norm, ReLU -> reshaped to (c0, s, s) ->
transposed convolutions (kernel 4, stride 2, padding 1: each doubles the side) with
batch norm and ReLU -> the last one to C channels -> sigmoid. The start grid s is
the side halved until it is odd or at most 7: 28 -> 7 (two up-samplings) and 32 -> 4
(three), the 4x4 start of the paper's own generator (an 8x8 start would save a
layer, but the mirrored D would then end on 8x8 features that each see only 10x10
pixels, against 22x22 with three layers); 28 = 7·2² cannot be reached from 4 by
doubling. Channels halve at each doubling, ending at ``base_channels`` before the
output layer. As in the authors' code, the projection's batch norm normalises each
of its outputs.

Output: images of shape (N, C, H, W) with pixels in [0, 1], the project's
pixel range, through a sigmoid (the paper uses tanh on [-1, 1];
sigmoid(2a) = (1 + tanh a)/2, the same map rescaled).

Discriminator: the mirror image. Strided convolutions (kernel 4, stride 2,
padding 1: each halves the side; no pooling), LeakyReLU with slope 0.2 after
each, batch norm on every convolution but the first, channels doubling from
``base_channels``; then the flattened features -> one logit of P(x is real).
It takes (N, C, H, W) or flat (N, C·H·W) images. In training mode its batch
norm normalises over the batch it is given; the authors' code calls D on the
real and on the fake minibatch separately, so neither half's statistics leak
into the other's.

AC-GAN (Odena, Olah & Shlens 2017, Section 3): with ``num_classes`` K > 0 the
generator also takes class labels c, one-hot and concatenated to z (their
generator's 110-d input: 100 noise + 10 classes), and the discriminator has a
second linear head on the same features giving K class logits; it then returns
(logit, class logits).

With ``hidden`` > 0 (``model.dcgan_hidden``), both nets gain a fully connected layer of that
many units with batch norm, as in the authors' MNIST code (dcgan_code, mnist/: 1024 units):
in G between z and the projection (ReLU), in D between the convolutions and the output
(LeakyReLU 0.2). The paper's own nets are all-convolutional (0, the default).

Initialisation: every convolution, transposed convolution and linear weight
~ N(0, 0.02) (Section 4); batch-norm scales ~ N(1, 0.02) and all biases 0 (the
authors' code, which the paper does not spell out). A
bias exists only where no batch norm follows (D's first convolution, both
output layers): the normalisation's shift takes its place.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from advnets.config import ConfigError
from advnets.models.latent import Generator
from advnets.models.layers import one_hot

LEAKY_SLOPE = 0.2  # Section 3: "leaky rectified activation ... slope of the leak was 0.2"
INIT_STD = 0.02  # Section 4: "initialized from a zero-centered Normal distribution ... 0.02"


def start_side(side: int) -> tuple[int, int]:
    """(start side s, number of doublings L) with side = s·2^L: halve while even and over 7."""
    start, doublings = side, 0
    while start % 2 == 0 and start > 7:
        start, doublings = start // 2, doublings + 1
    if doublings == 0:
        raise ValueError(f"DCGAN needs an even image side of at least 8, got {side}.")
    return start, doublings


def _square(shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """(C, H, W) checked to be square; H = W is what start_side sizes for."""
    channels, height, width = shape
    if height != width:
        raise ValueError(f"DCGAN here takes square images, got {height}x{width}.")
    return channels, height, width


def init_dcgan_(module: nn.Module) -> None:
    """DCGAN's initialisation of every layer in ``module``: weights N(0, 0.02) on
    convolutions, transposed convolutions and linear layers; batch-norm scales N(1, 0.02);
    biases 0."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(layer.weight, 0.0, INIT_STD)
        elif isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, INIT_STD)
        else:
            continue
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


def _fully_connected(inputs: int, units: int, activation: nn.Module) -> list[nn.Module]:
    """A fully connected layer of ``units`` with batch norm (no bias: the norm's shift takes
    its place) and ``activation``; none for 0 units."""
    if not units:
        return []
    return [nn.Linear(inputs, units, bias=False), nn.BatchNorm1d(units), activation]


class DCGANGenerator(Generator):
    """G(z) or, with ``num_classes``, G(z, c): images (N, C, H, W) in [0, 1]."""

    def __init__(
        self,
        out_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 100,
        base_channels: int = 32,
        prior: str = "uniform-pm1",
        num_classes: int = 0,
        hidden: int = 0,
    ) -> None:
        super().__init__(latent_dim, prior, _square(out_shape), num_classes)
        channels, side, _ = self.out_shape
        start, doublings = start_side(side)
        width = base_channels * 2 ** (doublings - 1)
        self.start_shape = (width, start, start)
        projected = width * start * start
        inputs = latent_dim + num_classes
        self.project = nn.Sequential(
            *_fully_connected(inputs, hidden, nn.ReLU()),
            *_fully_connected(hidden or inputs, projected, nn.ReLU()),
        )
        layers: list[nn.Module] = []
        for _ in range(doublings - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1), nn.Sigmoid()]
        self.upsample = nn.Sequential(*layers)
        init_dcgan_(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        labels = one_hot(c, self.num_classes, z)
        h = self.project(z if labels is None else torch.cat([z, labels], dim=1))
        return self.upsample(h.view(-1, *self.start_shape))


class DCGANDiscriminator(nn.Module):
    """D(x): the logit of P(x is real), shape (N,); with ``num_classes`` K > 0, the pair
    (logit (N,), class logits (N, K)) of AC-GAN."""

    def __init__(
        self,
        in_shape: tuple[int, int, int] = (1, 28, 28),
        base_channels: int = 32,
        num_classes: int = 0,
        hidden: int = 0,
    ) -> None:
        super().__init__()
        self.in_shape = _square(in_shape)
        self.num_classes = num_classes
        channels, side, _ = self.in_shape
        start, doublings = start_side(side)
        layers: list[nn.Module] = [
            nn.Conv2d(channels, base_channels, 4, stride=2, padding=1),
            nn.LeakyReLU(LEAKY_SLOPE),
        ]
        width = base_channels
        for _ in range(doublings - 1):
            layers += [
                nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(2 * width),
                nn.LeakyReLU(LEAKY_SLOPE),
            ]
            width *= 2
        features = width * start * start
        top = _fully_connected(features, hidden, nn.LeakyReLU(LEAKY_SLOPE))
        self.features = nn.Sequential(*layers, nn.Flatten(), *top)
        features = hidden or features
        self.output = nn.Linear(features, 1)
        self.classes = nn.Linear(features, num_classes) if num_classes else None
        init_dcgan_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x.reshape(-1, *self.in_shape))
        logit = self.output(h).squeeze(-1)
        return logit if self.classes is None else (logit, self.classes(h))


# (C, H, W) by values per image
IMAGE_SHAPES = {
    784: (1, 28, 28),
    1024: (1, 32, 32),
    2352: (3, 28, 28),
    3072: (3, 32, 32),
    4096: (1, 64, 64),
    12288: (3, 64, 64),
}


def image_shape(
    data_dim: int,
    family: str = "dcgan",
    shapes: dict[int, tuple[int, int, int]] = IMAGE_SHAPES,
) -> tuple[int, int, int]:
    """(C, H, W) of the flat images a run of a convolutional ``family`` trains on, told apart
    by the number of values per image: by default 28x28, 32x32 or 64x64 (DCGAN's faces and
    LSUN size), grey or colour; a family with other sizes passes its own ``shapes``."""
    if data_dim not in shapes:
        sizes = ", ".join(f"{d} ({c}x{h}x{w})" for d, (c, h, w) in shapes.items())
        raise ConfigError(
            f"the {family} family trains on images of {sizes} values; this data has {data_dim}."
        )
    return shapes[data_dim]


class FlatImageGenerator(nn.Module):
    """A DCGAN generator as the trainer and the tools see every generator (the paper's
    model's protocol): flat rows (N, C·H·W) in [0, 1], noise from ``sample_noise``."""

    def __init__(self, net: DCGANGenerator) -> None:
        super().__init__()
        self.net = net
        self.noise_dim, self.noise = net.latent_dim, net.prior
        channels, height, width = net.out_shape
        self.data_dim = channels * height * width

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw n noise vectors from this generator's prior p_z."""
        return self.net.sample_latent(n, generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).flatten(1)


@dataclass(frozen=True)
class DCGANSettings:
    """The model.* settings of the dcgan family (meanings in advnets.config)."""

    noise_dim: int
    noise: str
    base_channels: int
    dcgan_hidden: int


def build_dcgan(
    settings: DCGANSettings, data_dim: int, pixel_means_logit: torch.Tensor | None
) -> tuple[FlatImageGenerator, DCGANDiscriminator]:
    """DCGAN's G (taking flat rows out) and D for the images ``data_dim`` values describe
    (:func:`image_shape`); the pixel means are not used (G's output layer is a transposed
    convolution initialised as the paper says)."""
    shape = image_shape(data_dim)
    channels, hidden = settings.base_channels, settings.dcgan_hidden
    generator = DCGANGenerator(shape, settings.noise_dim, channels, settings.noise, hidden=hidden)
    return FlatImageGenerator(generator), DCGANDiscriminator(shape, channels, hidden=hidden)
