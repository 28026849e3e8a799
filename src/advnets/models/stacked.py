"""S independent copies of one network, run together with batched matrix products.

Each parameter of the S copies is stacked into one tensor with a leading copy dimension
(a weight (S, out, in), a bias (S, out)), and each copy's own parameters become views of
its slice: whatever updates the stacked tensors updates every copy in place, and whatever
is loaded into a copy lands in the stack. Inputs are (S, n, features); each linear layer is
one ``baddbmm``, so copy s computes what the network alone computes on its own input (up to
the summation order of the batched product). Dropout draws its masks for all copies at once.

The layers of the paper's MLP generator and maxout discriminator (``models.mlp``) are
supported: Linear, ReLU, Maxout, Dropout.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from advnets.models.layers import Dropout, Maxout, maxout
from advnets.models.mlp import MaxoutDiscriminator, MLPGenerator


class StackedNetworks:
    """S copies of one architecture (``networks``) whose parameters live in stacked tensors."""

    def __init__(self, networks: Sequence[nn.Module]) -> None:
        self.networks = list(networks)
        self.template = self.networks[0]  # whose layers say what to compute
        self.names = [name for name, _ in self.template.named_parameters()]
        self.parameters: list[torch.Tensor] = []
        self.stack()

    def stack(self) -> None:
        """Gather the copies' current parameters into fresh stacked leaf tensors and make each
        copy's parameters views of its slice (again after anything replaced them)."""
        copies = [dict(net.named_parameters()) for net in self.networks]
        self.parameters = [
            torch.stack([params[name].detach() for params in copies]).requires_grad_()
            for name in self.names
        ]
        for s, params in enumerate(copies):
            for name, stacked in zip(self.names, self.parameters, strict=True):
                params[name].data = stacked.detach()[s]

    def parameter(self, name: str) -> torch.Tensor:
        return self.parameters[self.names.index(name)]

    def linear(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """The linear layer ``name`` of every copy on its own rows: x (S, n, in) -> (S, n, out)."""
        weight, bias = self.parameter(f"{name}.weight"), self.parameter(f"{name}.bias")
        return torch.baddbmm(bias[:, None, :], x, weight.transpose(1, 2))

    def sequential(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """The template's ``nn.Sequential`` ``name``, layer by layer, on every copy at once."""
        for index, layer in enumerate(self.template.get_submodule(name)):
            path = f"{name}.{index}"
            if isinstance(layer, nn.Linear):
                x = self.linear(path, x)
            elif isinstance(layer, nn.ReLU):
                x = torch.relu(x)
            elif isinstance(layer, Maxout):
                x = maxout(self.linear(f"{path}.linear", x), layer.units, layer.pieces)
            elif isinstance(layer, Dropout):
                x = layer(x)  # one mask per value, all copies in one draw
            else:
                raise ValueError(f"stacked copies do not support {type(layer).__name__} layers.")
        return x


def stacked_generator(g: StackedNetworks, z: torch.Tensor) -> torch.Tensor:
    """``MLPGenerator.forward`` of every copy: z (S, n, noise_dim) -> x (S, n, data_dim)."""
    if not isinstance(g.template, MLPGenerator):
        raise ValueError("stacked copies support the paper's MLP generator only.")
    return torch.sigmoid(g.linear("output", g.sequential("hidden", z)))


def stacked_discriminator(d: StackedNetworks, x: torch.Tensor) -> torch.Tensor:
    """``MaxoutDiscriminator.forward`` of every copy: x (S, n, data_dim) -> logits (S, n)."""
    if not isinstance(d.template, MaxoutDiscriminator) or d.template.minibatch_std:
        raise ValueError("stacked copies support the paper's maxout discriminator only.")
    return d.linear("output", d.sequential("features", x)).squeeze(-1)
