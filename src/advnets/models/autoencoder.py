"""Autoencoders and the variational autoencoder: the background the seed teaches before the GAN.

Autoencoder: an encoder maps x to a code, a decoder maps the code back to x̂, trained so
that x̂ = x. The decoder ends in logits; x̂ = sigmoid(logits) holds pixels in [0, 1]. The
per-image reconstruction error (:func:`reconstruction_error`), summed over pixels, is a
choice between

- ``bce``: binary cross-entropy Σ_i −x_i log x̂_i − (1 − x_i) log(1 − x̂_i) (nats), and
- ``mse``: squared error Σ_i (x̂_i − x_i)².

:class:`MLPAutoencoder` is 784 → hidden → code → hidden → 784 with tanh hidden layers,
sized and initialised as the VAE below, so that the two differ only in what makes the VAE
variational. :class:`ConvAutoencoder` halves the side with strided convolutions and
doubles it back with transposed convolutions or nearest up-sampling and a convolution.

Variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational Bayes"), as the
seed states it: prior p(z) = N(0, I); Gaussian encoder q(z|x) = N(μ(x), diag σ²(x)); Bernoulli
decoder p(x|z) = Π_i y_i^{x_i} (1 − y_i)^{1 − x_i} with y = sigmoid(logits(z)); one
reparameterised sample z = μ + σ ⊙ ε, ε ~ N(0, I) (their Section 2.4, L = 1). The evidence
lower bound (their eq. 10) is

    ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)) ≤ log p(x),
    KL = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²)        (their Appendix B, closed form),

with the expectation estimated from the one sample. Networks as their Appendix C (one tanh
hidden layer in the encoder, giving μ and log σ², and one in the decoder) and Section 5 on
MNIST: 500 hidden units; latent sizes 3, 5, 10, 20 and 200 were compared (Figure 2), 20 is
the default here; weights drawn from N(0, 0.01), read as a standard deviation of 0.01 (the
notation leaves it open), biases 0. Their optimiser (Adagrad, minibatches of 100, a weight
decay from a N(0, I) prior on the weights) belongs to the trainer, not here. On pixels in
[0, 1] that are not binary the Bernoulli term is still the cross-entropy above, as in their
MNIST experiments, but it is then no longer a normalised likelihood of x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from advnets.models.dcgan import LEAKY_SLOPE, image_shape, init_dcgan_, start_side
from advnets.models.latent import Generator, sample_latent
from advnets.models.layers import init_normal_, one_hot

LOSSES = ("bce", "mse")  # reconstruction errors (the module's docstring)
ACTIVATIONS = {"relu": nn.ReLU, "leaky-relu": lambda: nn.LeakyReLU(LEAKY_SLOPE)}
UPSAMPLINGS = ("transposed", "nearest")
KW_INIT_STD = 0.01  # Kingma & Welling 2014, Section 5: weights from N(0, 0.01)
LOG_2PI = math.log(2 * math.pi)


def reconstruction_error(logits: torch.Tensor, x: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-image error of x̂ = sigmoid(logits) against x, summed over all but the first axis."""
    if loss == "bce":
        error = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    elif loss == "mse":
        error = (torch.sigmoid(logits) - x).square()
    else:
        raise ValueError(
            f"unknown reconstruction loss {loss!r}; choose one of {', '.join(LOSSES)}."
        )
    return error.flatten(1).sum(1)


class Autoencoder(nn.Module):
    """x → code → x̂: ``encode``, ``decode`` (logits), ``forward`` (x̂ in [0, 1], shaped as x) and
    the per-image training loss :meth:`reconstruction_error`. Takes flat or image-shaped x."""

    encoder: nn.Module  # (N, *in_shape) → (N, code_dim)
    decoder: nn.Module  # (N, code_dim) → logits (N, *in_shape)

    def __init__(self, in_shape: tuple[int, ...], code_dim: int, loss: str) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"unknown reconstruction loss {loss!r}; choose one of {LOSSES}.")
        self.in_shape = tuple(in_shape)
        self.code_dim = code_dim
        self.loss = loss

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.reshape(-1, *self.in_shape))

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode(self.encode(x))).reshape(x.shape)

    def reconstruction_error(self, x: torch.Tensor) -> torch.Tensor:
        """Per-image error (N,) under this autoencoder's loss: what training minimises (its
        mean) and the anomaly score of an image."""
        return reconstruction_error(self.decode(self.encode(x)).reshape(x.shape), x, self.loss)


