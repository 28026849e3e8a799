"""Autoencoders and the VAE as games of one player: one network, one phase, no discriminator.

Each minibatch one phase descends the mean of a per-image loss in the network's weights:

- ``autoencoder`` (the mlp-ae and conv-ae families): the reconstruction error of
  ``model.autoencoder_loss``, binary cross-entropy or squared error summed over pixels
  (``models.autoencoder.reconstruction_error``); statistic ``recon``.
- ``vae``: the negative evidence lower bound of Kingma & Welling 2014 with one
  reparameterised sample z = μ + σ ⊙ ε per image (their Section 2.4, L = 1;
  ``models.autoencoder.VAE.elbo``); statistics ``loss`` (−ELBO), ``recon`` (−log p(x|z)) and
  ``kl`` (KL(q(z|x) ‖ p(z))), all in nats per image, and the ELBO derived from them.

The optimiser has the generator's role, ``"g"``: every update is a step of the run, so the
trainer's step counts, schedules and checkpoints work as for a GAN. The generator the trainer
and every tool sample from is the decoder (``models.autoencoder.DecoderGenerator``): the VAE's
on z ~ N(0, I), the plain autoencoder's on codes from a Gaussian fitted to the training
images' codes, refitted whenever it is asked for after the weights changed. ε is drawn for
the whole minibatch from the trainer's noise stream, so N processes compute what one does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from advnets.config import RunConfig
from advnets.data.datasets import Dataset
from advnets.games.base import Game, Minibatch, Phase
from advnets.games.gan import layer_macs
from advnets.games.optim import build_optimizer
from advnets.models import build_models
from advnets.models.autoencoder import VAE, Autoencoder
from advnets.models.latent import sample_latent


class ReconstructionLoss(nn.Module):
    """Per-image statistics (N, 1) of an autoencoder: its reconstruction error."""

    def __init__(self, autoencoder: Autoencoder) -> None:
        super().__init__()
        self.autoencoder = autoencoder

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        return self.autoencoder.reconstruction_error(x)[:, None]


class NegativeELBO(nn.Module):
    """Per-image statistics (N, 3) of a VAE: [−ELBO, −log p(x|z), KL] at z = μ + σ ⊙ ``eps``
    (without ``eps``, z = μ: a pass that draws no random numbers, for counting FLOPs)."""

    def __init__(self, vae: VAE) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        if eps is None:
            eps = torch.zeros(len(x), self.vae.latent_dim, device=x.device)
        terms = self.vae.elbo(x, eps=eps)
        return torch.stack([-terms.elbo, -terms.reconstruction, terms.kl], dim=1)


class Autoencoding(Game):
    """An autoencoder (or, in :class:`VariationalAutoencoding`, a VAE), its optimiser and its
    one update."""

    stat_names: tuple[str, ...] = ("recon",)
    draws_noise = False  # whether the loss takes ε (the VAE's)

    def __init__(
        self, config: RunConfig, dataset: Dataset, device: torch.device, world_size: int = 1
    ) -> None:
        """Build the network on ``device`` (weights from the global RNG as it stands)."""
        self.generator, _ = build_models(config.model, dataset.dim)
        self.generator.to(device)
        self.network = self.generator.net
        self.loss = self._objective(self.network)
        self._loss = self.loss  # what the update calls (DDP's wrapper in a multi-process run)
        train_cfg = config.training
        optimizer = build_optimizer(train_cfg, self.network.parameters())
        self.optimizers = {"g": optimizer}
        self._train_images = dataset.train  # what the sampler's codes are fitted to
        self._fitted = False  # whether the sampler's Gaussian fits the current weights

    def _objective(self, network: nn.Module) -> nn.Module:
        return ReconstructionLoss(network)

    def phases(self) -> list[Phase]:
        return [Phase("reconstruction", self.update, ("g",), bookkeeping=self._weights_changed)]

    def update(self, batch: Minibatch) -> torch.Tensor:
        """Descend the mean per-image loss on this process's slice of the minibatch."""
        eps = None
        if self.draws_noise:
            eps = batch.shard(
                sample_latent(batch.size, self.generator.noise_dim, "gaussian", batch.noise_rng)
            )
        with batch.autocast():
            stats = self._loss(batch.real, eps).float()
        means = stats.mean(0)
        self.optimizers["g"].zero_grad(set_to_none=True)
        means[0].backward()
        self.optimizers["g"].step()
        return means.detach()

    def _weights_changed(self) -> None:
        self._fitted = False

    # ----- what the trainer asks of a game -----------------------------------------------------

    def distribute(self, wrap: Callable[[nn.Module], nn.Module] | None) -> None:
        self._loss = self.loss if wrap is None else wrap(self.loss)

    def sampler(self) -> nn.Module:
        """The decoder on codes from a Gaussian fitted to the training images' codes (fitted
        now if the weights changed since the last fit)."""
        if not self._fitted:
            self.generator.fit_codes(self._train_images)
            self._fitted = True
        return self.generator

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        return self.networks_state({"generator": self.sampler()})

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        self.load_networks_state({"generator": self.generator}, tensors, meta)
        self._fitted = True  # the checkpoint's Gaussian was fitted to its weights

    def flops_per_image(self) -> float:
        """Forward MACs of every layer, plus the weight and input gradients of every layer but
        the first's input gradient, x 2 (counted on a pass over two zero images)."""
        device = next(self.network.parameters()).device
        macs = layer_macs(self.loss, torch.zeros(2, self.generator.data_dim, device=device))
        return 2.0 * (3 * sum(macs) - macs[0])

    def progress(self, means: dict[str, float]) -> dict[str, str]:
        return {"recon": f"{means['recon']:.2f}"}


class VariationalAutoencoding(Autoencoding):
    """The VAE: the negative ELBO with one reparameterised sample; samples from its prior."""

    stat_names = ("loss", "recon", "kl")
    draws_noise = True

    def _objective(self, network: nn.Module) -> nn.Module:
        return NegativeELBO(network)

    def sampler(self) -> nn.Module:
        """The decoder on z ~ p(z) = N(0, I)."""
        return self.generator

    def summary(self, means: dict[str, float]) -> dict[str, float]:
        """The ELBO of the log window (nats per image)."""
        return {"elbo": -means["loss"]}

    def progress(self, means: dict[str, float]) -> dict[str, str]:
        return {"ELBO": f"{-means['loss']:.1f}", "KL": f"{means['kl']:.1f}"}
