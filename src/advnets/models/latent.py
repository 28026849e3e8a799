"""Noise priors p_z, and the generator protocol that draws from them.

Priors, by name:

- ``uniform``: U[-sqrt 3, sqrt 3]^d, unit variance. The reference config of
  Goodfellow et al. 2014 (its generator's default uniform noise).
- ``uniform-pm1``: U[-1, 1]^d, the "uniform noise distribution" of DCGAN
  (Radford et al. 2016, Section 4; the authors' code draws on [-1, 1]).
- ``uniform-01``: U[0, 1]^d, "a uniform distribution within the unit hypercube"
  (Mirza & Osindero 2014, Section 4.1).
- ``gaussian``: N(0, I).
"""

from __future__ import annotations

import math

import torch
from torch import nn

SQRT3 = math.sqrt(3.0)
UNIFORM_BOUNDS = {"uniform": (-SQRT3, SQRT3), "uniform-pm1": (-1.0, 1.0), "uniform-01": (0.0, 1.0)}
PRIORS = (*UNIFORM_BOUNDS, "gaussian")


def sample_latent(
    n: int, dim: int, prior: str, generator: torch.Generator | None = None
) -> torch.Tensor:
    """n latent codes z ~ p_z, shape (n, dim), drawn from ``generator`` on its device (the
    CPU's global RNG without one). A GPU stream draws on the GPU: no copy, no wait."""
    device = generator.device if generator is not None else None
    if prior in UNIFORM_BOUNDS:
        low, high = UNIFORM_BOUNDS[prior]
        return torch.rand(n, dim, generator=generator, device=device).mul_(high - low).add_(low)
    if prior == "gaussian":
        return torch.randn(n, dim, generator=generator, device=device)
    raise _unknown(prior)


def _unknown(prior: str) -> ValueError:
    return ValueError(f"unknown noise prior {prior!r}; choose one of {', '.join(PRIORS)}.")


class Generator(nn.Module):
    """A generator of the protocol every tool uses: ``latent_dim``, ``sample_latent(n,
    generator)``, ``forward(z, c=None)``, ``num_classes`` (0: unconditional) and
    ``out_shape`` (one sample's shape).

    A conditional generator (``num_classes`` > 0) takes integer class labels ``c``
    of shape (N,); an unconditional one takes none.
    """

    def __init__(
        self, latent_dim: int, prior: str, out_shape: tuple[int, ...], num_classes: int = 0
    ) -> None:
        super().__init__()
        if prior not in PRIORS:
            raise _unknown(prior)
        self.latent_dim = latent_dim
        self.prior = prior
        self.out_shape = tuple(out_shape)
        self.num_classes = num_classes

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latent codes from this generator's prior, on its device."""
        device = next(self.parameters()).device
        return sample_latent(n, self.latent_dim, self.prior, generator).to(device)
