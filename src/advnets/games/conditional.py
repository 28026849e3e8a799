"""The conditional adversarial net (Mirza & Osindero 2014): the paper's game given labels.

Both players see the class y: D(x | y) judges whether x is a real image of class y, and
G(z | y) makes images of the class it is asked for; the value function is the paper's
Eq. (1) with every term conditioned on y,

    min_G max_D  E_x,y [log D(x | y)] + E_z,y [log(1 − D(G(z | y) | y))].

Which y the fake half gets is not stated in the paper; here it is the labels of the real
half of the same minibatch, so each update sees the classes in the training set's
proportions and the real and fake halves differ only in being real. Algorithm 1's updates,
the losses, the schedules and everything else are the paper's game's
(:class:`advnets.games.gan.GAN`).
"""

from __future__ import annotations

import torch
from torch import nn

from advnets.config import ConfigError, RunConfig
from advnets.data.datasets import Dataset
from advnets.games.base import Minibatch
from advnets.games.gan import GAN


class ConditionalGAN(GAN):
    """G(z | y) and D(x | y) of a conditional family, trained on labelled images."""

    conditional = True

    def __init__(
        self, config: RunConfig, dataset: Dataset, device: torch.device, world_size: int = 1
    ) -> None:
        classes = config.model.num_classes
        if dataset.labels is None or len(dataset.labels.class_names) != classes:
            have = "no labels" if dataset.labels is None else f"{len(dataset.labels.class_names)}"
            raise ConfigError(
                f"model.family = {config.model.family!r} learns G(z | y) for "
                f"model.num_classes = {classes} classes, but {dataset.name} has {have} "
                f"{'classes' if dataset.labels is not None else ''}".rstrip()
                + "; train it on labelled images with that many classes."
            )
        super().__init__(config, dataset, device, world_size)
        counts = torch.bincount(dataset.labels.train, minlength=classes)
        self.generator.set_class_frequencies(counts.to(device))
        self.class_names = dataset.labels.class_names

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        """The paper's game's, and the names of the classes (for ``advnets sample --class``)."""
        tensors, meta = super().state_tensors()
        return tensors, {**meta, "class_names": list(self.class_names)}

    def _generate(self, generator: nn.Module, batch: Minibatch) -> torch.Tensor:
        """G(z | y) for this process's noise, y the labels of the minibatch's real half."""
        return generator(self._noise(batch), batch.labels)

    def _judge(self, discriminator: nn.Module, images: torch.Tensor, batch: Minibatch):
        """D(x | y); ``images`` are the real half, the fake half or both, in that order."""
        halves = len(images) // len(batch.labels)
        return discriminator(images, batch.labels.repeat(halves))

    def flops_per_image(self) -> float:
        labels = torch.zeros(self._batch, dtype=torch.long, device=self.generator.class_cdf.device)
        return self._update_flops(labels)
