"""CUDA graphs: each phase of a game captured once, then replayed for every minibatch.

The paper's update is about 3 GFLOP for a minibatch of 100 on a GPU that does tens of
TFLOP/s: run op by op, the GPU waits on the host launching some hundred small kernels. A
CUDA graph records those launches once and replays them as one, so the host no longer sets
the pace. What a replay must still get right:

- **inputs**: the minibatch is copied into the captured input buffer before each replay;
  the scheduled learning rate and momentum live in device tensors the schedules fill in
  place (``games.optim.hyperparameters_on_device``);
- **randomness**: the noise stream and the default CUDA generator (dropout masks) are
  registered with every graph, so each replay draws fresh numbers, the ones the same op
  would draw run eagerly at that point of the stream;
- **memory**: tensors the phase keeps between updates are updated in place (see
  ``games.base.Phase``), and the phase's host bookkeeping runs after each replay.

A graph is captured after a few eager updates (``WARMUP_UPDATES``, real training updates,
run on a side stream as capture requires) have created the optimisers' state. Only on a
CUDA device, in a single process; elsewhere the phases run eagerly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from advnets.games.base import Minibatch, Phase

WARMUP_UPDATES = 3  # eager updates of each phase before it is captured


def graphs_supported(device: torch.device, world_size: int) -> bool:
    """Whether phases can be replayed as CUDA graphs here: a CUDA device, one process (a
    graph cannot hold DDP's collective calls), and a PyTorch whose graphs take a generator
    of their own (the noise stream's)."""
    return (
        device.type == "cuda"
        and world_size == 1
        and hasattr(torch.cuda.CUDAGraph, "register_generator_state")
    )


@dataclass
class _Captured:
    graph: torch.cuda.CUDAGraph
    real: torch.Tensor  # the input buffer the graph reads the minibatch from
    labels: torch.Tensor | None  # the buffer of its class labels (a conditional game's)
    stats: torch.Tensor  # the output buffer each replay writes the statistics to


class GraphedPhases:
    """Runs a game's phases, each as a CUDA graph once it has been captured."""

    def __init__(self, device: torch.device, noise_rng: torch.Generator) -> None:
        self.device = device
        self.noise_rng = noise_rng
        self._captured: dict[str, _Captured] = {}
        self._eager: dict[str, int] = {}  # eager updates so far, by phase
        self._side = torch.cuda.Stream(device)

    def run(self, phase: Phase, batch: Minibatch) -> torch.Tensor:
        """Update by ``phase`` on ``batch``; its statistics (overwritten by the phase's next
        replay: use them before then, as the trainer does)."""
        captured = self._captured.get(phase.name)
        if captured is None:
            if self._eager.get(phase.name, 0) < WARMUP_UPDATES:
                self._eager[phase.name] = self._eager.get(phase.name, 0) + 1
                return self._on_side_stream(phase, batch)
            captured = self._captured[phase.name] = self._capture(phase, batch)
        captured.real.copy_(batch.real)
        if captured.labels is not None:
            captured.labels.copy_(batch.labels)
        captured.graph.replay()
        return captured.stats

    def _on_side_stream(self, phase: Phase, batch: Minibatch) -> torch.Tensor:
        current = torch.cuda.current_stream(self.device)
        self._side.wait_stream(current)
        with torch.cuda.stream(self._side):
            stats = phase.run(batch)
        current.wait_stream(self._side)
        return stats

    def _capture(self, phase: Phase, batch: Minibatch) -> _Captured:
        """Record ``phase`` on a copy of ``batch`` (recording runs nothing: the caller's
        replay then performs this update)."""
        real = batch.real.clone()
        labels = None if batch.labels is None else batch.labels.clone()
        graph = torch.cuda.CUDAGraph()
        graph.register_generator_state(self.noise_rng)  # the default one is registered anyway
        with torch.cuda.graph(graph):
            stats = phase.run(replace(batch, real=real, labels=labels))
        return _Captured(graph, real, labels, stats)
