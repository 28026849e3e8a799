"""A context encoder (Pathak et al. 2016, "Context encoders: feature learning by inpainting"),
sized for 28x28 and 32x32 images: a network that sees an image with a region hidden and
predicts the whole image.

Encoder: the image with its hidden pixels set to 0, and the mask (1 = hidden) as one more
channel -> convolution 4x4 stride 2 (C channels) -> LeakyReLU 0.2 -> convolution 4x4 stride 2
(2C) -> batch norm -> LeakyReLU: 2C maps of side/4. Bottleneck: their channel-wise fully
connected layer (each map to itself through a full (side/4)² x (side/4)² matrix, Section 3.1)
followed by a 1x1 convolution across channels, as theirs. Decoder: transposed convolutions 4x4
stride 2 (2C -> C, batch norm, ReLU; C -> image channels) and a sigmoid. Weights as DCGAN's
(N(0, 0.02)), which their code follows. The adversary is DCGAN's D (``models.dcgan``), judging
whole images: the real ones, and the completed ones (visible pixels kept, hidden ones
predicted). Their D judges the predicted region alone, which a mask of random blocks does not
have as one rectangle; stated.

Masks (``model.context_mask``): ``center``, the middle half of each side (their central
region, the same as ``advnets inpaint --mask center``); ``random-blocks``, BLOCKS squares of a
quarter of the side each at random places, together hiding at most a quarter of the image
(their "random block" masks, Section 3.3).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from advnets.config import ConfigError
from advnets.models.dcgan import LEAKY_SLOPE, DCGANDiscriminator, image_shape, init_dcgan_

BLOCKS = 4  # random-blocks: squares per image, each of a quarter of the side


def context_masks(kind: str, side: int, uniforms: torch.Tensor) -> torch.Tensor:
    """Hidden pixels (1 = hidden) of one mask per row of ``uniforms`` (N, 2·BLOCKS) in [0, 1),
    flat (N, side²): ``center`` reads none of them, ``random-blocks`` places block b's
    top-left corner at row/column floor(u · (side − block + 1)) of its two values."""
    n, device = len(uniforms), uniforms.device
    masks = torch.zeros(n, side, side, device=device)
    if kind == "center":
        quarter = side // 4
        masks[:, quarter : side - quarter, quarter : side - quarter] = 1
        return masks.flatten(1)
    block = side // 4
    corners = (uniforms[:, : 2 * BLOCKS] * (side - block + 1)).long().view(n, BLOCKS, 2)
    span = torch.arange(block, device=device)
    rows = (corners[..., 0, None] + span)[..., :, None]  # (N, BLOCKS, block, 1)
    cols = (corners[..., 1, None] + span)[..., None, :]  # (N, BLOCKS, 1, block)
    images = torch.arange(n, device=device)[:, None, None, None]
    masks[images, rows, cols] = 1
    return masks.flatten(1)


class ChannelwiseLinear(nn.Module):
    """Pathak et al.'s channel-wise fully connected layer: each of C maps (N, C, H, W) mapped
    to itself by its own (H·W) x (H·W) matrix, no mixing across channels."""

    def __init__(self, channels: int, positions: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels, positions, positions))
        self.bias = nn.Parameter(torch.zeros(channels, positions))
        nn.init.normal_(self.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(2)  # (N, C, H·W)
        out = torch.einsum("ncp,cqp->ncq", flat, self.weight) + self.bias
        return out.view_as(x)


class ContextEncoder(nn.Module):
    """F(masked image, mask) -> the whole image, flat rows in [0, 1] (module docstring)."""

    def __init__(self, shape: tuple[int, int, int] = (1, 28, 28), base_channels: int = 32):
        super().__init__()
        channels, side, _ = shape
        self.shape = shape
        c = base_channels
        inner = side // 4
        self.encoder = nn.Sequential(
            nn.Conv2d(channels + 1, c, 4, stride=2, padding=1),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * c),
            nn.LeakyReLU(LEAKY_SLOPE),
        )
        self.bottleneck = nn.Sequential(
            ChannelwiseLinear(2 * c, inner * inner),
            nn.Conv2d(2 * c, 2 * c, 1),
            nn.ReLU(),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.ConvTranspose2d(c, channels, 4, stride=2, padding=1),
            nn.Sigmoid(),
        )
        init_dcgan_(self)

    def forward(self, images: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """The predicted whole images (N, C·H·W) for flat ``images`` with the pixels ``hidden``
        (flat (N, H·W), the same for every channel) unseen."""
        channels, side, _ = self.shape
        mask = hidden.view(-1, 1, side, side)
        seen = images.view(-1, channels, side, side) * (1 - mask)
        code = self.bottleneck(self.encoder(torch.cat([seen, mask], dim=1)))
        return self.decoder(code).flatten(1)


def complete(images: torch.Tensor, hidden: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """``images`` where visible, ``fill`` where ``hidden`` (1 = hidden; one value per value of
    an image, or broadcast to it)."""
    return images * (1 - hidden) + fill * hidden


class CompletionSampler(nn.Module):
    """A context encoder as the trainer's tools see a generator: a noise row [u, m_1 ..
    m_2·BLOCKS] of uniforms picks an image of :attr:`pool` (row floor(u · len)) and the mask
    (``context_masks``), and its "sample" is that image completed by the network. During
    training the pool is the training split (the sample grid shows completions); a run's
    checkpoint keeps the network alone, so outside training it draws nothing:
    ``advnets inpaint RUN`` scores it."""

    noise = "uniform-01"

    def __init__(self, net: ContextEncoder, mask: str) -> None:
        super().__init__()
        self.net = net
        self.mask = mask
        self.noise_dim = 1 + 2 * BLOCKS
        self.data_dim = net.shape[0] * net.shape[1] * net.shape[2]
        self.pool: torch.Tensor | None = None  # images to complete; not in checkpoints

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.pool is None:
            raise ConfigError(
                "a context encoder completes images and draws none from noise: score it with "
                "advnets inpaint RUN."
            )
        device = generator.device if generator is not None else None
        noise = torch.rand(n, self.noise_dim, generator=generator, device=device)
        return noise.to(next(self.net.parameters()).device)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        pool = self.pool
        images = pool[(noise[:, 0] * len(pool)).long().clamp(max=len(pool) - 1).to(pool.device)]
        images = images.to(noise.device)
        hidden = context_masks(self.mask, self.net.shape[1], noise[:, 1:])
        return complete(images, hidden.repeat(1, self.net.shape[0]), self.net(images, hidden))


@dataclass(frozen=True)
class ContextEncoderSettings:
    """The model.* settings of the context-encoder family (meanings in advnets.config)."""

    base_channels: int
    context_mask: str


def build_context_encoder(
    settings: ContextEncoderSettings, data_dim: int, pixel_means_logit: torch.Tensor | None
) -> tuple[CompletionSampler, DCGANDiscriminator]:
    """The context encoder behind a :class:`CompletionSampler`, and DCGAN's D as its
    adversary; the pixel means are not used."""
    shape = image_shape(data_dim, "context-encoder")  # every side there divides by 4
    net = ContextEncoder(shape, settings.base_channels)
    adversary = DCGANDiscriminator(shape, settings.base_channels)
    return CompletionSampler(net, settings.context_mask), adversary
