"""Importance-weighted log-likelihood of a latent-variable model (Burda, Grosse & Salakhutdinov
2016, "Importance Weighted Autoencoders", eq. 8), beside its ELBO.

For a model with prior p(z) = N(0, I), likelihood p(x|z) and a Gaussian proposal
q(z|x) = N(μ(x), diag σ²(x)) (a VAE's encoder), k samples z_i ~ q(z|x) give

    L_k(x) = log (1/k) Σ_i w_i,    w_i = p(x|z_i) p(z_i) / q(z_i|x),

a lower bound on log p(x) in expectation that never decreases with k, equals the ELBO for
k = 1 and tends to log p(x) as k → ∞ (their Theorem 1). It is exact for every k when q is
the true posterior (then every w_i = p(x)). Burda et al. report it with k = 5,000 on MNIST.

How it is computed: the k samples are drawn ``chunk`` at a time for a block of images, so
memory holds chunk × block decoder outputs whatever k is; each chunk's log weights
are summed into a running logsumexp in float64 (log-space, so no weight under- or
overflows, and k = 5,000 terms lose no precision). log q(z_i|x) is evaluated from the
standard-normal draw ε_i itself, −½ Σ_j (log 2π + log σ_j² + ε_ij²), not from z_i − μ.
From the same draws comes the ELBO with the closed-form KL, E_q[log p(x|z)] estimated by
the k-sample mean. Scores are means over the test images with the standard error
std/√n (ddof 0), as :mod:`advnets.evaluation.parzen` reports its estimate.

On pixels in [0, 1] that are not binary, a Bernoulli decoder's log p(x|z) is a cross-entropy,
not the log-density of a distribution over [0, 1]^D; such values and a Parzen
log-density, which is one, are not on one scale.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np
import torch

from advnets.models.autoencoder import (
    LOG_2PI,
    kl_to_standard_normal,
    reparameterise,
    standard_normal_log_density,
)


class LatentVariableModel(Protocol):
    """What the estimate needs of a model with the prior N(0, I) (a :class:`~advnets.models.
    autoencoder.VAE` is one)."""

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x) as (μ, log σ²), each (N, d)."""

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) for x (N, ...) and z (k, N, d): shape (k, N)."""


@torch.no_grad()
def importance_weighted_bounds(
    model: LatentVariableModel,
    x: torch.Tensor,
    k: int,
    *,
    chunk: int = 100,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image (L_k(x), ELBO(x)), each (N,) float64 in nats, from k samples of q(z|x) drawn
    ``chunk`` at a time from ``generator`` (see the module's docstring)."""
    if k < 1 or chunk < 1:
        raise ValueError(f"k and chunk must be at least 1, got k={k} and chunk={chunk}.")
    mean, log_variance = model.encode(x)
    log_sum = torch.full((len(x),), -math.inf, dtype=torch.float64, device=mean.device)
    reconstruction = torch.zeros(len(x), dtype=torch.float64, device=mean.device)
    for start in range(0, k, chunk):
        z, eps = reparameterise(mean, log_variance, generator, (min(chunk, k - start),))
        log_p_x_given_z = model.log_likelihood(x, z)
        log_q = -0.5 * (LOG_2PI + log_variance + eps.square()).sum(-1)
        log_w = log_p_x_given_z + standard_normal_log_density(z) - log_q
        log_sum = torch.logaddexp(log_sum, torch.logsumexp(log_w.double(), dim=0))
        reconstruction += log_p_x_given_z.double().sum(0)
    elbo = reconstruction / k - kl_to_standard_normal(mean, log_variance).double()
    return log_sum - math.log(k), elbo


@dataclass(frozen=True)
class LikelihoodResult:
    """Outcome of :func:`likelihood_protocol`: both bounds on the test images and how."""

    test_ll: float  # mean importance-weighted estimate L_k (nats)
    test_se: float  # its standard error over the images, std / sqrt(n_test)
    test_elbo: float  # mean ELBO, closed-form KL (nats)
    test_elbo_se: float
    k: int  # importance samples per image
    n_test: int
    seconds: float  # wall-clock time of the whole protocol

    def to_dict(self) -> dict:
        return asdict(self)


def likelihood_protocol(
    model: LatentVariableModel,
    test: torch.Tensor,
    *,
    k: int = 5000,
    batch_size: int = 100,
    chunk: int = 100,
    seed: int = 0,
) -> LikelihoodResult:
    """L_k and the ELBO of every test image, ``batch_size`` images and ``chunk`` samples at a
    time (memory: batch_size × chunk decoder outputs), with samples from a generator seeded
    by ``seed``: mean ± std/√n of each."""
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    bounds = [
        importance_weighted_bounds(model, rows, k, chunk=chunk, generator=generator)
        for rows in torch.split(test, batch_size)
    ]
    ll, elbo = (torch.cat(parts).cpu().numpy() for parts in zip(*bounds, strict=True))
    root_n = np.sqrt(len(ll))
    return LikelihoodResult(
        test_ll=float(ll.mean()),
        test_se=float(ll.std() / root_n),
        test_elbo=float(elbo.mean()),
        test_elbo_se=float(elbo.std() / root_n),
        k=k,
        n_test=len(ll),
        seconds=time.perf_counter() - start,
    )
