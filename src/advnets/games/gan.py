"""The paper's adversarial game (Goodfellow et al. 2014): G and D, their two updates.

    for number of training iterations do
        for k steps do
            sample m noise samples z ~ p_z and m examples x ~ p_data
            update D by ascending  1/m sum [log D(x) + log(1 - D(G(z)))]
        end for
        sample m noise samples z ~ p_z
        update G by descending the generator loss (minimax or non-saturating)
    end for

Two update orders (``training.update``), each a list of phases:

- ``alternating``: Algorithm 1 as printed, a D phase on every minibatch and a G phase
  on fresh noise after every k-th D update;
- ``simultaneous``: the paper's reference code, one phase per minibatch: one forward pass
  (G(z) once, D on the real and the fake half with dropout masks drawn once), the D
  gradient of the D loss and the G gradient of the G loss both taken at the same
  parameters and applied together.

Each process (one rank of a multi-process run) trains on its slice of the global minibatch
and of the global noise, so N processes compute what one computes on the whole minibatch.

Two remedies for mode collapse change the updates (``advnets.games.remedies``): D judging
packs of m samples (PacGAN, Lin et al. 2018, ``model.discriminator_pack``) and G stepping
against a copy of D unrolled K steps ahead (Metz et al. 2017, ``training.unrolled_steps``).
Off, both leave the updates exactly as they were.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import torch
from torch import nn

from advnets.config import ConfigError, RunConfig, TrainingConfig
from advnets.data.datasets import Dataset
from advnets.games.average import CHECKPOINT_PREFIX as AVERAGE
from advnets.games.average import GeneratorAverage, sampling_prefix
from advnets.games.base import Game, Minibatch, Phase
from advnets.games.losses import discriminator_loss, generator_loss
from advnets.games.optim import (
    build_optimizer,
    limit_column_norms_after_steps,
    weight_matrices,
)
from advnets.games.remedies import UnrolledDiscriminator, pack
from advnets.models import build_models
from advnets.models.mlp import logit_of_mean_pixel
from advnets.runs import checkpoint as ckpt
from advnets.sampling import eval_mode


def gradient_norm(module: nn.Module) -> torch.Tensor:
    """The Euclidean norm of all of a module's parameter gradients together."""
    grads = [p.grad.detach() for p in module.parameters() if p.grad is not None]
    return torch.stack(torch._foreach_norm(grads)).norm() if grads else torch.tensor(0.0)


def layer_macs(module: nn.Module, example: torch.Tensor, *more: torch.Tensor) -> list[int]:
    """Multiply-adds per example of each linear, convolution and transposed-convolution
    layer of ``module``, in the order a forward pass on ``example`` (a batch; ``more``: its
    other inputs, e.g. class labels) calls them."""
    macs: list[int] = []

    def count(layer: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if isinstance(layer, nn.ConvTranspose2d):  # each input value meets the whole kernel
            kernel = layer.out_channels // layer.groups * math.prod(layer.kernel_size)
            macs.append(inputs[0][0].numel() * kernel)
        elif isinstance(layer, nn.Conv2d):  # each output value sums over one kernel window
            kernel = layer.in_channels // layer.groups * math.prod(layer.kernel_size)
            macs.append(output[0].numel() * kernel)
        else:
            macs.append(layer.in_features * layer.out_features)

    kinds = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)
    hooks = [m.register_forward_hook(count) for m in module.modules() if isinstance(m, kinds)]
    try:
        with torch.no_grad(), eval_mode(module):
            module(example, *more)
    finally:
        for hook in hooks:
            hook.remove()
    return macs


