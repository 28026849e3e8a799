"""The importance-weighted log-likelihood (Burda et al. 2016): exact where the posterior is,
ordered ELBO ≤ L_k ≤ L_k' ≤ log p(x), stable for large log weights, and the protocol."""

from __future__ import annotations

import json
import math

import torch

from advnets.evaluation.likelihood import importance_weighted_bounds, likelihood_protocol
from advnets.models.autoencoder import VAE


class LinearGaussian:
    """z ~ N(0, I_d), x = W z + b + s·noise with W = Q diag(c) (orthonormal Q): log p(x) and
    the posterior, which is diagonal, are exact. ``shift`` and ``widen`` spoil the proposal."""

    def __init__(self, dim: int = 6, latent: int = 3, shift: float = 0.0, widen: float = 1.0):
        g = torch.Generator().manual_seed(0)
        q, _ = torch.linalg.qr(torch.randn(dim, latent, generator=g, dtype=torch.float64))
        self.w = q * torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)[:latent]
        self.b = torch.randn(dim, generator=g, dtype=torch.float64)
        self.s = 0.7
        self.shift, self.widen = shift, widen

    def exact_log_p(self, x: torch.Tensor) -> torch.Tensor:
        covariance = self.w @ self.w.T + self.s**2 * torch.eye(len(self.b), dtype=torch.float64)
        return torch.distributions.MultivariateNormal(self.b, covariance).log_prob(x)

    def sample(self, n: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(1)
        z = torch.randn(n, self.w.shape[1], generator=g, dtype=torch.float64)
        noise = torch.randn(n, len(self.b), generator=g, dtype=torch.float64)
        return z @ self.w.T + self.b + self.s * noise

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        precision = 1 + (self.w**2).sum(0) / self.s**2  # I + WᵀW/s², diagonal
        mean = (x - self.b) @ self.w / self.s**2 / precision
        return mean + self.shift, (-precision.log() + 2 * math.log(self.widen)).expand_as(mean)

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        residual = x - (z @ self.w.T + self.b)
        return -0.5 * (math.log(2 * math.pi * self.s**2) + residual.square() / self.s**2).sum(-1)


def test_exact_for_every_k_when_the_proposal_is_the_posterior():
    model = LinearGaussian()
    x = model.sample(50)
    exact = model.exact_log_p(x)
    for k, chunk in ((1, 1), (7, 3), (64, 100)):
        ll, elbo = importance_weighted_bounds(model, x, k, chunk=chunk)
        assert ll.dtype == torch.float64 and ll.shape == (50,)
        torch.testing.assert_close(ll, exact, rtol=0, atol=1e-9)
    # KL(q ‖ posterior) = 0: the ELBO is log p(x) too, up to its Monte Carlo reconstruction term
    error = elbo - exact
    assert abs(error.mean()) < 4 * error.std() / len(error) ** 0.5


def test_elbo_below_lk_increasing_in_k_towards_log_p():
    model = LinearGaussian(shift=0.4, widen=1.8)
    x = model.sample(2000)
    exact = model.exact_log_p(x)
    g = torch.Generator().manual_seed(0)
    bounds = {k: importance_weighted_bounds(model, x, k, generator=g) for k in (1, 10, 100, 1000)}
    gaps = {k: exact - ll for k, (ll, _) in bounds.items()}  # paired over the same images

    def mean_and_se(values: torch.Tensor) -> tuple[float, float]:
        return values.mean().item(), values.std().item() / len(values) ** 0.5

    elbo_gap, elbo_se = mean_and_se(exact - bounds[1][1])
    assert elbo_gap > 10 * elbo_se  # a poor proposal: a loose ELBO
    same, same_se = mean_and_se(gaps[1] - (exact - bounds[1][1]))
    assert abs(same) < 4 * same_se  # L_1 is the ELBO
    for small, large in ((1, 10), (10, 100), (100, 1000)):
        gain, gain_se = mean_and_se(gaps[small] - gaps[large])
        assert gain > 3 * gain_se, (small, large, gain, gain_se)
    left, left_se = mean_and_se(gaps[1000])
    assert -4 * left_se < left < gaps[10].mean()


def test_huge_log_weights_neither_underflow_nor_overflow():
    model = LinearGaussian(shift=0.4)
    x = model.sample(20)

    class Shifted(LinearGaussian):
        def log_likelihood(self, x, z):
            return model.log_likelihood(x, z) - 1e5  # e^(−1e5) is 0 in any float

    shifted = Shifted(shift=0.4)
    ll, _ = importance_weighted_bounds(model, x, 50, generator=torch.Generator().manual_seed(0))
    far, _ = importance_weighted_bounds(shifted, x, 50, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(far, ll - 1e5, rtol=0, atol=1e-9)


def test_protocol_on_a_vae_reports_both_bounds_with_standard_errors():
    torch.manual_seed(0)
    vae = VAE(data_dim=64, hidden=16, latent_dim=3, init_std=0.3)
    x = (torch.rand(30, 64, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    result = likelihood_protocol(vae, x, k=200, batch_size=8, chunk=64)
    assert (result.k, result.n_test) == (200, 30) and result.seconds > 0
    assert result.test_elbo < result.test_ll < 0 and result.test_se > 0 and result.test_elbo_se > 0
    assert json.loads(json.dumps(result.to_dict()))["k"] == 200
    again = likelihood_protocol(vae, x, k=200, batch_size=8, chunk=64)
    assert again.test_ll == result.test_ll  # seeded
