"""BiGAN's game (Donahue, Krähenbühl & Darrell 2017; ALI, Dumoulin et al. 2017): G and an
encoder E trained together against a discriminator of pairs.

D sees an image with a code and tells (x, E(x)), x ~ p_data, from (G(z), z), z ~ p_z:

    min_{G,E} max_D  V(D, E, G) = E_x [log D(x, E(x))] + E_z [log(1 − D(G(z), z))]

(their Section 3); at the optimum E inverts G (their Theorem 2), so E(x) is a learned
approximate inference of the code of x. D descends −V/2 as in the paper's game
(``games.losses.discriminator_loss``); G and E descend the same binary cross-entropy with the
labels reversed (the non-saturating form the authors train with; ``training.generator_loss:
minimax`` descends V/2 instead), one loss for both with one optimiser in the role ``"g"``.

Each minibatch one update, as the reference code's simultaneous update of the paper's game
(``games.gan.GAN.simultaneous_update``): E(x) and G(z) once, D on the real and the fake pair,
D's gradient of its loss and G's and E's of theirs at the same parameters, applied together.
D sees each pair alone, so that its batch normalisation never mixes them (DCGAN's practice).
The trainer samples from G (``sampler``), so every tool treats the run as any other GAN; the
checkpoint keeps E under ``encoder.*`` (``evaluation.runs.load_encoder``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
from torch import nn

from advnets.config import RunConfig
from advnets.data.datasets import Dataset
from advnets.games.base import Game, Minibatch, Phase
from advnets.games.gan import layer_macs
from advnets.games.losses import discriminator_loss, generator_loss
from advnets.games.optim import build_optimizer
from advnets.models import build_encoder, build_models
from advnets.models.mlp import logit_of_mean_pixel

ENCODER = "encoder"  # the checkpoint's prefix of E's tensors


class BiGAN(Game):
    """G, E and the joint D of the bigan family, their optimisers and their one update."""

    stat_names = ("d_loss", "g_loss", "d_real", "d_fake")

    def __init__(
        self, config: RunConfig, dataset: Dataset, device: torch.device, world_size: int = 1
    ) -> None:
        """Build the networks on ``device`` (weights from the global RNG as it stands: G, D,
        then E)."""
        self.generator, self.discriminator = build_models(
            config.model, dataset.dim, logit_of_mean_pixel(dataset.train)
        )
        self.encoder = build_encoder(config.model, dataset.dim)
        for network in (self.generator, self.discriminator, self.encoder):
            network.to(device)
        self._g, self._e, self._d = self.generator, self.encoder, self.discriminator
        train_cfg = config.training
        encoding = itertools.chain(self.generator.parameters(), self.encoder.parameters())
        self.optimizers = {
            "d": build_optimizer(train_cfg, self.discriminator.parameters()),
            "g": build_optimizer(train_cfg, encoding),
        }
        self.g_loss_fn = generator_loss(train_cfg.generator_loss)

    def phases(self) -> list[Phase]:
        return [Phase("bidirectional", self.update, ("d", "g"))]

    def update(self, batch: Minibatch) -> torch.Tensor:
        """One simultaneous step of D and of G with E on this process's slice of the minibatch:
        [D loss, G and E's loss, mean D(x, E(x)), mean D(G(z), z)]."""
        z = batch.shard(self.generator.sample_noise(batch.size, batch.noise_rng))
        with batch.autocast():
            code, fake = self._e(batch.real), self._g(z)
            real_logits = self._d(batch.real, code.to(batch.real.dtype)).float()
            fake_logits = self._d(fake.to(batch.real.dtype), z).float()
        d_loss = discriminator_loss(real_logits, fake_logits)
        # the labels reversed: each player's half judged as if it were the other's
        g_loss = 0.5 * (self.g_loss_fn(fake_logits) + self.g_loss_fn(-real_logits))
        opt_d, opt_g = self.optimizers["d"], self.optimizers["g"]
        opt_d.zero_grad(set_to_none=True)
        opt_g.zero_grad(set_to_none=True)
        d_loss.backward(inputs=list(self.discriminator.parameters()), retain_graph=True)
        g_loss.backward(inputs=[p for group in opt_g.param_groups for p in group["params"]])
        opt_d.step()
        opt_g.step()
        with torch.no_grad():
            judged = [torch.sigmoid(logits).mean() for logits in (real_logits, fake_logits)]
            return torch.stack([d_loss, g_loss, *judged])

    # ----- what the trainer asks of a game -----------------------------------------------------

    def distribute(self, wrap: Callable[[nn.Module], nn.Module] | None) -> None:
        networks = (self.generator, self.encoder, self.discriminator)
        self._g, self._e, self._d = networks if wrap is None else tuple(map(wrap, networks))

    def sampler(self) -> nn.Module:
        """G itself."""
        return self.generator

    def _saved(self) -> dict[str, nn.Module]:
        """The networks a checkpoint keeps, by their tensors' name prefix."""
        return {
            "generator": self.generator,
            "discriminator": self.discriminator,
            ENCODER: self.encoder,
        }

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        return self.networks_state(self._saved())

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        self.load_networks_state(self._saved(), tensors, meta)

    def flops_per_image(self) -> float:
        """Forward MACs of E, G and D on both pairs, x 3 for the backward passes' weight and
        input gradients, x 2 (counted on a pass over two zero images)."""
        device = next(self.generator.parameters()).device
        images = torch.zeros(2, self.generator.data_dim, device=device)
        codes = torch.zeros(2, self.generator.noise_dim, device=device)
        macs = (
            layer_macs(self.encoder, images)
            + layer_macs(self.generator, codes)
            + 2 * layer_macs(self.discriminator, images, codes)
        )
        return 2.0 * 3 * sum(macs)

    def summary(self, means: dict[str, float]) -> dict[str, float]:
        """V(D, E, G): the D loss is −V / 2."""
        return {"value": -2 * means["d_loss"]}

    def progress(self, means: dict[str, float]) -> dict[str, str]:
        return {
            "D": f"{means['d_loss']:.3f}",
            "GE": f"{means['g_loss']:.3f}",
            "Dx": f"{means['d_real']:.2f}",
            "DGz": f"{means['d_fake']:.2f}",
        }
