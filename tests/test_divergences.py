"""KL, the Jensen–Shannon divergence and the symmetrised KL: closed forms, bounds, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from advnets.cli import main
from advnets.data.toy import GaussianMixture, Uniform
from advnets.evaluation.divergences import (
    LOG_2,
    gauss_legendre,
    gaussian_kl,
    jensen_shannon_divergence,
    jensen_shannon_monte_carlo,
    kl_divergence,
    kl_monte_carlo,
    symmetrised_kl,
    trapezoid_weights,
    uncovered_mass,
)

GAUSSIANS = [
    (0.0, 1.0, 1.0, 2.0),
    (0.0, 2.0, 1.0, 1.0),
    (-1.0, 0.5, 2.0, 0.7),
    (3.0, 1.5, 3.0, 1.5),
]


def gaussian(mean: float, std: float) -> GaussianMixture:
    return GaussianMixture(np.array([[mean]]), std)


def on_nodes(p, q, breakpoints) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log p, log q and the weights at the Gauss–Legendre nodes between ``breakpoints``."""
    nodes, weights = gauss_legendre(breakpoints)
    return p.log_density(nodes[:, None]), q.log_density(nodes[:, None]), weights


def at_samples(p, q, n: int, seed: int) -> tuple[np.ndarray, ...]:
    """log p and log q at n samples of P, then at n samples of Q."""
    rng = np.random.default_rng(seed)
    x_p, x_q = p.sample(n, rng), q.sample(n, rng)
    return p.log_density(x_p), q.log_density(x_p), p.log_density(x_q), q.log_density(x_q)


def test_gaussian_kl_closed_form():
    # log(σ2/σ1) + (σ1² + (μ1 − μ2)²)/(2σ2²) − 1/2
    assert gaussian_kl(0, 1, 1, 2) == pytest.approx(math.log(2) + 2 / 8 - 0.5, abs=1e-15)
    assert gaussian_kl(1, 2, 0, 1) == pytest.approx(math.log(0.5) + 5 / 2 - 0.5, abs=1e-15)
    assert gaussian_kl(3, 1.5, 3, 1.5) == 0


@pytest.mark.parametrize(("mean_p", "std_p", "mean_q", "std_q"), GAUSSIANS)
def test_gaussian_kl_by_quadrature_and_monte_carlo(mean_p, std_p, mean_q, std_q):
    p, q = gaussian(mean_p, std_p), gaussian(mean_q, std_q)
    exact = gaussian_kl(mean_p, std_p, mean_q, std_q)
    log_p, log_q, weights = on_nodes(p, q, [-40.0, 40.0])
    assert kl_divergence(log_p, log_q, weights) == pytest.approx(exact, abs=1e-12)
    estimate = kl_monte_carlo(*at_samples(p, q, 50_000, seed=1)[:2])
    assert abs(estimate.value - exact) < 4 * estimate.standard_error + 1e-12


def test_kl_is_non_negative_and_asymmetric_for_unequal_variances():
    for mean_p, std_p, mean_q, std_q in GAUSSIANS:
        log_p, log_q, weights = on_nodes(
            gaussian(mean_p, std_p), gaussian(mean_q, std_q), [-40, 40]
        )
        assert kl_divergence(log_p, log_q, weights) >= -1e-12
        assert kl_divergence(log_q, log_p, weights) >= -1e-12
    log_p, log_q, weights = on_nodes(gaussian(0, 1), gaussian(0, 2), [-40, 40])
    forward, reverse = kl_divergence(log_p, log_q, weights), kl_divergence(log_q, log_p, weights)
    assert forward == pytest.approx(math.log(2) + 1 / 8 - 0.5)
    assert reverse == pytest.approx(-math.log(2) + 2 - 0.5)
    assert reverse > 2 * forward


@pytest.mark.parametrize(("mean_p", "std_p", "mean_q", "std_q"), GAUSSIANS)
def test_jsd_is_at_most_log_2_and_half_the_symmetrised_kl(mean_p, std_p, mean_q, std_q):
    log_p, log_q, weights = on_nodes(gaussian(mean_p, std_p), gaussian(mean_q, std_q), [-40, 40])
    jsd = jensen_shannon_divergence(log_p, log_q, weights)
    assert -1e-12 <= jsd <= LOG_2
    assert jsd == pytest.approx(jensen_shannon_divergence(log_q, log_p, weights), abs=1e-12)
    # KL(P‖M) ≤ ½ KL(P‖Q) by convexity, so JSD ≤ ½ of the seed's formula: never equal to it
    assert jsd <= 0.5 * symmetrised_kl(log_p, log_q, weights) + 1e-12


