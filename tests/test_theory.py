"""The theory lab's maths, independent of training noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from advnets.data.toy import toy_distribution
from advnets.evaluation.modes import mode_statistics
from advnets.evaluation.theory import (
    MINUS_LOG_4,
    jensen_shannon,
    optimal_discriminator,
    pushforward_density,
    virtual_training_criterion,
)


def normal(x, mean, std):
    return np.exp(-((x - mean) ** 2) / (2 * std**2)) / (std * math.sqrt(2 * math.pi))


class Fixed(torch.nn.Module):
    """A 'generator' x = f(z) with 1-D uniform noise."""

    noise_dim, data_dim, noise = 1, 1, "uniform"

    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, z):
        return self.f(z)


def test_optimal_discriminator_is_the_logistic_of_the_log_density_ratio():
    x = np.linspace(-5, 5, 101)
    d_star = optimal_discriminator(normal(x, 0, 1), normal(x, 1, 1))
    # p/(p+q) with q/p = exp(x - 1/2) for unit-variance Gaussians at 0 and 1
    assert np.allclose(d_star, 1 / (1 + np.exp(x - 0.5)))
    assert optimal_discriminator(np.zeros(3), np.zeros(3)).tolist() == [0.5] * 3
    assert np.allclose(optimal_discriminator(normal(x, 0, 1), normal(x, 0, 1)), 0.5)


def test_jensen_shannon_matches_closed_forms():
    x = np.linspace(-1, 4, 500001)
    uniform = lambda a, b: np.where((x >= a) & (x <= b), 1 / (b - a), 0.0)  # noqa: E731
    assert jensen_shannon(uniform(0, 2), uniform(0, 2), x) == pytest.approx(0, abs=1e-12)
    # half-overlapping uniforms: JSD = log(2)/2; disjoint: log 2
    assert jensen_shannon(uniform(0, 2), uniform(1, 3), x) == pytest.approx(math.log(2) / 2, 1e-4)
    assert jensen_shannon(uniform(-1, 0.5), uniform(1, 3), x) == pytest.approx(math.log(2), 1e-4)


def test_criterion_is_minus_log_4_exactly_when_distributions_match():
    x = np.linspace(-8, 8, 20001)
    p = normal(x, 0, 1)
    assert virtual_training_criterion(p, p, x) == pytest.approx(MINUS_LOG_4, abs=1e-12)
    assert virtual_training_criterion(p, normal(x, 0.5, 1), x) > MINUS_LOG_4 + 1e-3
    wide = np.linspace(-8, 40, 50001)
    disjoint = virtual_training_criterion(normal(wide, 0, 1), normal(wide, 30, 1), wide)
    assert disjoint == pytest.approx(0.0, abs=1e-6)  # -log 4 + 2 log 2


def test_pushforward_density_of_an_affine_and_a_folding_generator():
    edges = np.linspace(-4, 6, 201)
    density = pushforward_density(Fixed(lambda z: 2 * z + 1), edges, n=200000)
    centres = (edges[1:] + edges[:-1]) / 2
    inside = np.abs(centres - 1) < 2 * math.sqrt(3) - 0.1
    assert np.allclose(density[inside], 1 / (4 * math.sqrt(3)), rtol=1e-3)
    assert np.all(density[np.abs(centres - 1) > 2 * math.sqrt(3) + 0.1] == 0)
    assert (density * np.diff(edges)).sum() == pytest.approx(1.0)
    # x = z^2 folds the line: p(x) = 1 / (2 sqrt(3) sqrt(x)) on (0, 3]
    edges = np.linspace(0, 3, 301)
    density = pushforward_density(Fixed(lambda z: z**2), edges, n=2_000_000)
    centres = (edges[1:] + edges[:-1]) / 2
    far = centres > 0.2
    assert np.allclose(density[far], 1 / (2 * math.sqrt(3) * np.sqrt(centres[far])), rtol=1e-2)


def test_mode_statistics_on_known_coverage():
    ring = toy_distribution("ring")
    rng = np.random.default_rng(0)
    three = ring.centres[[0, 3, 5]]
    samples = three[rng.integers(3, size=3000)] + 0.02 * rng.standard_normal((3000, 2))
    stats = mode_statistics(samples, ring.centres, ring.std)
    assert stats["modes_covered"] == 3 and stats["modes"] == 8
    assert stats["modes_hit"] == 3
    assert stats["high_quality_fraction"] > 0.98
    assert stats["mode_kl"] == pytest.approx(math.log(8 / 3), abs=0.01)
    everywhere = ring.sample(4000, rng)
    perfect = mode_statistics(everywhere, ring.centres, ring.std)
    assert perfect["modes_covered"] == 8 and perfect["mode_kl"] < 0.01
    outliers = np.concatenate([everywhere, np.zeros((4000, 2))])  # the centre is no mode
    assert mode_statistics(outliers, ring.centres, ring.std)["high_quality_fraction"] == (
        pytest.approx(0.5, abs=0.01)
    )
    one_stray = np.concatenate([samples, ring.centres[[1]]])  # one sample on a fourth mode
    assert mode_statistics(one_stray, ring.centres, ring.std)["modes_hit"] == 4
    with pytest.raises(ValueError, match="non-empty"):
        mode_statistics(np.zeros((0, 2)), ring.centres, ring.std)


def test_toy_densities_integrate_to_one():
    x = np.linspace(-8, 8, 40001)[:, None]
    for name in ("gaussian-1d", "mixture-1d"):
        assert np.trapezoid(toy_distribution(name).density(x), x[:, 0]) == pytest.approx(1, 1e-9)
    grid = toy_distribution("grid")
    points = grid.sample(5000, np.random.default_rng(1))
    assert mode_statistics(points, grid.centres, grid.std)["modes_covered"] == 25
