"""The second domain of a two-domain set (CycleGAN's data), drawn beside the first.

The trainer's epoch is a pass over domain A in a fresh random order (Algorithm 1's loop);
each of its minibatches is handed one of domain B (``games.base.Minibatch.other``), unpaired.
"""

from __future__ import annotations

import torch

from advnets.data.datasets import Dataset


class DomainB:
    """The order in which a two-domain set's domain B is drawn, unpaired with domain A's.

    An epoch is a pass over domain A; in each, B's training images are taken in fresh random
    orders one after the other (as many as the epoch's minibatches need), from a stream of
    their own (seeded with the run's seed + 3), saved in checkpoints like A's order."""

    SEED_OFFSET = 3  # the trainer seeds the data order (+0), noise (+1) and dropout (+2)

    def __init__(self, images: Dataset, device: torch.device, seed: int) -> None:
        self.images = images.train.to(device)
        self.rng = torch.Generator().manual_seed(seed + self.SEED_OFFSET)
        self.order = torch.arange(0)

    def new_epoch(self, needed: int) -> None:
        """Draw the order of the ``needed`` B images of the next epoch."""
        n = len(self.images)
        rounds = -(-needed // n)
        orders = [torch.randperm(n, generator=self.rng) for _ in range(rounds)]
        self.order = torch.cat(orders)[:needed]

    def minibatch(self, index: int, size: int) -> torch.Tensor:
        """The B images of the epoch's ``index``-th minibatch of ``size``."""
        return self.images[self.order[index * size : (index + 1) * size].to(self.images.device)]

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"rng.data_b": self.rng.get_state(), "data.permutation_b": self.order}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.rng.set_state(tensors["rng.data_b"])
        self.order = tensors["data.permutation_b"]