class MLPAutoencoder(Autoencoder):
    """784 → tanh hidden → linear code → tanh hidden → 784 logits."""

    def __init__(
        self,
        data_dim: int = 784,
        hidden: int = 500,
        code_dim: int = 20,
        loss: str = "bce",
        init_std: float = KW_INIT_STD,
    ) -> None:
        super().__init__((data_dim,), code_dim, loss)
        self.encoder = nn.Sequential(
            nn.Linear(data_dim, hidden), nn.Tanh(), nn.Linear(hidden, code_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(code_dim, hidden), nn.Tanh(), nn.Linear(hidden, data_dim)
        )
        init_normal_(self, init_std)


class ConvAutoencoder(Autoencoder):
    """Strided convolutions down to an s × s grid, a linear code, and back up.

    Encoder: convolutions (kernel 4, stride 2, padding 1: each halves the side), channels
    doubling from ``base_channels``, each followed by the activation; flattened → linear code.
    Decoder: linear → activation → (channels, s, s), then each doubling of the side either a
    transposed convolution (kernel 4, stride 2, padding 1) or nearest-neighbour up-sampling
    followed by a 3 × 3 convolution (which avoids the checkerboard pattern of overlapping
    transposed kernels, Odena, Dumoulin & Olah 2016), the activation after every layer but
    the last, which gives logits. The grid is DCGAN's (``dcgan.start_side``: 28 → 7), and so
    is the initialisation (N(0, 0.02) weights, biases 0).
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int] = (1, 28, 28),
        code_dim: int = 20,
        base_channels: int = 32,
        activation: str = "relu",
        upsampling: str = "transposed",
        loss: str = "bce",
    ) -> None:
        super().__init__(in_shape, code_dim, loss)
        channels, side, width_px = self.in_shape
        if side != width_px:
            raise ValueError(f"the convolutional autoencoder takes square images, got {in_shape}.")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {[*ACTIVATIONS]}.")
        if upsampling not in UPSAMPLINGS:
            raise ValueError(f"unknown up-sampling {upsampling!r}; choose one of {UPSAMPLINGS}.")
        act = ACTIVATIONS[activation]
        start, doublings = start_side(side)
        widths = [base_channels * 2**i for i in range(doublings)]  # after each halving
        down: list[nn.Module] = []
        for c_in, c_out in zip([channels, *widths[:-1]], widths, strict=True):
            down += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), act()]
        cells = widths[-1] * start * start
        self.encoder = nn.Sequential(*down, nn.Flatten(), nn.Linear(cells, code_dim))
        up: list[nn.Module] = [
            nn.Linear(code_dim, cells),
            act(),
            nn.Unflatten(1, (widths[-1], start, start)),
        ]
        outs = [*widths[-2::-1], channels]
        for c_in, c_out in zip(widths[::-1], outs, strict=True):
            if upsampling == "transposed":
                up.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1))
            else:
                up += [
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv2d(c_in, c_out, 3, padding=1),
                ]
            up.append(act())
        self.decoder = nn.Sequential(*up[:-1])  # no activation on the logits
        init_dcgan_(self)


class ELBO(NamedTuple):
    """Per-example terms of the evidence lower bound, in nats: elbo = reconstruction − kl."""

    reconstruction: torch.Tensor  # log p(x|z) at the sampled z
    kl: torch.Tensor  # KL(q(z|x) ‖ p(z)), closed form
    elbo: torch.Tensor


def kl_to_standard_normal(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²), over the last axis."""
    return 0.5 * (mean.square() + log_variance.exp() - 1 - log_variance).sum(-1)


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) = −½ Σ_j (log 2π + z_j²), over the last axis."""
    return -0.5 * (LOG_2PI + z.square()).sum(-1)


def reparameterise(
    mean: torch.Tensor,
    log_variance: torch.Tensor,
    generator: torch.Generator | None = None,
    samples: tuple[int, ...] = (),
    eps: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(z, ε) with z = μ + σ ⊙ ε and ε ~ N(0, I), shape (*samples, *mean.shape); z is
    differentiable in μ and log σ² (Kingma & Welling 2014, eq. 4). ε is ``eps`` where given,
    else drawn from ``generator`` on its device (the CPU's global RNG without one)."""
    if eps is None:
        device = generator.device if generator is not None else None
        eps = torch.randn(*samples, *mean.shape, generator=generator, device=device)
    eps = eps.to(mean)
    return mean + (0.5 * log_variance).exp() * eps, eps