def test_jsd_is_log_2_on_disjoint_supports_where_kl_is_infinite():
    p, q = Uniform(0.0, 1.0), Uniform(2.0, 3.0)
    log_p, log_q, weights = on_nodes(p, q, [0.0, 1.0, 2.0, 3.0])
    assert jensen_shannon_divergence(log_p, log_q, weights) == pytest.approx(LOG_2, abs=1e-12)
    assert kl_divergence(log_p, log_q, weights) == math.inf
    assert kl_divergence(log_q, log_p, weights) == math.inf
    assert symmetrised_kl(log_p, log_q, weights) == math.inf
    assert uncovered_mass(log_p, log_q, weights) == pytest.approx(1.0)
    samples = at_samples(p, q, 1000, seed=2)
    assert kl_monte_carlo(*samples[:2]).value == math.inf
    assert jensen_shannon_monte_carlo(*samples).value == pytest.approx(LOG_2, abs=1e-12)


def test_jsd_of_half_overlapping_uniforms_is_half_log_2():
    log_p, log_q, weights = on_nodes(Uniform(0.0, 2.0), Uniform(1.0, 3.0), [0.0, 1.0, 2.0, 3.0])
    assert jensen_shannon_divergence(log_p, log_q, weights) == pytest.approx(LOG_2 / 2, abs=1e-12)
    assert uncovered_mass(log_p, log_q, weights) == pytest.approx(0.5)


def test_jsd_is_zero_for_equal_distributions():
    p = GaussianMixture(np.array([[-2.0], [2.0]]), 0.5)
    log_p, _, weights = on_nodes(p, p, [-30, 30])
    assert jensen_shannon_divergence(log_p, log_p, weights) == pytest.approx(0, abs=1e-12)
    assert kl_divergence(log_p, log_p, weights) == pytest.approx(0, abs=1e-12)
    estimate = jensen_shannon_monte_carlo(*at_samples(p, p, 1000, seed=3))
    assert estimate.value == pytest.approx(0, abs=1e-12)


def test_trapezoid_weights_are_the_trapezoid_rule():
    x = np.sort(np.random.default_rng(0).uniform(-3, 3, 50))
    f = np.cos(x)
    assert trapezoid_weights(x) @ f == pytest.approx(np.trapezoid(f, x), abs=1e-12)


def strict_json(text: str) -> dict:
    """JSON without the non-standard Infinity and NaN."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))


def test_cli_json_has_every_quantity_and_infinities_with_their_reason(tmp_path, capsys):
    capsys.readouterr()
    argv = ["toy", "divergences", "--json", "--out", str(tmp_path), "--samples", "5000"]
    assert main(argv) == 0
    summary = strict_json(capsys.readouterr().out)
    assert set(summary["pairs"]) == {"gaussians", "mixture", "disjoint"}
    keys = ("kl_pq", "kl_qp", "jsd", "symmetrised_kl")
    for pair in summary["pairs"].values():
        for key in keys:
            assert {key, f"{key}_mc", f"{key}_mc_se"} <= set(pair)
        for key in keys:  # the Monte Carlo estimate agrees with the quadrature
            if pair[key] != "inf":
                assert abs(pair[f"{key}_mc"] - pair[key]) < 5 * pair[f"{key}_mc_se"] + 1e-9
        assert pair["jsd"] <= summary["log_2"] + 1e-12
    gaussians, disjoint = summary["pairs"]["gaussians"], summary["pairs"]["disjoint"]
    assert gaussians["kl_pq"] == pytest.approx(gaussian_kl(0, 1, 1, 2), abs=1e-12)
    assert gaussians["kl_pq"] == pytest.approx(gaussians["exact"]["kl_pq"], abs=1e-12)
    assert gaussians["infinite"] == {}
    for key in ("kl_pq", "kl_qp", "symmetrised_kl"):
        assert disjoint[key] == disjoint[f"{key}_mc"] == "inf"
        assert key in disjoint["infinite"]
    assert "100% of its mass" in disjoint["infinite"]["kl_pq"]
    assert disjoint["jsd"] == pytest.approx(math.log(2), abs=1e-12)
    assert strict_json((tmp_path / "summary.json").read_text()) == summary
    assert (tmp_path / "divergences.png").stat().st_size > 10_000


def test_cli_text_explains_and_refuses_training_options(tmp_path, capsys):
    capsys.readouterr()
    assert main(["toy", "divergences", "--out", str(tmp_path), "--samples", "1000"]) == 0
    text = capsys.readouterr().out
    assert "not the JSD" in text and "advnets toy 1d" in text and "log 2" in text
    assert main(["toy", "divergences", "--out", str(tmp_path), "--epochs", "3"]) == 2
    assert "trains nothing: --epochs" in capsys.readouterr().err
