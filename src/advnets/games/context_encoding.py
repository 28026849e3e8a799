"""The context encoder's game (Pathak et al. 2016, Section 3.2): a network F that completes
images with a hidden region, trained on a joint loss

    L = λ_rec L_rec + λ_adv L_adv,   λ_rec = 0.999, λ_adv = 0.001 (their values),
    L_rec = ‖M ⊙ (x − F((1 − M) ⊙ x))‖² (the mean over the hidden values),
    L_adv = max_D E_x[log D(x) + log(1 − D(F((1 − M) ⊙ x)))],

with M the hidden pixels. Each minibatch, as in their code, one update of D, then one of F:
D descends the paper's D loss (games.losses) on the real images and the completed ones (the
visible pixels kept, the hidden ones predicted; a D with batch norm sees each half alone), and
F descends λ_rec L_rec + λ_adv (−log D(completion)), the non-saturating form of its share of
L_adv. One mask per image (``model.context_mask``), drawn from the trainer's noise stream for
random blocks, so that checkpoints resume exactly; the same completions serve both updates.

Departures, stated: L_rec is taken on the hidden pixels alone (their code also weighs a
4-pixel band overlapping the visible border 10x); D judges whole images, not the hidden
region alone (``models.context_encoder``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from advnets.config import RunConfig
from advnets.data.datasets import Dataset
from advnets.games.base import Game, Minibatch, Phase
from advnets.games.gan import layer_macs
from advnets.games.losses import discriminator_loss, non_saturating_generator_loss
from advnets.games.optim import build_optimizer
from advnets.models import build_models
from advnets.models.context_encoder import BLOCKS, complete, context_masks

RECONSTRUCTION_WEIGHT = 0.999  # λ_rec of Pathak et al. 2016, Section 3.2
ADVERSARIAL_WEIGHT = 0.001  # λ_adv


class ContextEncoding(Game):
    """The context encoder F (behind its ``CompletionSampler``), its adversary D, and their
    one phase per minibatch."""

    stat_names = ("d_loss", "g_loss", "recon", "d_real", "d_fake")

    def __init__(
        self, config: RunConfig, dataset: Dataset, device: torch.device, world_size: int = 1
    ) -> None:
        """Build the networks on ``device`` (weights from the global RNG as it stands)."""
        self.generator, self.discriminator = build_models(config.model, dataset.dim)
        self.generator.to(device)
        self.discriminator.to(device)
        self.generator.pool = dataset.train  # what the sample grid completes
        self.network = self.generator.net
        self._f, self._d = self.network, self.discriminator  # what the updates call
        train_cfg = config.training
        self.optimizers = {
            role: build_optimizer(train_cfg, net.parameters())
            for role, net in (("d", self.discriminator), ("g", self.network))
        }
        self.mask, self.side = config.model.context_mask, self.network.shape[1]

    def phases(self) -> list[Phase]:
        return [Phase("context-encoder", self.update, ("d", "g"))]

    def _masks(self, batch: Minibatch) -> torch.Tensor:
        """This process's slice of one mask per image of the (global) minibatch."""
        rng = batch.noise_rng
        uniforms = torch.rand(batch.size, 2 * BLOCKS, generator=rng, device=rng.device)
        return batch.shard(context_masks(self.mask, self.side, uniforms))

    def update(self, batch: Minibatch) -> torch.Tensor:
        """One D step on the real and the completed images, then one step of F."""
        real, hidden = batch.real, self._masks(batch)
        per_value = hidden.repeat(1, self.network.shape[0])
        with batch.autocast():
            predicted = self._f(real, hidden).float()
        completed = complete(real, per_value, predicted)
        with batch.autocast():
            real_logits = self._d(real).float()
            fake_logits = self._d(completed.detach()).float()
        d_loss = discriminator_loss(real_logits, fake_logits)
        self.optimizers["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimizers["d"].step()
        with batch.autocast():  # D called bare: no gradient of D is taken here
            judged = self.discriminator(completed).float()
        recon = ((predicted - real) ** 2 * per_value).sum() / per_value.sum()
        g_loss = RECONSTRUCTION_WEIGHT * recon + ADVERSARIAL_WEIGHT * non_saturating_generator_loss(
            judged
        )
        self.optimizers["g"].zero_grad(set_to_none=True)
        g_loss.backward(inputs=list(self.network.parameters()))
        self.optimizers["g"].step()
        with torch.no_grad():
            return torch.stack(
                [
                    d_loss.detach(),
                    g_loss.detach(),
                    recon.detach(),
                    torch.sigmoid(real_logits).mean(),
                    torch.sigmoid(fake_logits).mean(),
                ]
            )

    # ----- what the trainer asks of a game -----------------------------------------------------

    def distribute(self, wrap: Callable[[nn.Module], nn.Module] | None) -> None:
        if wrap is None:
            self._f, self._d = self.network, self.discriminator
        else:
            self._f, self._d = wrap(self.network), wrap(self.discriminator)

    def sampler(self) -> nn.Module:
        """F completing training images (``models.context_encoder.CompletionSampler``)."""
        return self.generator

    def _saved(self) -> dict[str, nn.Module]:
        """The networks a checkpoint keeps, by their tensors' name prefix."""
        return {"generator": self.generator, "discriminator": self.discriminator}

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        return self.networks_state(self._saved())

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        self.load_networks_state(self._saved(), tensors, meta)

    def flops_per_image(self) -> float:
        """F forward; D forward on both halves and again on the completions; D's weight and
        hidden input gradients on both halves; the input gradients through D and F's
        backward. Multiply-adds x 2, counted on a pass over two zero images."""
        device = next(self.network.parameters()).device
        images = torch.zeros(2, self.generator.data_dim, device=device)
        hidden = torch.zeros(2, self.side * self.side, device=device)
        f_layers = layer_macs(self.network, images, hidden)
        d_layers = layer_macs(self.discriminator, images)
        f, f_first, d, d_first = sum(f_layers), f_layers[0], sum(d_layers), d_layers[0]
        forward = f + 3 * d
        backward = 2 * (2 * d - d_first) + (d - d_first) + (2 * f - f_first)
        return 2.0 * (forward + backward)

    def progress(self, means: dict[str, float]) -> dict[str, str]:
        return {"D": f"{means['d_loss']:.3f}", "rec": f"{means['recon']:.4f}"}