def update_flops_per_image(
    generator: nn.Module,
    discriminator: nn.Module,
    batch: int = 2,
    m: int = 1,
    labels: torch.Tensor | None = None,
    labelled_d: bool = True,
) -> float:
    """Necessary FLOPs per training image of one D+G update.

    Forward: G once, D on the real and the fake half, and D again for the G step.
    D step backward: D's weight gradients on both halves and its hidden input
    gradients. G step backward: input gradients through D (not D's weight
    gradients), then G's weight and hidden input gradients. Multiply-adds x 2, of
    every linear and (transposed) convolution layer. For the paper's MNIST model this
    is 30.6 MFLOP. (The simultaneous update shares one D forward pass between the two
    steps, so it does 2.5 MFLOP less.) Counted on a forward pass of zeros in batches of
    ``batch`` (one that D's minibatch groups divide), which draws no random numbers; a
    conditional pair is given ``labels`` too (``batch`` of them; to G only unless
    ``labelled_d``). A D that judges packs of ``m`` samples (PacGAN) costs a pack's FLOPs
    per m images.
    """
    device = next(generator.parameters()).device
    more = () if labels is None else (labels,)
    g_layers = layer_macs(generator, torch.zeros(batch, generator.noise_dim, device=device), *more)
    packs = torch.zeros(batch // m, m * generator.data_dim, device=device)
    d_layers = layer_macs(discriminator, packs, *(more if labelled_d else ()))
    (g, g_first), (d, d_first) = (sum(g_layers), g_layers[0]), (sum(d_layers), d_layers[0])
    d, d_first = d / m, d_first / m
    forward = g + 3 * d
    d_backward = 2 * d + 2 * (d - d_first)
    g_backward = d + g + (g - g_first)
    return 2.0 * (forward + d_backward + g_backward)


def has_batchnorm(module: nn.Module) -> bool:
    """Whether any layer of ``module`` normalises over the batch it is given."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def _check_groups(config: RunConfig, world_size: int) -> None:
    """Refuse a per-process minibatch that does not divide into D's packs and its
    minibatch-std groups (of packs), and unrolling in more than one process."""
    group, m = config.model.discriminator_minibatch_std, config.model.discriminator_pack
    batch = config.training.batch_size
    if (batch // world_size) % m:
        raise ConfigError(
            f"training.batch_size = {batch} gives each of the {world_size} processes "
            f"{batch // world_size} examples, which do not divide into packs of "
            f"model.discriminator_pack = {m}."
        )
    if group and (batch // world_size // m) % group:
        what = "" if m == 1 else f" packs of {m}"
        raise ConfigError(
            f"training.batch_size = {batch} gives each of the {world_size} processes "
            f"{batch // world_size} examples, which do not divide into groups of "
            f"model.discriminator_minibatch_std = {group}{what}."
        )
    if config.training.unrolled_steps and world_size > 1:
        raise ConfigError(
            "training.unrolled_steps runs in one process only: each process would unroll "
            "its own copy of D on its own slice of the minibatch."
        )


class GAN(Game):
    """G and D of a run's model config, their optimisers, and Algorithm 1's updates."""

    stat_names = ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm")

    def __init__(
        self, config: RunConfig, dataset: Dataset, device: torch.device, world_size: int = 1
    ) -> None:
        """Build the networks on ``device`` (weights from the global RNG as it stands) for a
        run on ``world_size`` processes."""
        _check_groups(config, world_size)
        images = dataset.image_shape is not None
        self.generator, self.discriminator = build_models(
            config.model, dataset.dim, logit_of_mean_pixel(dataset.train) if images else None
        )
        self.generator.to(device)
        self.discriminator.to(device)
        self._g, self._d = self.generator, self.discriminator  # what the updates call
        self._separate_halves = has_batchnorm(self.discriminator)
        train_cfg = config.training
        self.optimizers = {
            role: self._optimizer(train_cfg, net.parameters())
            for role, net in (("d", self.discriminator), ("g", self.generator))
        }
        if config.model.max_col_norm is not None:
            for role, net in (("d", self.discriminator), ("g", self.generator)):
                limit_column_norms_after_steps(
                    self.optimizers[role],
                    weight_matrices(net.named_parameters()),
                    config.model.max_col_norm,
                )
        self.g_loss_fn = generator_loss(train_cfg.generator_loss)
        decay = train_cfg.generator_average
        self.average = GeneratorAverage(self.generator, decay) if decay else None
        self.update, self.k = train_cfg.update, train_cfg.k
        self._batch = train_cfg.batch_size // world_size  # what D sees of a minibatch
        self.pack = config.model.discriminator_pack  # m samples per input of D (PacGAN)
        self.pack_slots_apart = config.model.pack_slots_apart  # G called once per pack slot
        self.unrolled = None
        if train_cfg.unrolled_steps:  # G steps against D advanced K steps (Metz et al. 2017)
            self.unrolled = UnrolledDiscriminator(
                self.discriminator,
                self.optimizers["d"],
                lambda params: build_optimizer(train_cfg, params),
                train_cfg.unrolled_steps,
                train_cfg.unrolled_second_order,
            )
        # ‖∇θg (generator loss)‖ of the latest G update, updated in place (see Phase)
        self._g_grad_norm = torch.zeros((), device=device)

    def _optimizer(
        self, training: TrainingConfig, params: Iterable[torch.Tensor]
    ) -> torch.optim.Optimizer:
        """The optimiser of one player, as ``training`` names it."""
        return build_optimizer(training, params)

    # ----- Algorithm 1 as phases ---------------------------------------------------------------

    def phases(self) -> list[Phase]:
        moved = self._generator_moved
        if self.update == "simultaneous":
            return [Phase("simultaneous", self.simultaneous_update, ("d", "g"), bookkeeping=moved)]
        return [
            Phase("discriminator", self.discriminator_step, ("d",)),
            Phase(
                "generator",
                self.generator_step,
                ("g",),
                self._after_k,
                logged=False,
                bookkeeping=moved,
            ),
        ]

    def _after_k(self, updates: Mapping[str, int]) -> bool:
        """Algorithm 1: one G update after every k D updates."""
        return updates["d"] % self.k == 0

    def minibatches_per_step(self) -> int:
        return self.k if self.update == "alternating" else 1

    def _noise(self, batch: Minibatch) -> torch.Tensor:
        """This process's slice of m noise vectors drawn for the whole (global) minibatch."""
        return batch.shard(self.generator.sample_noise(batch.size, batch.noise_rng))

    def _generate(self, generator: nn.Module, batch: Minibatch) -> torch.Tensor:
        """G(z) for this process's slice of the minibatch's noise; with
        ``model.pack_slots_apart``, slot i of every pack (rows i, i + m, ...) in a call of its
        own, as PacGAN's code draws them, the rows left in their order."""
        noise, m = self._noise(batch), self.pack
        if not self.pack_slots_apart or m == 1:
            return generator(noise)
        slots = [generator(noise[i::m]) for i in range(m)]
        return torch.stack(slots, dim=1).reshape(len(noise), -1)

    def _judge(self, discriminator: nn.Module, images: torch.Tensor, batch: Minibatch):
        """D's logits of ``images`` (the real half, the fake half, or both in that order), in
        packs of ``self.pack`` (PacGAN; 1: one image each)."""
        return discriminator(pack(images, self.pack))

    @staticmethod
    def _fp32(output):
        """D's output in fp32 (for the losses)."""
        return output.float()

    @staticmethod
    def _source(output) -> torch.Tensor:
        """The logits of P(x is real) in D's output."""
        return output

    def _d_loss(self, real_output, fake_output, batch: Minibatch) -> torch.Tensor:
        """D's loss, −V(D, G)/2 of Eq. (1) (advnets.games.losses)."""
        return discriminator_loss(real_output, fake_output)

    def _g_loss(self, fake_output, batch: Minibatch) -> torch.Tensor:
        """G's loss, minimax or non-saturating (training.generator_loss)."""
        return self.g_loss_fn(fake_output)

    def _discriminate(self, batch: Minibatch, fake: torch.Tensor):
        """D's logits (fp32) on the real and the fake half; dropout masks differ row by row.

        One pass on both halves; a D with batch normalisation sees each half alone, as in
        DCGAN's code, so that neither half's batch statistics tell it about the other. A D
        that judges packs of m (PacGAN) gets each half as packs, one logit per pack."""
        fake = fake.to(batch.real.dtype)
        m = self.pack
        with batch.autocast():
            if self._separate_halves:
                real_output = self._fp32(self._judge(self._d, batch.real, batch))
                return real_output, self._fp32(self._judge(self._d, fake, batch))
            logits = self._fp32(self._judge(self._d, torch.cat([batch.real, fake]), batch))
        real_packs = len(batch.real) // m
        return logits[:real_packs], logits[real_packs:]

    def simultaneous_update(self, batch: Minibatch) -> torch.Tensor:
        """The reference code's update: both gradients from one forward pass, applied together."""
        with batch.autocast():
            fake = self._generate(self._g, batch)
        real_logits, fake_logits = self._discriminate(batch, fake)
        d_loss = self._d_loss(real_logits, fake_logits, batch)
        g_loss = self._g_loss(fake_logits, batch)
        opt_d, opt_g = self.optimizers["d"], self.optimizers["g"]
        opt_d.zero_grad(set_to_none=True)
        opt_g.zero_grad(set_to_none=True)
        d_loss.backward(inputs=list(self.discriminator.parameters()), retain_graph=True)
        g_loss.backward(inputs=list(self.generator.parameters()))
        self._g_grad_norm.copy_(gradient_norm(self.generator))
        opt_d.step()
        opt_g.step()
        self._update_average()
        return self._stats(d_loss, g_loss, real_logits, fake_logits)

    def discriminator_step(self, batch: Minibatch) -> torch.Tensor:
        """Ascend V(D, G) in theta_d on m real images and m fresh fakes (this process's slice)."""
        with torch.no_grad(), batch.autocast():
            fake = self._generate(self.generator, batch)
        real_logits, fake_logits = self._discriminate(batch, fake)
        d_loss = self._d_loss(real_logits, fake_logits, batch)
        self.optimizers["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimizers["d"].step()
        with torch.no_grad():
            g_loss = self._g_loss(fake_logits, batch)
        return self._stats(d_loss, g_loss, real_logits, fake_logits)

    def generator_step(self, batch: Minibatch) -> torch.Tensor:
        """Descend the generator loss in theta_g on m fresh noise samples; returns the loss.

        D is called bare (not through DDP): no gradient of D is taken here. With unrolled
        steps (Metz et al. 2017) the loss is taken against D advanced that many D steps on
        this minibatch's real samples and these fakes: a copy (first order), or D's weights
        after the steps with their graph (second order, ``training.unrolled_second_order``)."""
        with batch.autocast():
            fake = self._generate(self._g, batch)
        critic = self.discriminator
        if self.unrolled is not None:
            critic = self.unrolled.advance(lambda net: self._unrolled_loss(net, batch, fake))
        with batch.autocast():
            fake_logits = self._fp32(self._judge(critic, fake, batch))
        g_loss = self._g_loss(fake_logits, batch)
        self.optimizers["g"].zero_grad(set_to_none=True)
        g_loss.backward(inputs=list(self.generator.parameters()))
        self._g_grad_norm.copy_(gradient_norm(self.generator))
        self.optimizers["g"].step()
        self._update_average()
        return g_loss.detach()[None]

    def _unrolled_loss(self, net: Callable, batch: Minibatch, fake: torch.Tensor):
        """D's loss for one unrolled step of ``net``: the real half and the fakes, held fixed
        (no gradient to G) unless the unrolling is second order."""
        if not self.unrolled.second_order:
            fake = fake.detach()
        fake = fake.to(batch.real.dtype)
        with batch.autocast():
            real_logits = net(pack(batch.real, self.pack)).float()
            fake_logits = net(pack(fake, self.pack)).float()
        return discriminator_loss(real_logits, fake_logits)

    def _update_average(self) -> None:
        """Fold the G just updated into the weight average (training.generator_average)."""
        if self.average is not None:
            self.average.update(self.generator)

    def _generator_moved(self) -> None:
        """After a G update: the average's batch statistics are out of date."""
        if self.average is not None:
            self.average.weights_changed()

    def _stats(self, d_loss, g_loss, real_logits, fake_logits) -> torch.Tensor:
        """[D loss, G loss, mean D(x), mean D(G(z)), ‖∇θg‖ of the latest G update] of one
        update, without a sync."""
        with torch.no_grad():
            return torch.stack(
                [
                    d_loss,
                    g_loss,
                    torch.sigmoid(self._source(real_logits)).mean(),
                    torch.sigmoid(self._source(fake_logits)).mean(),
                    self._g_grad_norm,
                ]
            )

    # ----- what the trainer asks of a game -----------------------------------------------------

    def distribute(self, wrap: Callable[[nn.Module], nn.Module] | None) -> None:
        if wrap is None:
            self._g, self._d = self.generator, self.discriminator
        else:
            self._g, self._d = wrap(self.generator), wrap(self.discriminator)

    def sampler(self) -> nn.Module:
        """The weight average where there is one (its batch-normalisation statistics measured
        first), else G itself."""
        if self.average is None:
            return self.generator
        self.average.measure_statistics()
        return self.average.generator

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        saved = {"generator": self.generator, "discriminator": self.discriminator}
        return self.networks_state(saved | ({AVERAGE: self.sampler()} if self.average else {}))

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        saved = {"generator": self.generator, "discriminator": self.discriminator}
        self.load_networks_state(saved, tensors, meta)
        if self.average is not None:  # a run forked from one without it starts from G itself
            ckpt.load_module(sampling_prefix(tensors), self.average.generator, tensors)

    def flops_per_image(self) -> float:
        return self._update_flops()

    def _update_flops(self, labels: torch.Tensor | None = None, labelled_d: bool = True) -> float:
        return update_flops_per_image(
            self.generator, self.discriminator, self._batch, self.pack, labels, labelled_d
        )

    def summary(self, means: dict[str, float]) -> dict[str, float]:
        """V(D, G) of Eq. (1): the D loss is -V / 2."""
        return {"value": -2 * means["d_loss"]}

    def progress(self, means: dict[str, float]) -> dict[str, str]:
        return {
            "D": f"{means['d_loss']:.3f}",
            "G": f"{means['g_loss']:.3f}",
            "Dx": f"{means['d_real']:.2f}",
            "DGz": f"{means['d_fake']:.2f}",
        }
