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
import torch.nn.functional as F
from torch import nn

from advnets.config import ConfigError, RunConfig
from advnets.data.datasets import Dataset, Labels
from advnets.games.base import Minibatch
from advnets.games.gan import GAN


def class_labels(config: RunConfig, dataset: Dataset, learns: str) -> Labels:
    """The dataset's labels, refused in one sentence (the family ``learns`` what, for how many
    classes) unless there are labels of ``model.num_classes`` classes."""
    classes, labels = config.model.num_classes, dataset.labels
    if labels is None or len(labels.class_names) != classes:
        have = "no labels" if labels is None else f"{len(labels.class_names)} classes"
        raise ConfigError(
            f"model.family = {config.model.family!r} {learns} model.num_classes = {classes} "
            f"classes, but {dataset.name} has {have}; train it on labelled images with that "
            "many classes."
        )
    return labels


class ConditionalGAN(GAN):
    """G(z | y) and D(x | y) of a conditional family, trained on labelled images."""

    conditional = True
    labelled_d = True  # whether D is given the labels (the conditional net's) or finds them

    def __init__(
        self, config: RunConfig, dataset: Dataset, device: torch.device, world_size: int = 1
    ) -> None:
        labels = class_labels(config, dataset, "learns G(z | y) for")
        super().__init__(config, dataset, device, world_size)
        counts = torch.bincount(labels.train, minlength=config.model.num_classes)
        self.generator.set_class_frequencies(counts.to(device))
        self.class_names = labels.class_names

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
        return self._update_flops(labels, self.labelled_d)


class AuxiliaryClassifierGAN(ConditionalGAN):
    """AC-GAN (Odena, Olah & Shlens 2017, Section 3): G(z | c) as in the conditional net, but
    D sees the image alone and answers twice, P(S = real | x) and P(C | x). With

        L_S = E[log P(S = real | x_real)] + E[log P(S = fake | x_fake)],
        L_C = E[log P(C = c | x_real)] + E[log P(C = c | x_fake)],

    D is trained to maximise L_S + L_C and G to maximise L_C − L_S. Here D descends the
    paper's D loss (−L_S / 2, advnets.games.losses) plus the mean cross-entropy of the class
    on each half (−L_C / 2 in the same scale), and G descends the run's generator loss (the
    non-saturating form of −L_S by default) plus the cross-entropy of its fakes' classes.
    The fake half gets the real half's labels (see the module docstring)."""

    labelled_d = False
    # D sees the image alone, as in the paper's game, and answers (logit of real, class logits)
    _judge = GAN._judge

    @staticmethod
    def _fp32(output):
        source, classes = output
        return source.float(), classes.float()

    @staticmethod
    def _source(output) -> torch.Tensor:
        return output[0]

    def _d_loss(self, real_output, fake_output, batch: Minibatch) -> torch.Tensor:
        adversarial = super()._d_loss(real_output[0], fake_output[0], batch)
        classify = F.cross_entropy(real_output[1], batch.labels)
        return adversarial + 0.5 * (classify + F.cross_entropy(fake_output[1], batch.labels))

    def _g_loss(self, fake_output, batch: Minibatch) -> torch.Tensor:
        adversarial = super()._g_loss(fake_output[0], batch)
        return adversarial + F.cross_entropy(fake_output[1], batch.labels)
