"""Building blocks of the paper's networks."""

from __future__ import annotations

from collections.abc import Callable

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
        return maxout(self.linear(x), self.units, self.pieces)


def maxout(z: torch.Tensor, units: int, pieces: int) -> torch.Tensor:
    """The maximum of each unit's ``pieces`` consecutive values of ``z`` (last dimension).

    max (not amax): its gradient goes to the one maximal piece by index, as in Pylearn2;
    amax splits it among ties and costs ~1.5x as much in backward."""
    return z.view(*z.shape[:-1], units, pieces).max(dim=-1).values


class Dropout(nn.Module):
    """Dropout that keeps each value with probability ``keep``, scaled by 1/keep in training
    (inverted dropout, as ``nn.Dropout(1 - keep)``; Pylearn2 scales the same way).

    The mask is a uniform draw compared with ``keep`` in place, which on CPU costs
    about half of ``bernoulli_`` (benchmarks/hot_loop.py measures the update). It is drawn
    in fp32 whatever the activations' precision: the same masks under bf16 autocast as in
    fp32 (a bf16 draw would follow another stream, one that differs between CPUs).
    """

    def __init__(self, keep: float) -> None:
        super().__init__()
        self.keep = keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.keep == 1:
            return x
        uniform = torch.rand(x.shape, device=x.device)
        return x * uniform.lt_(self.keep).mul_(1 / self.keep).to(x.dtype)

    def extra_repr(self) -> str:
        return f"keep={self.keep}"


class GaussianNoise(nn.Module):
    """Adds N(0, sigma²) noise to every value in training, nothing in evaluation (the noise
    layers of Salimans et al. 2016's semi-supervised D). Drawn from the global RNG, as
    :class:`Dropout`'s masks, so checkpoints keep its state."""

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.sigma = sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.sigma == 0:
            return x
        noise = torch.randn(x.shape, device=x.device)  # fp32 whatever the activations' precision
        return x + (noise * self.sigma).to(x.dtype)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


def _init_linear_(module: nn.Module, fill: Callable[[torch.Tensor], object]) -> None:
    """``fill`` every linear layer's weight in ``module`` (itself included), in module order;
    biases 0."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            fill(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def init_uniform_(module: nn.Module, init_range: float) -> None:
    """Every linear layer in ``module`` (itself included): weights ~ U(-r, r), biases 0, in
    module order. Pylearn2's ``irange`` initialisation used by the paper."""
    _init_linear_(module, lambda w: nn.init.uniform_(w, -init_range, init_range))


def init_normal_(module: nn.Module, std: float) -> None:
    """Every linear layer in ``module`` (itself included): weights ~ N(0, std²), biases 0."""
    _init_linear_(module, lambda w: nn.init.normal_(w, 0.0, std))


def one_hot(c: torch.Tensor | None, num_classes: int, like: torch.Tensor) -> torch.Tensor | None:
    """Integer class labels (N,) as one-hot rows (N, num_classes) in ``like``'s dtype and device.

    None for an unconditional network (``num_classes`` 0), which must be given no labels.
    """
    if num_classes == 0:
        if c is not None:
            raise ValueError("this network is unconditional: it takes no class labels.")
        return None
    if c is None:
        raise ValueError(f"this network is conditional: give class labels in 0..{num_classes - 1}.")
    return nn.functional.one_hot(c.long(), num_classes).to(like)
