"""CycleGAN's networks (Zhu, Park, Isola & Efros 2017, Section 4 and Appendix 7.2).

Generator (Johnson et al. 2016's ResNet, Appendix 7.2): ``c7s1-k, d2k, d4k, R4k x n, u2k,
uk, c7s1-C``, where c7s1-k is a 7x7 convolution of stride 1 with k filters, dk a 3x3
convolution of stride 2, Rk a residual block of two 3x3 convolutions, uk a 3x3 fractionally
strided convolution of stride 1/2; instance normalisation and ReLU after each but the last,
which ends in tanh; reflection padding (the authors' code). Zhu: k = 64, n = 6 at 128x128
and 9 at 256x256 (``model.base_channels``, ``model.residual_blocks``). The side must be a
multiple of 4 (two halvings): 28x28 runs at 7x7 in the middle. Besides DCGAN's sizes
(28x28 to 64x64), Zhu's own 128x128 and 256x256 are taken (``CYCLEGAN_SHAPES``).

Discriminator (70x70 PatchGAN, Appendix 7.2): ``C64-C128-C256-C512`` of 4x4 convolutions,
the first three of stride 2 and without instance norm on the first, LeakyReLU 0.2, then a
4x4 convolution to one value per patch. ``model.patch_layers`` stride-2 layers (3: 70x70
patches; 2: 34x34; 1: 16x16, for small images), channels doubling from ``base_channels``
up to 8x. Its output is one raw score per patch, which the least-squares loss compares with
1 (real) or 0 (fake).

Both take and give flat rows in [0, 1], the project's images, and work inside on [-1, 1]
as the authors' code does. Weights ~ N(0, 0.02), biases 0 (the authors' code).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from advnets.config import ConfigError
from advnets.models.dcgan import IMAGE_SHAPES, LEAKY_SLOPE, image_shape

INIT_STD = 0.02  # the authors' code: weights ~ N(0, 0.02)
MAX_CHANNEL_FACTOR = 8  # PatchGAN's channels stop doubling at 8k (C512 for k = 64)
# DCGAN's image sizes and Zhu et al.'s 128x128 and 256x256, grey or colour
CYCLEGAN_SHAPES = IMAGE_SHAPES | {
    channels * side * side: (channels, side, side) for side in (128, 256) for channels in (1, 3)
}


def _norm_relu(channels: int) -> list[nn.Module]:
    """Instance norm (no affine parameters, the authors' default) and ReLU."""
    return [nn.InstanceNorm2d(channels), nn.ReLU(inplace=True)]


class ResidualBlock(nn.Module):
    """Rk: two 3x3 convolutions with reflection padding and instance norm, ReLU between,
    added to the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            *_norm_relu(channels),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """c7s1-k, d2k, d4k, n x R4k, u2k, uk, c7s1-C: flat images in [0, 1] to flat images."""

    def __init__(self, shape: tuple[int, int, int], base: int, blocks: int) -> None:
        super().__init__()
        channels, height, width = shape
        if height % 4 or width % 4:
            raise ConfigError(
                f"the cyclegan family's generator halves the side twice: it needs a side that "
                f"is a multiple of 4, got {height}x{width}."
            )
        self.shape = shape
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, base, 7)]
        layers += _norm_relu(base)
        for k in (base, 2 * base):  # d2k, d4k
            layers += [nn.Conv2d(k, 2 * k, 3, stride=2, padding=1), *_norm_relu(2 * k)]
        layers += [ResidualBlock(4 * base) for _ in range(blocks)]
        for k in (4 * base, 2 * base):  # u2k, uk
            up = nn.ConvTranspose2d(k, k // 2, 3, stride=2, padding=1, output_padding=1)
            layers += [up, *_norm_relu(k // 2)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(base, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x.reshape(-1, *self.shape) * 2 - 1)
        return ((out + 1) / 2).flatten(1)


class PatchDiscriminator(nn.Module):
    """The PatchGAN: flat images in [0, 1] to (N, patches) raw scores."""

    def __init__(self, shape: tuple[int, int, int], base: int, layers: int) -> None:
        super().__init__()
        channels, height, _ = shape
        side = height
        for _ in range(layers):
            side //= 2
        if side - 2 < 1:  # the two stride-1 4x4 convolutions each take one off the side
            raise ConfigError(
                f"model.patch_layers = {layers} halves {height}x{height} images to nothing; "
                "choose fewer layers."
            )
        self.shape = shape
        stack: list[nn.Module] = [
            nn.Conv2d(channels, base, 4, stride=2, padding=1),
            nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
        ]
        width = base
        for n in range(1, layers + 1):  # stride 2 up to the last, which has stride 1
            out = base * min(2**n, MAX_CHANNEL_FACTOR)
            stride = 2 if n < layers else 1
            stack += [
                nn.Conv2d(width, out, 4, stride=stride, padding=1),
                nn.InstanceNorm2d(out),
                nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
            ]
            width = out
        stack.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*stack)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(-1, *self.shape) * 2 - 1).flatten(1)


class CycleGenerators(nn.Module):
    """G: A -> B (``ab``) and F: B -> A (``ba``); called, G."""

    def __init__(self, shape: tuple[int, int, int], base: int, blocks: int) -> None:
        super().__init__()
        self.ab = ResnetGenerator(shape, base, blocks)
        self.ba = ResnetGenerator(shape, base, blocks)
        self.data_dim = shape[0] * shape[1] * shape[2]

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.ab(a)


class CycleDiscriminators(nn.Module):
    """D_A (``a``, judges domain A) and D_B (``b``); called, D_B."""

    def __init__(self, shape: tuple[int, int, int], base: int, layers: int) -> None:
        super().__init__()
        self.a = PatchDiscriminator(shape, base, layers)
        self.b = PatchDiscriminator(shape, base, layers)

    def forward(self, b: torch.Tensor) -> torch.Tensor:
        return self.b(b)


def init_cyclegan_(module: nn.Module) -> None:
    """The authors' initialisation: every (transposed) convolution's weights ~ N(0, 0.02),
    biases 0."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(layer.weight, 0.0, INIT_STD)
            nn.init.zeros_(layer.bias)


@dataclass(frozen=True)
class CycleGANSettings:
    """The model.* settings of the cyclegan family (meanings in advnets.config): its networks'
    and its game's (``games.cycle``)."""

    base_channels: int
    residual_blocks: int
    patch_layers: int
    cycle_weight: float
    identity_weight: float
    image_pool: int


def build_cyclegan(
    settings: CycleGANSettings, data_dim: int, pixel_means_logit: torch.Tensor | None
) -> tuple[CycleGenerators, CycleDiscriminators]:
    """The two generators and the two discriminators for the images ``data_dim`` values
    describe (28x28 to 256x256, grey or colour: ``CYCLEGAN_SHAPES``)."""
    shape = image_shape(data_dim, "cyclegan", CYCLEGAN_SHAPES)
    generators = CycleGenerators(shape, settings.base_channels, settings.residual_blocks)
    discriminators = CycleDiscriminators(shape, settings.base_channels, settings.patch_layers)
    for module in (generators, discriminators):
        init_cyclegan_(module)
    return generators, discriminators
