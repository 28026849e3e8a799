"""The image pool of CycleGAN's discriminator updates (Zhu et al. 2017, Section 4).

"To reduce model oscillation, we follow Shrivastava et al.'s strategy and update the
discriminators using a history of generated images rather than the ones produced by the
latest generators. We keep an image buffer that stores the 50 previously created images."
As in the authors' code, each new fake, one at a time: while the pool is not full it is
stored and passed on; once it is full, with probability 1/2 it takes the place of a stored
fake chosen uniformly, which is passed on instead, and otherwise it is passed on itself. So
about half of what D sees once the pool is full comes from the history.
"""

from __future__ import annotations

import torch

SWAP_PROBABILITY = 0.5  # the authors' code: a stored fake replaces the new one half the time


class ImagePool:
    """Up to ``size`` earlier fakes of ``dim`` values each, on ``device`` (0: no pool)."""

    def __init__(self, size: int, dim: int, device: torch.device) -> None:
        self.size = size
        self.images = torch.zeros(size, dim, device=device)
        self.count = 0  # fakes stored so far, up to size

    def query(self, fakes: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """What D sees in place of ``fakes`` (detached; see the module docstring); the
        choices are drawn from ``rng`` (two draws per fake, whether used or not)."""
        if self.size == 0:
            return fakes
        chosen = fakes.detach().clone()
        swap = torch.rand(len(fakes), generator=rng) < SWAP_PROBABILITY
        slots = torch.randint(self.size, (len(fakes),), generator=rng).tolist()
        for i, (swapped, slot) in enumerate(zip(swap.tolist(), slots, strict=True)):
            if self.count < self.size:
                self.images[self.count] = chosen[i]
                self.count += 1
            elif swapped:
                stored = self.images[slot].clone()
                self.images[slot] = chosen[i]
                chosen[i] = stored
        return chosen
