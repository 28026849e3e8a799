"""Tests of the Parzen-window evaluation (Goodfellow et al., 2014, Section 5)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from advnets.evaluation.parzen import (
    PAPER_SIGMAS,
    ParzenResult,
    parzen_log_likelihood,
    parzen_protocol,
    reference_monitor_ll,
    squared_distances,
    validate_samples,
)


def brute_force_log_likelihood(x: np.ndarray, mu: np.ndarray, sigma: float) -> np.ndarray:
    """Reference in float64: explicit differences, logsumexp by the max trick."""
    x, mu = x.astype(np.float64), mu.astype(np.float64)
    sq = ((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1)
    exponents = -sq / (2 * sigma**2)
    top = exponents.max(1)
    lse = top + np.log(np.exp(exponents - top[:, None]).sum(1))
    n, d = mu.shape
    return lse - np.log(n) - d / 2 * np.log(2 * np.pi * sigma**2)


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((50, 20), dtype=np.float32), rng.random((300, 20), dtype=np.float32)


def test_paper_sigmas() -> None:
    assert PAPER_SIGMAS.shape == (10,)
    assert PAPER_SIGMAS[0] == pytest.approx(0.1) and PAPER_SIGMAS[-1] == pytest.approx(1.0)


def test_squared_distances_match_explicit_differences(data) -> None:
    x, mu = (torch.from_numpy(a).double() for a in data)
    expected = ((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1)
    torch.testing.assert_close(squared_distances(x, mu), expected)
    same = squared_distances(mu[:5], mu[:5]).diagonal()
    assert torch.all(same >= 0) and torch.all(same < 1e-12)


@pytest.mark.parametrize("sigma", [0.05, 0.1, 0.3, 1.0])
def test_matches_brute_force(data, sigma: float) -> None:
    x, mu = data
    got = parzen_log_likelihood(x, mu, sigma)
    assert got.dtype == torch.float64 and got.shape == (50,)
    np.testing.assert_allclose(got.numpy(), brute_force_log_likelihood(x, mu, sigma), atol=1e-3)


def test_float64_gemm_matches_brute_force_tightly(data) -> None:
    x, mu = data
    got = parzen_log_likelihood(x, mu, 0.2, gemm_dtype=torch.float64)
    np.testing.assert_allclose(got.numpy(), brute_force_log_likelihood(x, mu, 0.2), atol=1e-9)


@pytest.mark.parametrize("sigma", [1e-2, 1e-3])
def test_stable_where_naive_exp_underflows(data, sigma: float) -> None:
    x, mu = data
    sq = ((x[:, None, :].astype(np.float64) - mu[None]) ** 2).sum(-1)
    with np.errstate(under="ignore"):
        assert np.all(np.exp(-sq / (2 * sigma**2)) == 0)  # the naive sum is 0: log gives -inf
    got = parzen_log_likelihood(x, mu, sigma).numpy()
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, brute_force_log_likelihood(x, mu, sigma), rtol=1e-5)


def test_accepts_tensors_and_chunking_does_not_matter(data) -> None:
    x, mu = data
    whole = parzen_log_likelihood(x, mu, 0.3)
    chunked = parzen_log_likelihood(torch.from_numpy(x), torch.from_numpy(mu), 0.3, batch_size=7)
    torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=0)  # float32 GEMM blocking


def test_multi_sigma_equals_per_sigma_calls(data) -> None:
    x, mu = data
    sigmas = [0.05, 0.2, 0.7]
    together = parzen_log_likelihood(x, mu, sigmas, batch_size=16)
    assert together.shape == (3, 50)
    for row, sigma in zip(together, sigmas, strict=True):
        torch.testing.assert_close(row, parzen_log_likelihood(x, mu, sigma, batch_size=16))


@pytest.mark.parametrize("n_copies", [1, 25])
def test_closed_form_at_a_sample(n_copies: int) -> None:
    d, sigma = 784, 0.3
    mu = np.random.default_rng(1).random((1, d), dtype=np.float32)
    got = parzen_log_likelihood(mu, np.repeat(mu, n_copies, axis=0), sigma)
    assert got.item() == pytest.approx(-d / 2 * math.log(2 * math.pi * sigma**2), abs=1e-6)


def test_rejects_bad_arguments(data) -> None:
    x, mu = data
    with pytest.raises(ValueError, match="sigma"):
        parzen_log_likelihood(x, mu, 0.0)
    with pytest.raises(ValueError, match="same number of columns"):
        parzen_log_likelihood(x[:, :10], mu, 0.1)


def known_sigma_data(sigma_true: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Well-separated centres, with valid/test rows = a centre + N(0, sigma_true² I)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.2, 0.8, size=(100, 20)).astype(np.float32)

    def around(n: int) -> np.ndarray:
        noisy = centres[rng.integers(0, len(centres), n)] + sigma_true * rng.standard_normal(
            (n, 20)
        )
        return np.clip(noisy, 0, 1).astype(np.float32)

    return centres, around(400), around(300)


def test_protocol_picks_the_true_bandwidth() -> None:
    grid = [0.005, 0.01, 0.02, 0.04, 0.08]
    for sigma_true in (0.01, 0.04):
        samples, valid, test = known_sigma_data(sigma_true)
        result = parzen_protocol(samples, valid, test, sigmas=grid, n_valid=200)
        assert result.sigma == sigma_true
        assert result.sigma == max(result.valid_ll_by_sigma, key=result.valid_ll_by_sigma.get)
        assert list(result.valid_ll_by_sigma) == grid


def test_protocol_uses_only_the_first_n_valid_rows() -> None:
    samples, valid, test = known_sigma_data(0.02)
    before = parzen_protocol(samples, valid, test, sigmas=[0.01, 0.02, 0.04], n_valid=100)
    valid_changed = valid.copy()
    valid_changed[100:] = np.random.default_rng(9).random(valid[100:].shape, dtype=np.float32)
    after = parzen_protocol(samples, valid_changed, test, sigmas=[0.01, 0.02, 0.04], n_valid=100)
    assert after.valid_ll_by_sigma == before.valid_ll_by_sigma
    assert (after.test_ll, after.test_se, after.sigma) == (
        before.test_ll,
        before.test_se,
        before.sigma,
    )
    changed_inside = valid_changed.copy()
    changed_inside[:100] = valid_changed[100:200]
    inside = parzen_protocol(samples, changed_inside, test, sigmas=[0.01, 0.02, 0.04], n_valid=100)
    assert inside.valid_ll_by_sigma != before.valid_ll_by_sigma


def test_protocol_reports_mean_and_standard_error(data) -> None:
    x, mu = data
    result = parzen_protocol(mu, x, x[:40], n_valid=30)
    assert isinstance(result, ParzenResult)
    per_row = parzen_log_likelihood(x[:40], mu, result.sigma).numpy()
    assert result.test_ll == pytest.approx(per_row.mean(), abs=1e-9)
    assert result.test_se == pytest.approx(np.std(per_row) / np.sqrt(40), abs=1e-9)
    assert (result.n_samples, result.n_valid, result.n_test) == (300, 30, 40)
    assert set(result.valid_ll_by_sigma) == {float(s) for s in PAPER_SIGMAS}
    record = json.loads(json.dumps(result.to_dict()))
    assert record["sigma"] == result.sigma and len(record["valid_ll_by_sigma"]) == 10
    assert result.seconds > 0


def test_protocol_without_test_rows_scores_the_validation_rows_once(data) -> None:
    x, mu = data
    twice = parzen_protocol(mu, x, x[:30], n_valid=30).to_dict()
    once = parzen_protocol(torch.from_numpy(mu), torch.from_numpy(x), n_valid=30).to_dict()
    assert once.pop("seconds") > 0 and twice.pop("seconds") > 0
    assert once == twice  # the same numbers, bit for bit


def test_protocol_rejects_too_few_valid_rows(data) -> None:
    x, mu = data
    with pytest.raises(ValueError, match="n_valid"):
        parzen_protocol(mu, x, x, n_valid=1000)


def test_validate_samples_returns_float32_contiguous() -> None:
    array = np.random.default_rng(0).random((784, 3))  # float64, transposed below
    out = validate_samples(array.T)
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.shape == (3, 784)
    validate_samples(np.full((2, 784), 1 + 1e-7, dtype=np.float32))  # rounding is tolerated


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros(784, dtype=np.float32), "2-D"),
        (np.zeros((4, 28, 28), dtype=np.float32), "2-D"),
        (np.zeros((4, 100), dtype=np.float32), "100 values per row but 784"),
        (np.zeros((0, 784), dtype=np.float32), "empty"),
        (np.zeros((4, 784), dtype=np.uint8), "floating-point dtype.*uint8"),
        (np.full((4, 784), np.nan, dtype=np.float32), "NaN or infinite"),
        (np.full((4, 784), np.inf, dtype=np.float32), "NaN or infinite"),
        (np.full((4, 784), 255.0, dtype=np.float32), r"outside \[0, 1\]"),
        (np.full((4, 784), -0.5, dtype=np.float32), r"outside \[0, 1\]"),
    ],
)
def test_validate_samples_names_the_problem(array: np.ndarray, match: str) -> None:
    for given in (array, torch.from_numpy(array)):  # tensors are checked where they are
        with pytest.raises(ValueError, match=match) as excinfo:
            validate_samples(given, name="generated")
        assert str(excinfo.value).startswith("generated ")


def test_validate_samples_keeps_a_tensor_a_tensor() -> None:
    array = np.random.default_rng(0).random((784, 3))
    out = validate_samples(torch.from_numpy(array).T)
    assert out.dtype == torch.float32 and out.is_contiguous() and out.shape == (3, 784)
    assert np.array_equal(out.numpy(), validate_samples(array.T))


def theano_parzen_transcribed(x: np.ndarray, mu: np.ndarray, sigma: float) -> np.ndarray:
    """The reference code's ``theano_parzen`` in NumPy: log_mean_exp(−½‖(x − μ)/σ‖²) −
    d·log(σ√(2π))."""
    a = (x[:, None, :].astype(np.float64) - mu[None, :, :]) / sigma
    e = -0.5 * (a**2).sum(2)
    top = e.max(1, keepdims=True)
    return (top[:, 0] + np.log(np.exp(e - top).mean(1))) - mu.shape[1] * np.log(
        sigma * np.sqrt(2 * np.pi)
    )


def test_reference_monitor_scores_each_batch_of_100_against_its_own_100_samples():
    rng = np.random.default_rng(3)
    valid = rng.random((350, 12), dtype=np.float32)  # three whole batches and a remainder
    samples = rng.random((400, 12), dtype=np.float32)
    batches = [
        theano_parzen_transcribed(
            valid[b * 100 : (b + 1) * 100], samples[b * 100 : (b + 1) * 100], 0.2
        )
        for b in range(3)
    ]
    expected = float(np.concatenate(batches).mean())
    assert reference_monitor_ll(samples, valid) == pytest.approx(expected, rel=1e-6)
    assert reference_monitor_ll(torch.from_numpy(samples), torch.from_numpy(valid)) == (
        pytest.approx(expected, rel=1e-6)
    )
    with pytest.raises(ValueError, match="at least 100 samples"):
        reference_monitor_ll(samples[:99], valid)
