"""The conditional adversarial net's MNIST networks (Mirza & Osindero 2014, Section 4.1).

Generator G(z | y): z (100-d, uniform on the unit hypercube) -> 200 ReLU, and y
(one-hot) -> 1000 ReLU; the two joined (1,200 values) -> 1200 ReLU -> 784 sigmoid.

Discriminator D(x | y): x -> maxout 240 units x 5 pieces, and y -> maxout 50 x 5;
the two joined (290 values) -> maxout 240 x 4 -> one logit of P(x is real | y)
(the sigmoid is in the loss).

What the paper leaves open, chosen here:

- Dropout. "Dropout with probability of 0.5 was applied to both the generator and
  discriminator", without saying where. Here both networks drop each hidden layer's
  output (keep 0.5): G after its three ReLU layers, D after its three maxout
  layers. D's image input keeps 0.8, as in the reference config of Goodfellow et
  al. 2014 that these networks extend (``advnets.models.mlp``); the one-hot label
  is never dropped (a dropped label is no label). Each keep probability is a
  constructor argument (1 turns that dropout off). Dropout is inverted (scaled
  by 1/keep in training) and off in evaluation mode, so samples are drawn
  without it.
- Initialisation. Not stated; as the reference config of Goodfellow et al. 2014
  (Pylearn2's ``irange``, ``advnets.models.mlp``): weights ~ U(+-0.05) in G and
  U(+-0.005) in D, biases 0. G's output bias can start at the logit of the mean
  training pixel (:meth:`ConditionalMLPGenerator.set_output_bias`), as there.
- Labels y are integer classes (N,), one-hot inside the networks.
"""

from __future__ import annotations

import torch
from torch import nn

from advnets.models.latent import Generator
from advnets.models.layers import Dropout, Maxout, init_uniform_, one_hot


class ConditionalMLPGenerator(Generator):
    """G(z | y): flat images (N, 784) with pixels in [0, 1]."""

    def __init__(
        self,
        latent_dim: int = 100,
        num_classes: int = 10,
        noise_hidden: int = 200,
        label_hidden: int = 1000,
        joint_hidden: int = 1200,
        data_dim: int = 784,
        hidden_keep: float = 0.5,
        init_range: float = 0.05,
        prior: str = "uniform-01",
    ) -> None:
        super().__init__(latent_dim, prior, (data_dim,), num_classes)
        self.noise = nn.Sequential(nn.Linear(latent_dim, noise_hidden), nn.ReLU())
        self.label = nn.Sequential(nn.Linear(num_classes, label_hidden), nn.ReLU())
        self.joint = nn.Sequential(nn.Linear(noise_hidden + label_hidden, joint_hidden), nn.ReLU())
        self.dropout = Dropout(hidden_keep)
        self.output = nn.Linear(joint_hidden, data_dim)
        init_uniform_(self, init_range)

    def set_output_bias(self, bias: torch.Tensor) -> None:
        """Set the sigmoid output's bias, e.g. to ``mlp.logit_of_mean_pixel`` of the data."""
        with torch.no_grad():
            self.output.bias.copy_(bias)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        y = one_hot(c, self.num_classes, z)
        h = torch.cat([self.dropout(self.noise(z)), self.dropout(self.label(y))], dim=1)
        return torch.sigmoid(self.output(self.dropout(self.joint(h))))


class ConditionalMaxoutDiscriminator(nn.Module):
    """D(x | y): the logit of P(x is real | y), shape (N,), for flat images x (N, 784)."""

    def __init__(
        self,
        num_classes: int = 10,
        data_dim: int = 784,
        image_units: tuple[int, int] = (240, 5),
        label_units: tuple[int, int] = (50, 5),
        joint_units: tuple[int, int] = (240, 4),
        input_keep: float = 0.8,
        hidden_keep: float = 0.5,
        init_range: float = 0.005,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.input_dropout = Dropout(input_keep)
        self.image = Maxout(data_dim, *image_units)
        self.label = Maxout(num_classes, *label_units)
        self.joint = Maxout(image_units[0] + label_units[0], *joint_units)
        self.dropout = Dropout(hidden_keep)
        self.output = nn.Linear(joint_units[0], 1)
        init_uniform_(self, init_range)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        y = one_hot(c, self.num_classes, x)
        image = self.dropout(self.image(self.input_dropout(x.flatten(1))))
        h = torch.cat([image, self.dropout(self.label(y))], dim=1)
        return self.output(self.dropout(self.joint(h))).squeeze(-1)
