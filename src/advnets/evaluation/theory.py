"""The paper's theory as functions: Proposition 1, Theorem 1, and the generator's density.

* Proposition 1: for G fixed, the optimal discriminator is
  D*_G(x) = p_data(x) / (p_data(x) + p_g(x)).
* Theorem 1: the virtual training criterion C(G) = max_D V(D, G) equals
  −log 4 + 2·JSD(p_data ‖ p_g), so its global minimum −log 4 is reached
  exactly when p_g = p_data.

For 1-D data both sides can be computed: p_data is known in closed form
(``advnets.data.toy``) and p_g is the push-forward of the noise density
through G. Where G is monotone it is exact by the change of variables
(``generator_density``); where G folds the line onto itself it is measured on a
grid of bins by sending a dense, stratified grid of noise values through G
(``pushforward_density``), exact up to the bin width.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from advnets.evaluation.divergences import (
    jensen_shannon_divergence,
    log_density,
    trapezoid_weights,
)
from advnets.models.latent import SQRT3
from advnets.sampling import eval_mode

MINUS_LOG_4 = -math.log(4.0)


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_g) (Proposition 1); 1/2 where both densities vanish."""
    p_data, p_g = np.asarray(p_data, np.float64), np.asarray(p_g, np.float64)
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def jensen_shannon(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """JSD(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2, by the trapezoid rule on ``x``
    (``divergences.jensen_shannon_divergence``).

    ``p`` and ``q`` are densities sampled on the 1-D grid ``x``; the result is in
    nats, between 0 and log 2.
    """
    return jensen_shannon_divergence(log_density(p), log_density(q), trapezoid_weights(x))


def virtual_training_criterion(p_data: np.ndarray, p_g: np.ndarray, x: np.ndarray) -> float:
    """C(G) = −log 4 + 2·JSD(p_data ‖ p_g) (Theorem 1), by numerical integration on ``x``."""
    return MINUS_LOG_4 + 2.0 * jensen_shannon(p_data, p_g, x)


def stratified_noise(n: int, kind: str) -> torch.Tensor:
    """n 1-D noise values at the midpoints of n equal-probability strata of p_z, (n, 1)."""
    u = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    if kind == "uniform":
        z = (2 * u - 1) * SQRT3
    elif kind == "gaussian":
        z = math.sqrt(2.0) * torch.erfinv(2 * u - 1)
    else:
        raise ValueError(f"unknown noise kind {kind!r}; choose 'uniform' or 'gaussian'.")
    return z.float().unsqueeze(1)


def generator_density(
    generator: torch.nn.Module, x: np.ndarray, n: int = 200_001
) -> tuple[np.ndarray, bool]:
    """p_g at the points ``x`` for a generator with 1-D noise and 1-D output; exact if G is
    monotone.

    Where G is strictly monotone on the noise's range (checked on ``n`` grid
    points), the change of variables gives p_g(x) = p_z(z)/|G'(z)| at z = G⁻¹(x),
    with G' from autograd and G⁻¹ by interpolation on the grid. Otherwise p_g is
    the push-forward histogram (``pushforward_density``) on bins centred on ``x``.
    Returns (density, exact).
    """
    if generator.noise_dim != 1 or generator.data_dim != 1:
        raise ValueError("generator_density needs a generator with 1-D noise and 1-D output.")
    bound = SQRT3 if generator.noise == "uniform" else 8.0
    z = torch.linspace(-bound, bound, n, dtype=torch.float32).unsqueeze(1).requires_grad_(True)
    with eval_mode(generator):
        g = generator(z)
        (slope,) = torch.autograd.grad(g.sum(), z)
    g = g.detach().double().squeeze(1).numpy()
    slope = slope.double().squeeze(1).numpy()
    if np.all(slope > 0) or np.all(slope < 0):
        order = np.argsort(g)
        z_of_x = np.interp(x, g[order], z.detach().double().squeeze(1).numpy()[order])
        inside = (x >= g.min()) & (x <= g.max())
        slope_at = np.interp(z_of_x, z.detach().double().squeeze(1).numpy(), slope)
        if generator.noise == "uniform":
            p_z = np.full_like(z_of_x, 1 / (2 * SQRT3))
        else:
            p_z = np.exp(-(z_of_x**2) / 2) / math.sqrt(2 * math.pi)
        return np.where(inside, p_z / np.abs(slope_at), 0.0), True
    half = np.diff(x) / 2
    edges = np.concatenate([[x[0] - half[0]], x[:-1] + half, [x[-1] + half[-1]]])
    return pushforward_density(generator, edges), False


@torch.no_grad()
def pushforward_density(
    generator: torch.nn.Module, edges: np.ndarray, n: int = 1_000_000
) -> np.ndarray:
    """p_g on the bins between ``edges`` for a generator with 1-D noise and 1-D output.

    Each of ``n`` stratified noise values carries probability 1/n; the mass that
    lands in a bin over the bin's width is p_g's mean over the bin. Mass that
    falls outside the edges is dropped.
    """
    if generator.noise_dim != 1 or generator.data_dim != 1:
        raise ValueError("pushforward_density needs a generator with 1-D noise and 1-D output.")
    with eval_mode(generator):
        x = generator(stratified_noise(n, generator.noise)).double().squeeze(1).numpy()
    counts, _ = np.histogram(x, bins=edges)
    return counts / (n * np.diff(edges))
