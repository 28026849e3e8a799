"""Remedies for mode collapse that change the game, not the networks' layers.

- Packing, PacGAN (Lin, Khetan, Fanti and Oh, "PacGAN: The power of two samples in
  generative adversarial networks", NeurIPS 2018): D judges m samples at once, their
  coordinates side by side. A minibatch of n samples is split into n/m packs of m
  consecutive samples; real packs hold only real samples, fake packs only fakes. A G that
  puts all its mass on a few modes makes packs whose members agree far more often than
  real ones do, which a packed D sees; D's loss is the paper's, on packs.
- Unrolled D steps (Metz, Poole, Pfau and Sohl-Dickstein, "Unrolled generative adversarial
  networks", ICLR 2017): G's loss is taken against a copy of D advanced K D steps on the
  current minibatch, so G is steered away from what D will answer next rather than from
  what it answers now. This is the first-order form: G's gradient is that of its loss
  at the unrolled D's weights, with no gradient through the K steps themselves (Metz et
  al.'s Eq. (12) without its second term). D's own update is the ordinary one; the copy
  is thrown away.

The third remedy of the lab, the minibatch standard deviation (Karras et al. 2018), is a
layer of D (``advnets.models.mlp.minibatch_std``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn


def pack(samples: torch.Tensor, m: int) -> torch.Tensor:
    """(n, d) samples as n/m packs of m consecutive samples side by side, (n/m, m·d)."""
    n = len(samples)
    if n % m:
        raise ValueError(f"a batch of {n} samples does not divide into packs of {m}.")
    return samples if m == 1 else samples.reshape(n // m, m * samples.shape[1])


class UnrolledDiscriminator:
    """A copy of D and of its optimiser that K D steps advance from D's current state
    before each G step (Metz et al. 2017), leaving D and its optimiser untouched.

    The copy's weights and optimiser buffers are overwritten in place from D's each time
    (after the first, which builds the buffers), so the update does device work only."""

    def __init__(
        self,
        discriminator: nn.Module,
        optimizer: torch.optim.Optimizer,
        build_optimizer: Callable[[list[nn.Parameter]], torch.optim.Optimizer],
        steps: int,
    ) -> None:
        self.source, self.source_optimizer, self.steps = discriminator, optimizer, steps
        self.network = copy.deepcopy(discriminator)
        self.optimizer = build_optimizer(list(self.network.parameters()))

    def _copy_state(self) -> None:
        """The copy := D, its optimiser := D's (buffers and hyperparameters)."""
        with torch.no_grad():
            torch._foreach_copy_(list(self.network.parameters()), list(self.source.parameters()))
            for mine, theirs in zip(self.network.buffers(), self.source.buffers(), strict=True):
                mine.copy_(theirs)
        pairs = zip(self.optimizer.param_groups, self.source_optimizer.param_groups, strict=True)
        for mine, theirs in pairs:
            mine.update({key: value for key, value in theirs.items() if key != "params"})
            for p_mine, p_theirs in zip(mine["params"], theirs["params"], strict=True):
                source_state = self.source_optimizer.state.get(p_theirs, {})
                state = self.optimizer.state[p_mine]
                for key, value in source_state.items():
                    if torch.is_tensor(value) and key in state:
                        state[key].copy_(value)
                    else:
                        state[key] = value.clone() if torch.is_tensor(value) else value
                for key in [key for key in state if key not in source_state]:
                    del state[key]

    def advance(self, d_loss: Callable[[nn.Module], torch.Tensor]) -> nn.Module:
        """The copy of D after K steps that descend ``d_loss(network)`` from D's state."""
        self._copy_state()
        for _ in range(self.steps):
            loss = d_loss(self.network)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward(inputs=list(self.network.parameters()))
            self.optimizer.step()
        return self.network