class VAE(Generator):
    """The VAE of Kingma & Welling 2014 on flat x (N, data_dim); a generator of the protocol of
    ``models.latent``: ``forward(z)`` gives the decoder's pixel means sigmoid(logits(z))."""

    def __init__(
        self,
        data_dim: int = 784,
        hidden: int = 500,
        latent_dim: int = 20,
        init_std: float = KW_INIT_STD,
    ) -> None:
        super().__init__(latent_dim, "gaussian", (data_dim,))
        self.encoder = nn.Sequential(nn.Linear(data_dim, hidden), nn.Tanh())
        self.mean = nn.Linear(hidden, latent_dim)
        self.log_variance = nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.Tanh(), nn.Linear(hidden, data_dim)
        )
        init_normal_(self, init_std)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x): (μ(x), log σ²(x)), each (N, latent_dim)."""
        h = self.encoder(x.reshape(len(x), -1))
        return self.mean(h), self.log_variance(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """p(x|z): the Bernoulli logits, shape (*z.shape[:-1], data_dim)."""
        return self.decoder(z)

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) = Σ_i x_i log y_i + (1 − x_i) log(1 − y_i) for x (N, D) and z (..., N, d):
        shape (..., N)."""
        logits = self.decode(z)  # log y_i = l_i − softplus(l_i), log(1 − y_i) = −softplus(l_i)
        return (x.reshape(len(x), -1) * logits).sum(-1) - F.softplus(logits).sum(-1)

    def elbo(
        self,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
        eps: torch.Tensor | None = None,
    ) -> ELBO:
        """The bound with one reparameterised sample z = μ + σ ⊙ ε (ε given, or drawn from
        ``generator``): (log p(x|z), KL, ELBO), each (N,), in nats. Training maximises the
        mean ELBO."""
        mean, log_variance = self.encode(x)
        z, _ = reparameterise(mean, log_variance, generator, eps=eps)
        reconstruction = self.log_likelihood(x, z)
        kl = kl_to_standard_normal(mean, log_variance)
        return ELBO(reconstruction, kl, reconstruction - kl)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        one_hot(c, self.num_classes, z)  # refuses class labels: the VAE is unconditional
        return torch.sigmoid(self.decode(z))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images (n, data_dim): the pixel means of p(x|z) at z ~ p(z)."""
        return self(self.sample_latent(n, generator))


class DecoderGenerator(nn.Module):
    """An autoencoder's or a VAE's decoder as the trainer and every tool see a generator (the
    protocol of the paper's G): flat rows (N, D) in [0, 1] from noise z ~ N(0, I) of the
    code's size (``noise_dim``), ``sample_noise`` drawing it.

    The decoder is given the code m + L z and its pixel means sigmoid(logits) are the sample.
    For the VAE m = 0 and L = I: z is drawn from its prior p(z). A plain autoencoder has no
    prior; its samples decode codes from a Gaussian N(m, L Lᵀ) fitted to the codes of the
    training images (:meth:`fit_codes`, full covariance), so they fall where the decoder was
    trained. m and L are buffers: checkpoints keep them with the weights."""

    def __init__(self, net: Autoencoder | VAE, data_dim: int) -> None:
        super().__init__()
        self.net = net
        code_dim = net.latent_dim if isinstance(net, VAE) else net.code_dim
        self.noise_dim, self.noise, self.data_dim = code_dim, "gaussian", data_dim
        self.register_buffer("code_mean", torch.zeros(code_dim))
        self.register_buffer("code_scale", torch.eye(code_dim))

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw n noise vectors z ~ N(0, I)."""
        return sample_latent(n, self.noise_dim, self.noise, generator).to(self.code_mean.device)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        code = self.code_mean + z @ self.code_scale.T
        return torch.sigmoid(self.net.decode(code)).flatten(1)

    @torch.no_grad()
    def fit_codes(self, images: torch.Tensor, batch_size: int = 1000) -> None:
        """Fit m and L to the codes of ``images`` (the training set): their mean and the
        Cholesky factor of their covariance (float64, a jitter of 1e-6 of the mean variance
        on the diagonal keeps it positive definite)."""
        device = self.code_mean.device
        codes = torch.cat([self.net.encode(rows.to(device)) for rows in images.split(batch_size)])
        codes = codes.double()
        covariance = torch.atleast_2d(torch.cov(codes.T, correction=0))
        jitter = 1e-6 * covariance.diagonal().mean().clamp(min=1e-12)
        eye = torch.eye(len(covariance), dtype=covariance.dtype, device=device)
        self.code_mean.copy_(codes.mean(0))
        self.code_scale.copy_(torch.linalg.cholesky(covariance + jitter * eye))


@dataclass(frozen=True)
class AutoencoderSettings:
    """The model.* settings of the mlp-ae family (meanings in advnets.config)."""

    noise_dim: int  # the code's size
    autoencoder_hidden: int
    autoencoder_loss: str
    autoencoder_init_std: float


@dataclass(frozen=True)
class ConvAutoencoderSettings:
    """The model.* settings of the conv-ae family (meanings in advnets.config)."""

    noise_dim: int  # the code's size
    base_channels: int
    autoencoder_activation: str
    autoencoder_upsampling: str
    autoencoder_loss: str


@dataclass(frozen=True)
class VAESettings:
    """The model.* settings of the vae family (meanings in advnets.config)."""

    noise_dim: int  # the latent z's size
    autoencoder_hidden: int
    autoencoder_init_std: float


def build_mlp_autoencoder(
    settings: AutoencoderSettings, data_dim: int, pixel_means_logit: torch.Tensor | None
) -> tuple[DecoderGenerator, None]:
    """The MLP autoencoder as a generator (no discriminator; pixel means not used)."""
    net = MLPAutoencoder(
        data_dim,
        settings.autoencoder_hidden,
        settings.noise_dim,
        settings.autoencoder_loss,
        settings.autoencoder_init_std,
    )
    return DecoderGenerator(net, data_dim), None


def build_conv_autoencoder(
    settings: ConvAutoencoderSettings, data_dim: int, pixel_means_logit: torch.Tensor | None
) -> tuple[DecoderGenerator, None]:
    """The convolutional autoencoder for the images ``data_dim`` values describe, as a
    generator (no discriminator; pixel means not used)."""
    net = ConvAutoencoder(
        image_shape(data_dim, "conv-ae"),
        settings.noise_dim,
        settings.base_channels,
        settings.autoencoder_activation,
        settings.autoencoder_upsampling,
        settings.autoencoder_loss,
    )
    return DecoderGenerator(net, data_dim), None


def build_vae(
    settings: VAESettings, data_dim: int, pixel_means_logit: torch.Tensor | None
) -> tuple[DecoderGenerator, None]:
    """The VAE as a generator of its prior (no discriminator; pixel means not used)."""
    net = VAE(
        data_dim, settings.autoencoder_hidden, settings.noise_dim, settings.autoencoder_init_std
    )
    return DecoderGenerator(net, data_dim), None
