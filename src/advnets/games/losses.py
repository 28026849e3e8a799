"""The adversarial game's objectives, computed from discriminator logits.

Goodfellow et al. 2014, Eq. (1): the value function

    V(D, G) = E_x~pdata[log D(x)] + E_z~pz[log(1 - D(G(z)))],

which D maximises and G minimises. With D(x) = sigmoid(a), log D = -softplus(-a)
and log(1 - D) = -softplus(a), so every loss below is exact and numerically
stable for any logit a.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def value_function(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """V(D, G) of Eq. (1), estimated on a minibatch: mean log D(x) + mean log(1 - D(G(z)))."""
    return -F.softplus(-real_logits).mean() - F.softplus(fake_logits).mean()


def value_by_quadrature(
    logits: torch.Tensor, data_weights: torch.Tensor, generator_weights: torch.Tensor
) -> torch.Tensor:
    """V(D, G) = ∫ p_data(x) log D(x) + p_g(x) log(1 − D(x)) dx by quadrature: D's logits
    at the nodes, weighted by each density times the node's width."""
    return (
        -(data_weights * F.softplus(-logits)).sum() - (generator_weights * F.softplus(logits)).sum()
    )


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """What D descends: 1/2 (BCE(D(x), 1) + BCE(D(G(z)), 0)) = -V(D, G) / 2.

    The factor 1/2 is the reference code's (the mean over the joint real+fake batch).
    """
    return -0.5 * value_function(real_logits, fake_logits)


def minimax_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The saturating loss of Eq. (1): G descends E[log(1 - D(G(z)))].

    Early in training D rejects fakes confidently, D(G(z)) -> 0, and this
    objective's gradient vanishes (Section 3 of the paper).
    """
    return -F.softplus(fake_logits).mean()


def non_saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The paper's practical loss (Section 3): G descends -E[log D(G(z))].

    Same fixed point as the minimax game, much stronger gradients early on.
    """
    return F.softplus(-fake_logits).mean()


GENERATOR_LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "minimax": minimax_generator_loss,
    "non_saturating": non_saturating_generator_loss,
}


def generator_loss(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The generator loss registered under ``name`` ('minimax' or 'non_saturating')."""
    try:
        return GENERATOR_LOSSES[name]
    except KeyError:
        raise ValueError(
            f"unknown generator loss {name!r}; choose one of {', '.join(GENERATOR_LOSSES)}."
        ) from None
