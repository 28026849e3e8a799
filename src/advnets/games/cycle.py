"""CycleGAN's game (Zhu, Park, Isola & Efros 2017): two translators, two critics, two domains.

G: A -> B and F: B -> A are trained on unpaired minibatches a of domain A and b of domain B
(``Minibatch.real`` and ``Minibatch.other``) against D_B and D_A, with the full objective of
their Eq. (3),

    L(G, F, D_A, D_B) = L_GAN(G, D_B) + L_GAN(F, D_A) + λ L_cyc(G, F),
    L_cyc = E_a ‖F(G(a)) − a‖₁ + E_b ‖G(F(b)) − b‖₁,

where the adversarial terms are least squares (Section 4, after Mao et al. 2017): G descends
E[(D_B(G(a)) − 1)²] and D_B descends ½ (E[(D_B(b) − 1)²] + E[D_B(G(a))²]) (the paper divides
D's objective by 2), and the same for F and D_A. λ = 10 (``model.cycle_weight``). The
identity loss of Section 5.2, λ_id λ (E ‖G(b) − b‖₁ + E ‖F(a) − a‖₁), is added where
``model.identity_weight`` λ_id > 0 (the paper: 0.5 for photo <-> painting; off by default,
as in its other experiments). Norms are means over pixels, as the authors' L1 loss.

Each minibatch: a G phase (both generators, one optimiser, role ``"g"``), then a D phase
(both discriminators, one optimiser, role ``"d"``) on the real images and on the G phase's
fakes passed through an image pool of 50 (``games.pool``), the order of the authors' code.
The D phase's statistics, which hold the G phase's too, are logged. Adam with lr 2e-4 and
β₁ = 0.5, held for 100 epochs and decayed linearly to 0 over 100 more, is the presets'
(``training.lr_constant_epochs``).

The pool chooses on the host, so this game runs its phases eagerly (no CUDA graphs) and in
one process.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from advnets.config import ConfigError, RunConfig
from advnets.data.datasets import Dataset
from advnets.games.base import Game, Minibatch, Phase
from advnets.games.gan import layer_macs
from advnets.games.optim import build_optimizer
from advnets.games.pool import ImagePool
from advnets.models import build_models
from advnets.models.registry import family

POOL_SEED_OFFSET = 5  # the pools' stream is seeded with the run's seed + this (loop.py: 0..2)


def least_squares_generator_loss(scores: torch.Tensor) -> torch.Tensor:
    """E[(D(G(x)) − 1)²]: what a generator descends (LSGAN, Mao et al. 2017)."""
    return (scores - 1).square().mean()


def least_squares_discriminator_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """½ (E[(D(y) − 1)²] + E[D(G(x))²]): what a discriminator descends (halved, Section 4)."""
    return 0.5 * ((real - 1).square().mean() + fake.square().mean())


def cycle_loss(reconstruction: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """‖F(G(a)) − a‖₁ as the mean absolute difference per pixel (the authors' L1 loss)."""
    return (reconstruction - original).abs().mean()


class CycleGAN(Game):
    """G: A -> B and F: B -> A (``generators.ab``, ``.ba``), D_A and D_B (``discriminators.a``,
    ``.b``), their two optimisers, the two image pools and the two phases."""

    replays_graphs = False  # the pool chooses on the host (see the module docstring)
    stat_names = (
        "d_loss",  # D_A's loss + D_B's
        "g_loss",  # the generators' objective, Eq. (3) (with the identity term where on)
        "gan_ab",  # G's least-squares loss against D_B
        "gan_ba",  # F's against D_A
        "cycle_a",  # ‖F(G(a)) − a‖₁
        "cycle_b",  # ‖G(F(b)) − b‖₁
        "identity",  # ‖G(b) − b‖₁ + ‖F(a) − a‖₁ (0 where the identity loss is off)
        "d_a",
        "d_b",
    )

    def __init__(
        self, config: RunConfig, dataset: Dataset, device: torch.device, world_size: int = 1
    ) -> None:
        if world_size > 1:
            raise ConfigError(
                "the cyclegan family trains in one process (its image pools choose on the "
                "host): start it without torchrun."
            )
        if dataset.other is None:
            raise ConfigError(
                f"the cyclegan family translates between two domains; {dataset.name} has one."
            )
        self.generators, self.discriminators = build_models(config.model, dataset.dim)
        self.generators.to(device)
        self.discriminators.to(device)
        self.generator = self.generators  # what Game names G: here both translators
        train_cfg = config.training
        self.optimizers = {
            role: build_optimizer(train_cfg, net.parameters())
            for role, net in (("d", self.discriminators), ("g", self.generators))
        }
        settings = family(config.model.family).section(config.model)
        self.cycle_weight = settings.cycle_weight
        self.identity_weight = settings.identity_weight * settings.cycle_weight
        self.pools = (
            ImagePool(settings.image_pool, dataset.dim, device),  # fakes of A, F(b), for D_A
            ImagePool(settings.image_pool, dataset.dim, device),  # fakes of B, G(a), for D_B
        )
        self.pool_rng = torch.Generator().manual_seed(config.seed + POOL_SEED_OFFSET)
        # the G phase's fakes (F(b), G(a)) and statistics, for the D phase that follows it
        self._fakes: tuple[torch.Tensor, torch.Tensor] | None = None
        self._g_stats: torch.Tensor | None = None

    def phases(self) -> list[Phase]:
        return [
            Phase("generators", self.generator_step, ("g",), logged=False),
            Phase("discriminators", self.discriminator_step, ("d",)),
        ]

    def generator_step(self, batch: Minibatch) -> torch.Tensor:
        """Descend Eq. (3) (plus the identity term) in G's and F's weights, D_A and D_B held."""
        a, b = batch.real, batch.other
        gen, disc = self.generators, self.discriminators
        disc.requires_grad_(False)
        with batch.autocast():
            fake_b, fake_a = gen.ab(a), gen.ba(b)
            gan_ab = least_squares_generator_loss(disc.b(fake_b).float())
            gan_ba = least_squares_generator_loss(disc.a(fake_a).float())
            cycle_a = cycle_loss(gen.ba(fake_b).float(), a)
            cycle_b = cycle_loss(gen.ab(fake_a).float(), b)
            identity = torch.zeros((), device=a.device)
            if self.identity_weight:
                identity = cycle_loss(gen.ab(b).float(), b) + cycle_loss(gen.ba(a).float(), a)
        total = (
            gan_ab
            + gan_ba
            + self.cycle_weight * (cycle_a + cycle_b)
            + self.identity_weight * identity
        )
        self.optimizers["g"].zero_grad(set_to_none=True)
        total.backward()
        self.optimizers["g"].step()
        disc.requires_grad_(True)
        self._fakes = (fake_a.detach(), fake_b.detach())
        stats = torch.stack([total, gan_ab, gan_ba, cycle_a, cycle_b, identity]).detach()
        self._g_stats = stats
        return stats

    def discriminator_step(self, batch: Minibatch) -> torch.Tensor:
        """Descend D_A's and D_B's least-squares losses on the real images and on pooled fakes
        of the G phase just run; the statistics of both phases."""
        if self._fakes is None or self._g_stats is None:
            raise RuntimeError("the D phase needs the fakes of a G phase run before it.")
        disc = self.discriminators
        fake_a, fake_b = (
            pool.query(fakes, self.pool_rng)
            for pool, fakes in zip(self.pools, self._fakes, strict=True)
        )
        with batch.autocast():
            d_a = least_squares_discriminator_loss(
                disc.a(batch.real).float(), disc.a(fake_a).float()
            )
            d_b = least_squares_discriminator_loss(
                disc.b(batch.other).float(), disc.b(fake_b).float()
            )
        self.optimizers["d"].zero_grad(set_to_none=True)
        (d_a + d_b).backward()
        self.optimizers["d"].step()
        d = torch.stack([d_a + d_b, d_a, d_b]).detach()
        return torch.cat([d[:1], self._g_stats, d[1:]])

    # ----- what the trainer asks of a game -----------------------------------------------------

    def distribute(self, wrap: Callable[[nn.Module], nn.Module] | None) -> None:
        """One process only (refused in __init__): nothing to wrap."""

    def sampler(self) -> nn.Module:
        """Both generators (called, G: A -> B); the tools translate with them, they draw no
        samples."""
        return self.generators

    def _saved(self) -> dict[str, nn.Module]:
        """The networks a checkpoint keeps, by their tensors' name prefix."""
        return {"generator": self.generators, "discriminator": self.discriminators}

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        """The networks and optimisers, and the two pools of fakes with their RNG."""
        tensors, meta = self.networks_state(self._saved())
        tensors["pool.a"], tensors["pool.b"] = self.pools[0].images, self.pools[1].images
        tensors["rng.pool"] = self.pool_rng.get_state()
        return tensors, {"pool_counts": [pool.count for pool in self.pools], **meta}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        self.load_networks_state(self._saved(), tensors, meta)
        for pool, name, count in zip(self.pools, "ab", meta["pool_counts"], strict=True):
            pool.images.copy_(tensors[f"pool.{name}"])
            pool.count = count
        self.pool_rng.set_state(tensors["rng.pool"])

    def flops_per_image(self) -> float:
        """An estimate per image of A (with one of B): forward multiply-adds of G's 4 passes
        (6 with the identity loss), D's 2 in the G phase and 4 in the D phase, each pass
        costing 3x its forward (forward and backward), x 2."""
        device = next(self.generators.parameters()).device
        example = torch.zeros(2, self.generators.data_dim, device=device)
        g = sum(layer_macs(self.generators.ab, example))
        d = sum(layer_macs(self.discriminators.a, example))
        g_passes = 6 if self.identity_weight else 4
        return 2.0 * 3 * (g_passes * g + 6 * d)

    def progress(self, means: dict[str, float]) -> dict[str, str]:
        return {
            "D": f"{means['d_loss']:.3f}",
            "G": f"{means['g_loss']:.3f}",
            "cyc": f"{means['cycle_a'] + means['cycle_b']:.3f}",
        }
