"""Building blocks of the paper's networks."""

from __future__ import annotations

import torch
from torch import nn


class Maxout(nn.Module):
    """Maxout layer (Goodfellow et al. 2013): h_j = max_k (W x + b)_{j,k}.

    One linear map produces ``units * pieces`` values; each unit is the maximum
    of its ``pieces`` consecutive values, as in Pylearn2's Maxout layer.
    """

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units = units
        self.pieces = pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        return z.view(*z.shape[:-1], self.units, self.pieces).amax(dim=-1)


def init_uniform_(module: nn.Linear, init_range: float) -> None:
    """Weights ~ U(-r, r), biases 0: Pylearn2's ``irange`` initialisation used by the paper."""
    nn.init.uniform_(module.weight, -init_range, init_range)
    nn.init.zeros_(module.bias)
