"""KL divergence, the Jensen–Shannon divergence and the symmetrised KL of 1-D densities.

Densities in, numbers out, in nats. Every function takes log densities (log 0 = −∞
off a support), so that far tails never underflow into a spurious division by 0:

* KL(P ‖ Q) = ∫ p log(p/q) dx = E_P[log p − log q]: ≥ 0, = 0 iff P = Q, not
  symmetric, and +∞ as soon as P puts mass where q = 0.
* JSD(P ‖ Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M) with the mixture M = (P + Q)/2:
  symmetric, between 0 and log 2, log 2 exactly when the supports are disjoint
  (Theorem 1 of the paper: C(G) = −log 4 + 2·JSD(p_data ‖ p_g)).
* ½ (KL(P ‖ Q) + KL(Q ‖ P)), the symmetrised KL (half Jeffreys' divergence):
  symmetric but unbounded, and infinite on disjoint supports. It is not the JSD.

Each is computed by quadrature (nodes x_i, weights w_i: ∫ f dx ≈ Σ w_i f(x_i)) or by
Monte Carlo from samples of P and of Q, with the estimate's standard error.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LOG_2 = math.log(2.0)


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate and its standard error (both +∞ when the value is)."""

    value: float
    standard_error: float


def mean_estimate(values: np.ndarray) -> Estimate:
    """The sample mean of ``values`` and its standard error s/√n; +∞ with an infinite term."""
    values = np.asarray(values, np.float64)
    if np.isinf(values).any():
        return Estimate(math.inf, math.inf)
    return Estimate(float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values))))


def half_sum(a: Estimate, b: Estimate) -> Estimate:
    """(a + b)/2 of two independent estimates: standard error ½ √(se_a² + se_b²)."""
    return Estimate(0.5 * (a.value + b.value), 0.5 * math.hypot(a.standard_error, b.standard_error))


def gauss_legendre(
    breakpoints: Sequence[float], panels: int = 400, order: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of composite Gauss–Legendre quadrature from the first breakpoint to
    the last: each interval between neighbouring breakpoints cut into ``panels`` equal
    panels of ``order`` nodes, exact on each panel for polynomials of degree 2·order − 1.
    The nodes lie inside the panels, so a density that jumps at a breakpoint (a uniform's
    edge) is integrated as exactly as a smooth one."""
    unit_nodes, unit_weights = np.polynomial.legendre.leggauss(order)
    edges = np.concatenate(
        [np.linspace(a, b, panels + 1)[:-1] for a, b in itertools.pairwise(breakpoints)]
        + [[breakpoints[-1]]]
    )
    half = np.diff(edges)[:, None] / 2
    nodes = (edges[:-1, None] + half + half * unit_nodes).ravel()
    return nodes, (half * unit_weights).ravel()


def trapezoid_weights(x: np.ndarray) -> np.ndarray:
    """Weights of the trapezoid rule on the increasing grid ``x``: Σ w_i f(x_i) =
    np.trapezoid(f, x)."""
    gaps = np.diff(np.asarray(x, np.float64))
    return np.concatenate([gaps, [0.0]]) / 2 + np.concatenate([[0.0], gaps]) / 2


def log_density(p: np.ndarray) -> np.ndarray:
    """log p, with log 0 = −∞."""
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(p, np.float64))


def _log_ratio(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """log(p/q), +∞ where q = 0 < p; 0 where p = 0 (never used: its weight p is 0)."""
    with np.errstate(invalid="ignore"):
        return np.where(log_p == -np.inf, 0.0, log_p - log_q)


def _log_mixture(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """log m with m = (p + q)/2."""
    return np.logaddexp(log_p, log_q) - LOG_2


def kl_divergence(log_p: np.ndarray, log_q: np.ndarray, weights: np.ndarray) -> float:
    """KL(P ‖ Q) = ∫ p log(p/q) dx ≈ Σ w_i p_i log(p_i/q_i), by quadrature; +∞ if P has
    mass where q = 0 (see :func:`uncovered_mass`)."""
    ratio = _log_ratio(log_p, log_q)
    with np.errstate(invalid="ignore"):  # p underflowing to 0 where q = 0: still +∞
        terms = np.where(ratio == np.inf, np.inf, np.exp(log_p) * ratio)
    return float(np.sum(weights * terms))


def jensen_shannon_divergence(log_p: np.ndarray, log_q: np.ndarray, weights: np.ndarray) -> float:
    """JSD(P ‖ Q) = ½ ∫ p log(p/m) dx + ½ ∫ q log(q/m) dx, m = (p + q)/2, by quadrature;
    finite (≤ log 2) for any P and Q."""
    log_m = _log_mixture(log_p, log_q)
    return 0.5 * (kl_divergence(log_p, log_m, weights) + kl_divergence(log_q, log_m, weights))


def symmetrised_kl(log_p: np.ndarray, log_q: np.ndarray, weights: np.ndarray) -> float:
    """½ (KL(P ‖ Q) + KL(Q ‖ P)) by quadrature: the formula the seed calls JSD."""
    return 0.5 * (kl_divergence(log_p, log_q, weights) + kl_divergence(log_q, log_p, weights))


def uncovered_mass(log_p: np.ndarray, log_q: np.ndarray, weights: np.ndarray) -> float:
    """P's mass where q = 0, ∫_{q=0} p dx: KL(P ‖ Q) is +∞ exactly when it is above 0."""
    return float(np.sum(weights * np.where(log_q == -np.inf, np.exp(log_p), 0.0)))


def gaussian_kl(mean_p: float, std_p: float, mean_q: float, std_q: float) -> float:
    """KL(N(μ1, σ1²) ‖ N(μ2, σ2²)) = log(σ2/σ1) + (σ1² + (μ1 − μ2)²)/(2σ2²) − ½, in closed
    form."""
    return math.log(std_q / std_p) + (std_p**2 + (mean_p - mean_q) ** 2) / (2 * std_q**2) - 0.5


def kl_monte_carlo(log_p: np.ndarray, log_q: np.ndarray) -> Estimate:
    """KL(P ‖ Q) = E_P[log p(x) − log q(x)], from log p and log q at samples x of P."""
    return mean_estimate(_log_ratio(log_p, log_q))


def jensen_shannon_monte_carlo(
    log_p_at_p: np.ndarray, log_q_at_p: np.ndarray, log_p_at_q: np.ndarray, log_q_at_q: np.ndarray
) -> Estimate:
    """JSD(P ‖ Q) = ½ E_P[log(p/m)] + ½ E_Q[log(q/m)], m = (p + q)/2, from the log densities
    at independent samples of P (``*_at_p``) and of Q (``*_at_q``); each term is ≤ log 2."""
    from_p = kl_monte_carlo(log_p_at_p, _log_mixture(log_p_at_p, log_q_at_p))
    from_q = kl_monte_carlo(log_q_at_q, _log_mixture(log_p_at_q, log_q_at_q))
    return half_sum(from_p, from_q)


def symmetrised_kl_monte_carlo(
    log_p_at_p: np.ndarray, log_q_at_p: np.ndarray, log_p_at_q: np.ndarray, log_q_at_q: np.ndarray
) -> Estimate:
    """½ (E_P[log(p/q)] + E_Q[log(q/p)]), from independent samples of P and of Q."""
    return half_sum(kl_monte_carlo(log_p_at_p, log_q_at_p), kl_monte_carlo(log_q_at_q, log_p_at_q))
