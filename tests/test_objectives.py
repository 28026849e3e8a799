"""The value function and the two generator losses, against their definitions."""

from __future__ import annotations

import math

import torch

from advnets.games.losses import (
    discriminator_loss,
    generator_loss,
    minimax_generator_loss,
    non_saturating_generator_loss,
    value_function,
)


def test_value_function_matches_its_definition():
    real, fake = torch.randn(50, dtype=torch.float64), torch.randn(50, dtype=torch.float64)
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected = torch.log(d_real).mean() + torch.log(1 - d_fake).mean()
    assert torch.allclose(value_function(real, fake), expected)
    assert torch.allclose(discriminator_loss(real, fake), -expected / 2)


def test_value_at_the_equilibrium_is_minus_log_4():
    zeros = torch.zeros(10)  # D = 1/2 everywhere
    assert math.isclose(value_function(zeros, zeros).item(), -math.log(4), rel_tol=1e-6)


def test_generator_losses_match_their_definitions():
    fake = torch.randn(50, dtype=torch.float64)
    d_fake = torch.sigmoid(fake)
    assert torch.allclose(minimax_generator_loss(fake), torch.log(1 - d_fake).mean())
    assert torch.allclose(non_saturating_generator_loss(fake), -torch.log(d_fake).mean())
    assert generator_loss("minimax") is minimax_generator_loss
    assert generator_loss("non_saturating") is non_saturating_generator_loss


def test_losses_are_finite_for_extreme_logits():
    logits = torch.tensor([-200.0, -50.0, 0.0, 50.0, 200.0], requires_grad=True)
    for loss in (
        value_function(logits, logits),
        minimax_generator_loss(logits),
        non_saturating_generator_loss(logits),
    ):
        (grad,) = torch.autograd.grad(loss, logits)
        assert torch.isfinite(loss) and torch.isfinite(grad).all()


def test_minimax_saturates_where_non_saturating_does_not():
    """When D confidently rejects a fake (logit -10), only -log D(G(z)) still pushes G."""
    logit = torch.tensor([-10.0], requires_grad=True)
    (g_minimax,) = torch.autograd.grad(minimax_generator_loss(logit), logit)
    (g_non_sat,) = torch.autograd.grad(non_saturating_generator_loss(logit), logit)
    assert abs(g_minimax.item()) < 1e-4
    assert abs(g_non_sat.item()) > 0.99


def test_unknown_generator_loss_names_the_choices():
    try:
        generator_loss("wasserstein")
    except ValueError as err:
        assert "minimax" in str(err) and "non_saturating" in str(err)
    else:
        raise AssertionError("expected ValueError")
