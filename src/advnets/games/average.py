"""An exponential moving average of the generator's weights, the generator a run samples from.

Not in the paper. GAN training oscillates: G hops between the modes D has
least recently punished, so any one update's G over-draws some digits and
under-draws others. Averaging G's weights over the last few hundred updates
(Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training")
cancels much of that oscillation at the cost of one copy of G:

    theta_avg <- decay * theta_avg + (1 - decay) * theta_g      after every G update

Batch normalisation's running statistics describe the live weights, not the
average, so before the average is used they are measured afresh on its own
outputs ("precise BN"), from fixed noise that leaves training's random streams
untouched.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

CHECKPOINT_PREFIX = "generator_average"  # its tensors' names in a checkpoint
STATISTICS_NOISE_SEED = 2718  # the noise that measures the average's batch statistics
STATISTICS_BATCHES = 5  # batches of STATISTICS_BATCH_SIZE noise vectors (2,500 in all)
STATISTICS_BATCH_SIZE = 500


def sampling_prefix(tensors: dict[str, torch.Tensor]) -> str:
    """The checkpoint prefix of the generator to sample from: the average where one was kept,
    else G itself (runs without training.generator_average, and checkpoints from before it)."""
    averaged = any(name.startswith(CHECKPOINT_PREFIX + ".") for name in tensors)
    return CHECKPOINT_PREFIX if averaged else "generator"


class GeneratorAverage:
    """The running average of a generator's weights (``decay`` per update)."""

    def __init__(self, generator: nn.Module, decay: float) -> None:
        self.decay = decay
        self.generator = copy.deepcopy(generator).requires_grad_(False)
        self._measured = False  # the batch statistics fit the weights as they are now
        for module in self._norms():
            module.momentum = None  # a cumulative mean over the measuring batches

    def _norms(self) -> list[nn.modules.batchnorm._BatchNorm]:
        kind = nn.modules.batchnorm._BatchNorm
        return [m for m in self.generator.modules() if isinstance(m, kind)]

    @torch.no_grad()
    def update(self, generator: nn.Module) -> None:
        """theta_avg <- decay * theta_avg + (1 - decay) * theta_g."""
        averaged = list(self.generator.parameters())
        torch._foreach_lerp_(averaged, list(generator.parameters()), 1 - self.decay)

    def weights_changed(self) -> None:
        """Note that :meth:`update` ran (on the host: a CUDA graph's replay runs no Python)."""
        self._measured = False

    @torch.no_grad()
    def measure_statistics(self) -> None:
        """Measure the batch-normalisation statistics of the averaged weights on fixed noise,
        unless they were measured since the weights last changed."""
        norms = self._norms()
        if not norms or self._measured:
            return
        for module in norms:
            module.reset_running_stats()
        rng = torch.Generator().manual_seed(STATISTICS_NOISE_SEED)
        self.generator.train()
        for _ in range(STATISTICS_BATCHES):
            self.generator(self.generator.sample_noise(STATISTICS_BATCH_SIZE, rng))
        self.generator.eval()
        self._measured = True
