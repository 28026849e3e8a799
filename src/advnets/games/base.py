"""What a game is to the trainer: networks, their optimisers, and update phases.

A game (the paper's GAN, and later conditional GANs, VAEs, ...) owns its networks and
optimisers and knows how to update them; the trainer (``advnets.training.loop``) knows only
the order of the data, the schedules, the precision, the processes and the checkpoints.
Each minibatch the trainer runs the game's *phases* that are due, in order; a phase
computes its losses, takes its optimiser steps and returns a small tensor of statistics.

Optimisers are keyed by the role of what they train, which is how the trainer counts
updates for the schedules and the checkpoints: ``"d"`` a critic (the discriminator,
counted in ``d_updates``), ``"g"`` the generator (``g_updates``, the run's step).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from advnets.runs import checkpoint as ckpt

ROLES = ("d", "g")  # the roles an optimiser may have (see the module's docstring)


def always(updates: Mapping[str, int]) -> bool:
    """A phase that runs on every minibatch."""
    return True


@dataclass(frozen=True)
class Minibatch:
    """What a phase gets from the trainer: data, the noise stream, the slice, the precision."""

    real: torch.Tensor  # this process's slice of the global minibatch
    size: int  # m, the global minibatch's size (noise is drawn for all of it)
    noise_rng: torch.Generator  # the stream of z, the same on every process
    shard: Callable[[torch.Tensor], torch.Tensor] = lambda batch: batch  # this process's slice
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    labels: torch.Tensor | None = None  # the class of each of ``real`` (a conditional game's)
    # a minibatch of a two-domain set's domain B, unpaired with ``real`` (domain A's): CycleGAN's
    other: torch.Tensor | None = None


@dataclass(frozen=True)
class Phase:
    """One kind of update: ``run`` computes its losses, steps the optimisers of ``updates``
    and returns its statistics. It runs when ``due`` says so, given the update counts so far
    (by role). The statistics of the one ``logged`` phase that runs on a minibatch are logged;
    those of the others are only checked to be finite.

    ``run`` does device work only, so that a CUDA graph can capture it once and replay it
    (``advnets.training.graphs``): it keeps no Python state that changes from one update to
    the next, and its tensors that outlive it are updated in place. What the host must note
    after each update goes in ``bookkeeping``, which runs after replays too."""

    name: str
    run: Callable[[Minibatch], torch.Tensor]
    updates: tuple[str, ...]
    due: Callable[[Mapping[str, int]], bool] = field(default=always)
    logged: bool = True
    bookkeeping: Callable[[], None] | None = None


class Game(ABC):
    """Networks, their optimisers and the phases that update them."""

    generator: nn.Module  # the network samples come from while it trains
    conditional: bool = False  # whether its phases need the minibatch's class labels
    replays_graphs: bool = True  # whether its phases may be replayed as CUDA graphs (on a GPU)
    optimizers: dict[str, torch.optim.Optimizer]  # by role, "d" and/or "g"
    stat_names: tuple[str, ...]  # what a logged phase's statistics are, in order

    @abstractmethod
    def phases(self) -> list[Phase]:
        """The phases of one minibatch, in the order they run."""

    @abstractmethod
    def distribute(self, wrap: Callable[[nn.Module], nn.Module] | None) -> None:
        """Update through ``wrap(network)`` (DistributedDataParallel) from now on; None:
        through the networks themselves again."""

    @abstractmethod
    def sampler(self) -> nn.Module:
        """The generator samples are drawn from (for pictures, validation, checkpoints)."""

    @abstractmethod
    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Every tensor of the game a checkpoint holds (weights, optimiser buffers), and its
        JSON-ready metadata."""

    @abstractmethod
    def load_state_tensors(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Continue from what :meth:`state_tensors` handed to a checkpoint."""

    def networks_state(
        self, networks: dict[str, nn.Module]
    ) -> tuple[dict[str, torch.Tensor], dict]:
        """What a checkpoint keeps of ``networks`` (keyed by their tensors' name prefix) and of
        every optimiser: the tensors, and the JSON-ready metadata."""
        tensors: dict[str, torch.Tensor] = {}
        for prefix, network in networks.items():
            tensors.update(ckpt.module_tensors(prefix, network))
        optimizer_tensors, meta = self.optimizer_state()
        return {**tensors, **optimizer_tensors}, meta

    def load_networks_state(
        self, networks: dict[str, nn.Module], tensors: dict[str, torch.Tensor], meta: dict
    ) -> None:
        """Restore ``networks`` and every optimiser from what :meth:`networks_state` saved."""
        for prefix, network in networks.items():
            ckpt.load_module(prefix, network, tensors)
        self.load_optimizer_state(tensors, meta)

    def optimizer_state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """The tensors and the JSON-ready metadata of every optimiser's state, by role, for a
        checkpoint (``optimizer.d``, ``optimizer.g``)."""
        tensors, meta = {}, {}
        for role in (role for role in ROLES if role in self.optimizers):
            name = f"optimizer.{role}"
            role_tensors, meta[name] = ckpt.optimizer_tensors(name, self.optimizers[role])
            tensors.update(role_tensors)
        return tensors, meta

    def load_optimizer_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Restore every optimiser from what :meth:`optimizer_state` handed a checkpoint."""
        for role in (role for role in ROLES if role in self.optimizers):
            name = f"optimizer.{role}"
            ckpt.load_optimizer(name, self.optimizers[role], tensors, meta[name])

    def minibatches_per_step(self) -> int:
        """Minibatches per generator update (for the progress bar)."""
        return 1

    def flops_per_image(self) -> float:
        """Necessary FLOPs per training image of one minibatch's phases."""
        return 0.0

    def summary(self, means: dict[str, float]) -> dict[str, float]:
        """Quantities derived from a log window's mean statistics, logged beside them."""
        return {}

    def progress(self, means: dict[str, float]) -> dict[str, str]:
        """The few mean statistics the progress bar shows."""
        return {}
