"""The semi-supervised GAN (Salimans et al. 2016, Sections 3.1 and 5): D a classifier of K
classes plus "generated", G trained by feature matching; their MNIST code
(improved-gan, train_mnist_feature_matching.py) fixes what the paper leaves open.

With l_k(x) D's K logits and the K+1-th fixed at 0, D(x) = Z(x) / (Z(x) + 1), Z = sum_k
exp l_k (``models.ssgan.realness_logit``). Each minibatch, as their code:

- D descends  L = L_supervised + L_unsupervised,
    L_supervised   = cross-entropy of the K classes on a labelled minibatch,
    L_unsupervised = 1/2 (E_x[−log D(x)] + E_z[−log(1 − D(G(z)))])    (the paper's game's
                     D loss on the unlabelled real and the fake half, games.losses);
- then G descends the feature matching loss (Section 3.1) on fresh noise,
    ‖E_x f(x) − E_z f(G(z))‖² / d,
  f D's last hidden layer (d = 250 units; the mean of squares, as their code), both sides
  through D in training mode (its noise on).

Before the first update D is initialised from 500 training images with its noise on
(``models.ssgan``). Where the config names Adam, both players step with their code's Adam, the
epsilon inside the square root (``games.optim.RootEpsilonAdam``).

The labelled subset is ``data.labelled_per_class`` images of each class, drawn from the
training split with ``data.label_draw_seed`` as ``advnets semisupervised`` draws its labels
(``advnets.data.labelled``); the unlabelled minibatches are the trainer's, of the whole
training split (their code, too, uses every training image as unlabelled). A labelled minibatch
is as large as the unlabelled one: the first m of the labelled images put in a random order
(their code cycles through random orders of the 100 labels, one order per minibatch of 100),
and, with fewer labelled images than m, of consecutive random orders. The orders are drawn
from the trainer's noise stream, so a checkpoint resumes them exactly and a CUDA graph replays
them.

Departures, stated: G's feature matching takes the unlabelled images of the D step (their code
takes a second, independent minibatch); D is scored as it is, where their code scores a moving
average of its weights (rate 0.0001, started at 0); D's initialisation takes the first 500
training images (theirs 500 drawn at random); MNIST's training split is the project's 50,000
images, theirs 60,000.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F

from advnets.config import ConfigError, RunConfig, TrainingConfig
from advnets.data.datasets import Dataset
from advnets.data.labelled import labelled_draw
from advnets.games.base import Minibatch
from advnets.games.conditional import class_labels
from advnets.games.gan import GAN, layer_macs
from advnets.games.losses import discriminator_loss
from advnets.games.optim import RootEpsilonAdam
from advnets.models.ssgan import realness_logit

INIT_IMAGES = 500  # training images of D's data-dependent initialisation (their code's)


def labelled_subset(config: RunConfig, dataset: Dataset) -> torch.Tensor:
    """The training indices of the labelled images (``data.labelled_per_class`` of each
    class, drawn with ``data.label_draw_seed``), or ConfigError in one sentence."""
    per_class, classes = config.data.labelled_per_class, config.model.num_classes
    labels = class_labels(config, dataset, "classifies")
    fewest = int(torch.bincount(labels.train, minlength=classes).min())
    if per_class > fewest:
        raise ConfigError(
            f"data.labelled_per_class = {per_class} is more than the {fewest} training images "
            f"of the smallest class of {dataset.name}; choose at most {fewest}."
        )
    return labelled_draw(labels.train, per_class, config.data.label_draw_seed)


class SemiSupervisedGAN(GAN):
    """The K+1-class D and the feature-matching G, with the labelled subset they learn from."""

    stat_names = ("d_loss", "g_loss", "d_real", "d_fake", "supervised", "train_error")

    def __init__(
        self, config: RunConfig, dataset: Dataset, device: torch.device, world_size: int = 1
    ) -> None:
        chosen = labelled_subset(config, dataset)  # refused before any network is built
        super().__init__(config, dataset, device, world_size)
        self.discriminator.initialise_from(dataset.train[:INIT_IMAGES].to(device))
        self.labelled_indices = chosen
        self.labelled_images = dataset.train[chosen].to(device)
        self.labelled_classes = dataset.labels.train[chosen].to(device)

    def _optimizer(
        self, training: TrainingConfig, params: Iterable[torch.Tensor]
    ) -> torch.optim.Optimizer:
        """Their code's Adam (nn.adam_updates, epsilon inside the root) where the config names
        Adam; else the optimiser it names."""
        if training.optimizer == "adam":
            return RootEpsilonAdam(params, lr=training.lr, betas=training.adam_betas)
        return super()._optimizer(training, params)

    def labelled_minibatch(self, batch: Minibatch) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's slice of m labelled images and their classes (module docstring)."""
        n, rng = len(self.labelled_images), batch.noise_rng
        orders = torch.rand(-(-batch.size // n), n, generator=rng, device=rng.device)
        picked = batch.shard(orders.argsort(dim=1).flatten()[: batch.size])
        return self.labelled_images[picked], self.labelled_classes[picked]

    def discriminator_step(self, batch: Minibatch) -> torch.Tensor:
        """Descend L_supervised + L_unsupervised on a labelled minibatch, the unlabelled one
        and m fresh fakes (one pass of D over the three)."""
        with torch.no_grad(), batch.autocast():
            fake = self._generate(self.generator, batch).to(batch.real.dtype)
        images, classes = self.labelled_minibatch(batch)
        with batch.autocast():
            features, logits = self._d(torch.cat([images, batch.real, fake]), with_features=True)
        sizes = [len(images), len(batch.real), len(fake)]
        labelled, real, fake_logits = logits.float().split(sizes)
        supervised = F.cross_entropy(labelled, classes)
        real_source, fake_source = realness_logit(real), realness_logit(fake_logits)
        d_loss = supervised + discriminator_loss(real_source, fake_source)
        self.optimizers["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimizers["d"].step()
        with torch.no_grad():
            _, real_features, fake_features = features.float().split(sizes)
            return torch.stack(
                [
                    d_loss,
                    feature_matching_loss(real_features, fake_features),
                    torch.sigmoid(real_source).mean(),
                    torch.sigmoid(fake_source).mean(),
                    supervised,
                    labelled.argmax(dim=1).ne(classes).float().mean(),
                ]
            )

    def generator_step(self, batch: Minibatch) -> torch.Tensor:
        """Descend the feature matching loss in theta_g on m fresh noise samples. D is called
        bare (not through DDP): no gradient of D is taken here."""
        with batch.autocast():
            fake = self._generate(self._g, batch)
            with torch.no_grad():
                real_features, _ = self.discriminator(batch.real, with_features=True)
            fake_features, _ = self.discriminator(fake, with_features=True)
        g_loss = feature_matching_loss(real_features.float(), fake_features.float())
        self.optimizers["g"].zero_grad(set_to_none=True)
        g_loss.backward(inputs=[p for p in self.generator.parameters() if p.requires_grad])
        self.optimizers["g"].step()
        self._update_average()
        return g_loss.detach()[None]

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        """The paper's game's, and which training images were labelled (for the record)."""
        tensors, meta = super().state_tensors()
        return tensors, {**meta, "labelled_indices": self.labelled_indices.tolist()}

    def flops_per_image(self) -> float:
        """Necessary FLOPs per unlabelled training image of one D and one G step: the D step
        runs G forward and D forward and backward (weight and hidden input gradients) on the
        labelled, unlabelled and fake images; the G step runs G, D on the real and the fake
        images, the input gradients through D and G's backward. Multiply-adds x 2."""
        device = self.labelled_images.device
        z = torch.zeros(self._batch, self.generator.noise_dim, device=device)
        g_layers = layer_macs(self.generator, z)
        d_layers = layer_macs(
            self.discriminator, torch.zeros(2, self.generator.data_dim, device=device)
        )
        g, g_first, d, d_first = sum(g_layers), g_layers[0], sum(d_layers), d_layers[0]
        d_step = g + 3 * d + 3 * (2 * d - d_first)
        g_step = g + 2 * d + (d - d_first) + (2 * g - g_first)
        return 2.0 * (d_step + g_step)

    def summary(self, means: dict[str, float]) -> dict[str, float]:
        return {}

    def progress(self, means: dict[str, float]) -> dict[str, str]:
        return {
            "D": f"{means['d_loss']:.3f}",
            "FM": f"{means['g_loss']:.4f}",
            "err": f"{means['train_error']:.2f}",
        }


def feature_matching_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """‖E f(x) − E f(G(z))‖² / d over a minibatch's features (N, d) (Section 3.1; the mean
    over the d features, as their code)."""
    return (real.mean(dim=0) - fake.mean(dim=0)).pow(2).mean()
