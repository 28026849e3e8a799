"""The paper's learning-rate decay, momentum ramp and classical momentum."""

from __future__ import annotations

import math

import pytest
import torch

from advnets.games.optim import ClassicalMomentumSGD
from advnets.training.schedules import (
    annealed_learning_rate,
    decayed_learning_rate,
    ramped_momentum,
)


def test_learning_rate_decays_per_update_to_the_floor():
    assert decayed_learning_rate(0.1, 1.000004, 1e-6, 0) == 0.1
    assert math.isclose(decayed_learning_rate(0.1, 1.000004, 1e-6, 500), 0.1 / 1.000004**500)
    assert decayed_learning_rate(0.1, 1.000004, 1e-6, 10**8) == 1e-6


def test_momentum_ramps_linearly_over_epochs_1_to_250():
    assert ramped_momentum(0.5, 0.7, 250, 1) == 0.5
    assert math.isclose(ramped_momentum(0.5, 0.7, 250, 125.5), 0.6)
    assert math.isclose(ramped_momentum(0.5, 0.7, 250, 250), 0.7)
    assert math.isclose(ramped_momentum(0.5, 0.7, 250, 400), 0.7)


def test_classical_momentum_update_rule():
    """v <- mu v - lr g; theta <- theta + v, with lr changing between steps."""
    theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = ClassicalMomentumSGD([theta], lr=0.1, momentum=0.5)
    v = torch.zeros(2)
    expected = theta.detach().clone()
    for lr, mu in ((0.1, 0.5), (0.05, 0.6), (0.02, 0.7)):
        for group in opt.param_groups:
            group["lr"], group["momentum"] = lr, mu
        theta.grad = 2 * theta.detach()
        v = mu * v - lr * 2 * expected
        expected = expected + v
        opt.step()
        assert torch.allclose(theta.detach(), expected)


def test_root_epsilon_adam_is_salimans_et_al_s_update():
    """m^ / sqrt(v^ + 1e-8) with the bias corrections, lr a float or a tensor; a gradient of
    1e-5 moves its coordinate by about 0.1 lr where torch's Adam moves it by about lr."""
    from advnets.games.optim import RootEpsilonAdam

    theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = RootEpsilonAdam([theta], lr=0.1, betas=[0.5, 0.999])
    m, v, expected = torch.zeros(2), torch.zeros(2), theta.detach().clone()
    for t, grad in enumerate(([0.3, 1e-5], [-0.2, 1e-5], [0.1, 1e-5]), start=1):
        g = torch.tensor(grad)
        theta.grad = g.clone()
        opt.step()
        m, v = 0.5 * m + 0.5 * g, 0.999 * v + 0.001 * g**2
        expected -= 0.1 * (m / (1 - 0.5**t)) / torch.sqrt(v / (1 - 0.999**t) + 1e-8)
        assert torch.allclose(theta.detach(), expected, atol=1e-6)
    assert 0.025 < -2.0 - theta[1].item() < 0.035  # three steps of about 0.1 lr
    opt.param_groups[0]["lr"] = torch.tensor(0.05)  # as hyperparameters_on_device holds it
    theta.grad = torch.tensor([0.1, 1e-5])
    opt.step()
    assert torch.isfinite(theta).all()


def test_the_anneal_continues_from_where_the_paper_decay_stood():
    paper = (0.1, 1.000004, 1e-6)
    at = 240_500  # epoch 481 at batch 100
    start = decayed_learning_rate(*paper, at)
    assert annealed_learning_rate(*paper, at, at, 1.0002) == start
    assert annealed_learning_rate(*paper, at - 7, at, 1.0002) == decayed_learning_rate(
        *paper, at - 7
    )
    assert annealed_learning_rate(*paper, at + 5000, at, 1.0002) == pytest.approx(
        start / 1.0002**5000
    )  # e-fold in 10 epochs
    assert annealed_learning_rate(*paper, at + 10**6, at, 1.0002) == 1e-6  # the floor
    assert annealed_learning_rate(*paper, at + 5000, None, 1.0002) == decayed_learning_rate(
        *paper, at + 5000
    )
