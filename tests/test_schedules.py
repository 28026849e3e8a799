"""The paper's learning-rate decay, momentum ramp and classical momentum."""

from __future__ import annotations

import math

import torch

from advnets.games.optim import ClassicalMomentumSGD
from advnets.training.schedules import decayed_learning_rate, ramped_momentum


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
