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
  what it answers now. In the first-order form G's gradient is that of its loss at the
  unrolled D's weights, with no gradient through the K steps themselves (Metz et al.'s
  Eq. (12) without its second term); in the second-order form, as Metz et al. train it,
  the gradient also flows through the K Adam steps back to the fakes they were taken on
  (the second term: how D would answer a change of G). D's own update is the ordinary one;
  the unrolled weights are thrown away.

The third remedy of the lab, the minibatch standard deviation (Karras et al. 2018), is a
layer of D (``advnets.models.mlp.minibatch_std``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call

# added under the square root of an unrolled Adam step, whose derivative is infinite at 0 (a
# weight whose gradient has always been 0); far below Adam's eps, so the step is unchanged
SQRT_FLOOR = 1e-30


def pack(samples: torch.Tensor, m: int) -> torch.Tensor:
    """(n, d) samples as n/m packs of m consecutive samples side by side, (n/m, m·d)."""
    n = len(samples)
    if n % m:
        raise ValueError(f"a batch of {n} samples does not divide into packs of {m}.")
    return samples if m == 1 else samples.reshape(n // m, m * samples.shape[1])


class UnrolledDiscriminator:
    """D advanced K D steps from its current state before each G step (Metz et al. 2017),
    leaving D and its optimiser untouched.

    First order: a copy of D and of its optimiser, whose weights and buffers are overwritten
    in place from D's each time (after the first, which builds the buffers), so the update
    does device work only. Second order: D's weights after K Adam steps written out, each
    step keeping its graph (:meth:`_unroll`)."""

    def __init__(
        self,
        discriminator: nn.Module,
        optimizer: torch.optim.Optimizer,
        build_optimizer: Callable[[list[nn.Parameter]], torch.optim.Optimizer],
        steps: int,
        second_order: bool = False,
    ) -> None:
        self.source, self.source_optimizer, self.steps = discriminator, optimizer, steps
        self.second_order = second_order
        if not second_order:
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

    def advance(self, d_loss: Callable[[Callable], torch.Tensor]) -> Callable:
        """D after K steps that descend ``d_loss(network)`` from D's state, as a network
        x -> D_K(x): in the second-order form, its weights keep the graph of the steps."""
        return self._unroll(d_loss) if self.second_order else self._advance_copy(d_loss)

    def _advance_copy(self, d_loss: Callable[[nn.Module], torch.Tensor]) -> nn.Module:
        """The copy of D after K steps of its optimiser (first order)."""
        self._copy_state()
        for _ in range(self.steps):
            loss = d_loss(self.network)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward(inputs=list(self.network.parameters()))
            self.optimizer.step()
        return self.network

    def _unroll(self, d_loss: Callable[[Callable], torch.Tensor]) -> Callable:
        """D after K Adam steps from D's weights and Adam state, as a function x -> D_K(x)
        whose weights keep the graph of every step (second order, Metz et al. 2017): a loss
        of D_K(G(z)) then differentiates through the steps to whatever ``d_loss`` took them
        on (the fakes, for G).

        Each step is PyTorch's Adam written out: m <- b1 m + (1 - b1) g, v <- b2 v +
        (1 - b2) g^2, w <- w - lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)."""
        group = self.source_optimizer.param_groups[0]
        (beta1, beta2), lr, eps = group["betas"], group["lr"], group["eps"]
        named = dict(self.source.named_parameters())
        buffers = dict(self.source.named_buffers())
        weights = {name: w.detach().requires_grad_() for name, w in named.items()}
        states = [(self.source_optimizer.state.get(w, {}), w) for w in named.values()]
        first = [s.get("exp_avg", torch.zeros_like(w)) for s, w in states]
        second = [s.get("exp_avg_sq", torch.zeros_like(w)) for s, w in states]
        step = states[0][0].get("step", torch.zeros(())).double()  # Adam's count, in float64

        def network(current: dict[str, torch.Tensor]) -> Callable:
            return lambda x: functional_call(self.source, {**current, **buffers}, (x,))

        for k in range(1, self.steps + 1):
            loss = d_loss(network(weights))
            grads = torch.autograd.grad(loss, list(weights.values()), create_graph=True)
            t = step + k
            first = [beta1 * m + (1 - beta1) * g for m, g in zip(first, grads, strict=True)]
            second = [beta2 * v + (1 - beta2) * g * g for v, g in zip(second, grads, strict=True)]
            size, correction = lr / (1 - beta1**t), 1 - beta2**t
            weights = {
                name: w - size * m / ((v / correction + SQRT_FLOOR).sqrt() + eps)
                for (name, w), m, v in zip(weights.items(), first, second, strict=True)
            }
        return network(weights)
