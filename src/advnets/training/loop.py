"""The training loop: Algorithm 1 of Goodfellow et al. 2014.

    for number of training iterations do
        for k steps do
            sample m noise samples z ~ p_z and m examples x ~ p_data
            update D by ascending  1/m sum [log D(x) + log(1 - D(G(z)))]
        end for
        sample m noise samples z ~ p_z
        update G by descending the generator loss (minimax or non-saturating)
    end for

Two update orders are offered (``training.update``):

- ``alternating``: Algorithm 1 as printed, k discriminator steps (each on a new
  minibatch) and then one generator step on fresh noise;
- ``simultaneous``: the paper's reference code. One forward pass per minibatch
  (G(z) once, D on the real and the fake half with dropout masks drawn once);
  the D gradient of the D loss and the G gradient of the G loss are both taken
  at the same parameters and applied together.

The loop knows nothing about a particular model: it needs a generator with
``sample_noise`` and a discriminator returning logits. It runs on any device,
and as one rank of a multi-process (DDP) run under torchrun
(``advnets.training.distributed``): each rank takes its slice of the global
minibatch and of the global noise, so a run on N processes computes what one
process computes on the whole minibatch.

Three random streams, each with its purpose, all saved in checkpoints: the
data order (``data_rng``), the noise z (``noise_rng``; the same on every rank,
which then takes its slice), and dropout (PyTorch's global RNG, seeded per rank
so that ranks draw different masks).
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from advnets import __version__
from advnets.config import ConfigError, RunConfig
from advnets.data.datasets import Dataset
from advnets.evaluation.classifier import embed, load_classifier
from advnets.evaluation.metrics import (
    SCALAR_DOMAIN_METRICS,
    compare_embeddings,
    has_domain_features,
)
from advnets.evaluation.parzen import parzen_protocol
from advnets.figures.curves import plot_curves
from advnets.figures.grid import save_grid, tile_images
from advnets.models import build_models
from advnets.models.mlp import logit_of_mean_pixel
from advnets.objectives import discriminator_loss, generator_loss
from advnets.runs import checkpoint as ckpt
from advnets.runs.logs import MetricsLog, TensorBoardLog, read_metrics
from advnets.runs.rundir import RunDir
from advnets.sampling import generate
from advnets.training.average import CHECKPOINT_PREFIX as AVERAGE
from advnets.training.average import GeneratorAverage, sampling_prefix
from advnets.training.distributed import Processes, resolve_device
from advnets.training.optim import build_optimizer, set_hyperparameters
from advnets.training.precision import autocast, resolve_precision
from advnets.training.schedules import decayed_learning_rate, ramped_momentum
from advnets.training.throughput import gemm_gflops, update_flops_per_image

# Fixed seeds of the noise used for pictures and validation, kept apart from the
# training RNG so that evaluating never changes what training does next.
GRID_NOISE_SEED = 1234
VALID_NOISE_SEED = 4321


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is left intact."""


class TrainingInterrupted(RuntimeError):
    """Training stopped on SIGINT or SIGTERM after writing a checkpoint."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C; a scheduler's or torchrun's stop


@dataclass
class TrainState:
    """The scalar part of a run's state, saved in every checkpoint."""

    epoch: int = 0  # completed epochs
    batch: int = 0  # minibatches consumed in the current epoch
    d_updates: int = 0  # discriminator updates so far
    g_updates: int = 0  # generator updates so far (the run's "step")
    best_valid_ll: float = -math.inf  # best validation Parzen log-likelihood
    best_epoch: int = 0
    evals_since_best: int = 0
    finished: bool = False
    precision: str = ""  # the arithmetic training.precision resolved to (kept on resume)


def gradient_norm(module: torch.nn.Module) -> torch.Tensor:
    """The Euclidean norm of all of a module's parameter gradients together."""
    grads = [p.grad.detach() for p in module.parameters() if p.grad is not None]
    return torch.stack(torch._foreach_norm(grads)).norm() if grads else torch.tensor(0.0)


class _Window:
    """Running means of [D loss, G loss, D(x), D(G(z)), ‖∇G‖] between two log records."""

    NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm")

    def __init__(
        self, metrics: MetricsLog | None, board: TensorBoardLog, seconds_per_image_flop: float
    ):
        self.metrics, self.board = metrics, board
        self.flop_seconds = seconds_per_image_flop  # FLOPs per image / GEMM FLOP/s
        self.sums = torch.zeros(len(self.NAMES))
        self.reset()

    def restart_clock(self) -> None:
        self.start = time.perf_counter()

    def exclude(self, seconds: float) -> None:
        """Leave time spent outside training (evaluation, checkpoints) out of images/s."""
        self.start += seconds

    def add(self, stats: torch.Tensor, images: int) -> None:
        self.sums += stats
        self.count += 1
        self.images += images

    def flush(self, record: dict, bar: tqdm) -> None:
        """Write one train record (means, V(D, G), images/s, GEMM fraction) and reset; only
        reset where there is no log (ranks other than 0)."""
        if self.metrics is None:
            self.reset()
            return
        means = dict(zip(self.NAMES, (self.sums / self.count).tolist(), strict=True))
        rate = self.images / (time.perf_counter() - self.start)
        record.update(
            means,
            value=-2 * means["d_loss"],
            images_per_s=rate,
            gemm_fraction=rate * self.flop_seconds,
            time=time.time(),
        )
        self.metrics.write(record)
        self.board.scalars(
            record["step"], {f"train/{k}": record[k] for k in (*self.NAMES, "lr", "images_per_s")}
        )
        bar.set_postfix(
            D=f"{means['d_loss']:.3f}",
            G=f"{means['g_loss']:.3f}",
            Dx=f"{means['d_real']:.2f}",
            DGz=f"{means['d_fake']:.2f}",
            ips=f"{rate:.0f}",
        )
        self.reset()

    def reset(self) -> None:
        """Start the next window."""
        self.sums.zero_()
        self.count = self.images = 0
        self.restart_clock()


class Trainer:
    """Trains one GAN from a validated config into a run directory."""

    def __init__(
        self,
        config: RunConfig,
        dataset: Dataset,
        run_dir: RunDir,
        processes: Processes | None = None,
    ) -> None:
        self.config = config
        self.data = dataset
        self.run = run_dir
        train_cfg = config.training
        self.processes = processes or Processes(device=resolve_device(train_cfg.device))
        self.device = self.processes.device
        if train_cfg.batch_size > len(dataset.train):
            raise ConfigError(
                f"training.batch_size = {train_cfg.batch_size} is larger than the "
                f"{len(dataset.train)} training images."
            )
        world = self.processes.world_size
        if train_cfg.batch_size % world:
            raise ConfigError(
                f"training.batch_size = {train_cfg.batch_size} (the global minibatch) must "
                f"divide evenly among the {world} processes."
            )
        group = config.model.discriminator_minibatch_std
        if group and (train_cfg.batch_size // world) % group:
            raise ConfigError(
                f"training.batch_size = {train_cfg.batch_size} gives each of the {world} "
                f"processes {train_cfg.batch_size // world} examples, which do not divide into "
                f"groups of model.discriminator_minibatch_std = {group}."
            )
        if train_cfg.threads is not None:
            torch.set_num_threads(train_cfg.threads)
        torch.manual_seed(config.seed)  # the same initial weights on every rank
        images = dataset.image_shape is not None
        self.generator, self.discriminator = build_models(
            config.model, dataset.dim, logit_of_mean_pixel(dataset.train) if images else None
        )
        self.generator.to(self.device)
        self.discriminator.to(self.device)
        self.train_data = dataset.train.to(self.device)
        self.data_rng = torch.Generator().manual_seed(config.seed)
        self.noise_rng = torch.Generator().manual_seed(config.seed + 1)
        torch.manual_seed(config.seed + 2 + self.processes.rank)  # dropout masks, per rank
        self.permutation = torch.arange(len(dataset.train))
        self._g, self._d = self.generator, self.discriminator  # what the updates call
        if self.processes.distributed:
            self._g, self._d = (
                DistributedDataParallel(
                    net,
                    device_ids=[self.device.index] if self.device.type == "cuda" else None,
                    gradient_as_bucket_view=True,
                )
                for net in (self.generator, self.discriminator)
            )
        betas = train_cfg.adam_betas
        self.opt_d, self.opt_g = (
            build_optimizer(
                train_cfg.optimizer, net.parameters(), train_cfg.lr, train_cfg.momentum_start, betas
            )
            for net in (self.discriminator, self.generator)
        )
        self.g_loss_fn = generator_loss(train_cfg.generator_loss)
        decay = train_cfg.generator_average
        self.average = GeneratorAverage(self.generator, decay) if decay else None
        precision, self.precision_rates = resolve_precision(train_cfg.precision, self.device)
        self.state = TrainState(precision=precision)
        self.batches_per_epoch = len(dataset.train) // train_cfg.batch_size
        self._signalled = False  # a stop signal arrived in this process
        self._config_unrecorded = False  # a resumed run's config, written with its checkpoint
        self._interrupted = False  # some rank was signalled: all stop after this minibatch
        self._g_grad_norm = torch.tensor(0.0)  # ‖∇θg (generator loss)‖ of the latest G update
        self.epoch_hooks: list[Callable[[Trainer], None]] = []  # run after each epoch's own work
        self.domain_reference = (
            embed(load_classifier(), dataset.valid)
            if config.evaluation.domain_metrics and has_domain_features(dataset)
            else None
        )

    # ----- Algorithm 1 -------------------------------------------------------------------------

    def _set_schedules(self) -> None:
        """Apply the paper's lr decay (per update, any optimiser) and momentum ramp (per
        epoch, sgd only)."""
        cfg = self.config.training
        momentum = None
        if cfg.optimizer == "sgd":
            momentum = ramped_momentum(
                cfg.momentum_start,
                cfg.momentum_end,
                cfg.momentum_saturate_epoch,
                self.state.epoch + 1,
            )
        for optimizer, updates in (
            (self.opt_d, self.state.d_updates),
            (self.opt_g, self.state.g_updates),
        ):
            lr = decayed_learning_rate(cfg.lr, cfg.lr_decay, cfg.lr_min, updates)
            set_hyperparameters(optimizer, lr, momentum)

    def _autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast of the forward passes when the run's precision is bf16."""
        return autocast(self.state.precision or self.config.training.precision, self.device)

    def _noise(self, m: int) -> torch.Tensor:
        """This rank's slice of m noise vectors drawn for the whole (global) minibatch."""
        return self.processes.shard(self.generator.sample_noise(m, self.noise_rng))

    def _discriminate(self, discriminator, real: torch.Tensor, fake: torch.Tensor):
        """D's logits (fp32) on the real and the fake half; dropout masks differ row by row."""
        with self._autocast():
            logits = discriminator(torch.cat([real, fake.to(real.dtype)])).float()
        return logits[: len(real)], logits[len(real) :]

    def simultaneous_update(self, real: torch.Tensor, m: int) -> torch.Tensor:
        """The reference code's update: both gradients from one forward pass, applied together.

        ``real`` is this rank's slice of a global minibatch of ``m``."""
        with self._autocast():
            fake = self._g(self._noise(m))
        real_logits, fake_logits = self._discriminate(self._d, real, fake)
        d_loss = discriminator_loss(real_logits, fake_logits)
        g_loss = self.g_loss_fn(fake_logits)
        self.opt_d.zero_grad(set_to_none=True)
        self.opt_g.zero_grad(set_to_none=True)
        d_loss.backward(inputs=list(self.discriminator.parameters()), retain_graph=True)
        g_loss.backward(inputs=list(self.generator.parameters()))
        self._g_grad_norm = gradient_norm(self.generator)
        self.opt_d.step()
        self.opt_g.step()
        self._update_average()
        self.state.d_updates += 1
        self.state.g_updates += 1
        return self._stats(d_loss, g_loss, real_logits, fake_logits)

    def discriminator_step(self, real: torch.Tensor, m: int | None = None) -> torch.Tensor:
        """Ascend V(D, G) in theta_d on m real images and m fresh fakes (this rank's slice
        of them; ``m`` defaults to the whole of ``real`` in one process)."""
        with torch.no_grad(), self._autocast():
            fake = self.generator(self._noise(m or len(real)))
        real_logits, fake_logits = self._discriminate(self._d, real, fake)
        d_loss = discriminator_loss(real_logits, fake_logits)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        self.state.d_updates += 1
        return self._stats(d_loss, self.g_loss_fn(fake_logits.detach()), real_logits, fake_logits)

    def generator_step(self, m: int) -> torch.Tensor:
        """Descend the generator loss in theta_g on m fresh noise samples; returns the loss.

        D is called bare (not through DDP): no gradient of D is taken here."""
        with self._autocast():
            fake_logits = self.discriminator(self._g(self._noise(m))).float()
        g_loss = self.g_loss_fn(fake_logits)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward(inputs=list(self.generator.parameters()))
        self._g_grad_norm = gradient_norm(self.generator)
        self.opt_g.step()
        self._update_average()
        self.state.g_updates += 1
        return g_loss.detach()

    def _update_average(self) -> None:
        """Fold the G just updated into the weight average (training.generator_average)."""
        if self.average is not None:
            self.average.update(self.generator)

    def sampler(self) -> torch.nn.Module:
        """The generator that samples are drawn from: the weight average where there is one,
        its batch-normalisation statistics measured first."""
        if self.average is None:
            return self.generator
        self.average.measure_statistics()
        return self.average.generator

    def _stats(self, d_loss, g_loss, real_logits, fake_logits) -> torch.Tensor:
        """[D loss, G loss, mean D(x), mean D(G(z)), ‖∇θg‖ of the latest G update] of one
        update, without a sync."""
        with torch.no_grad():
            return torch.stack(
                [
                    d_loss,
                    g_loss,
                    torch.sigmoid(real_logits).mean(),
                    torch.sigmoid(fake_logits).mean(),
                    self._g_grad_norm.to(d_loss.device),
                ]
            )

    def _check_finite(self, values: torch.Tensor) -> None:
        if bool(torch.isfinite(values).all()):
            return
        last = self.run.checkpoint("last")
        kept = (
            f"the last checkpoint ({last}, step {ckpt.read_state(last)['state']['g_updates']}) "
            "is intact"
            if last.is_file()
            else "no checkpoint had been written yet"
        )
        raise TrainingDiverged(
            f"a loss became NaN or infinite at step {self.state.g_updates} "
            f"(epoch {self.state.epoch + 1}); training stopped and {kept}. "
            "Try a smaller training.lr."
        )

    def train_minibatch(self, real: torch.Tensor) -> torch.Tensor:
        """One minibatch of Algorithm 1: a D update, and a G update every k-th D update.

        ``real`` is the whole (global) minibatch; this rank trains on its slice. The
        returned statistics are means over all ranks, which also agree on whether a
        loss diverged and whether any rank was asked to stop."""
        self._set_schedules()
        m, local = len(real), self.processes.shard(real)
        g_loss = torch.zeros((), device=self.device)
        if self.config.training.update == "simultaneous":
            stats = self.simultaneous_update(local, m)
        else:
            stats = self.discriminator_step(local, m)
            if self.state.d_updates % self.config.training.k == 0:
                g_loss = self.generator_step(m)
        signalled = torch.tensor(float(self._signalled), device=self.device)
        shared = self.processes.mean(torch.cat([stats, g_loss[None], signalled[None]]))
        self._interrupted = bool(shared[-1] > 0)
        self._check_finite(shared[:-1])
        return shared[: len(stats)]

    # ----- the run -----------------------------------------------------------------------------

    def _epoch_order(self) -> None:
        if self.state.batch == 0:
            self.permutation = torch.randperm(len(self.data.train), generator=self.data_rng)

    def _done(self) -> bool:
        cfg = self.config.training
        return (
            self.state.finished
            or self.state.epoch >= cfg.epochs
            or (cfg.max_steps is not None and self.state.g_updates >= cfg.max_steps)
        )

    def train(self) -> TrainState:
        """Train until the configured epochs or steps are done (or resume until they are)."""
        m = self.config.training.batch_size
        main = self.processes.is_main
        metrics = MetricsLog(self.run.metrics) if main else None
        if metrics is not None:
            metrics.truncate_after(self.state.g_updates)
        board = TensorBoardLog(
            self.run.tensorboard,
            self.config.logging.tensorboard and main,
            purge_step=self.state.g_updates or None,
        )
        window = _Window(metrics, board, self._measure_machine(metrics) if metrics else 0.0)
        bar = self._progress_bar()
        previous = {sig: signal.signal(sig, self._on_stop_signal) for sig in STOP_SIGNALS}
        try:
            while not self._done():
                self._epoch_order()
                for b in range(self.state.batch, self.batches_per_epoch):
                    real = self.train_data[self.permutation[b * m : (b + 1) * m].to(self.device)]
                    window.add(self.train_minibatch(real).cpu(), m)
                    self.state.batch = b + 1
                    bar.update(1)
                    if window.count == self.config.logging.log_every_steps:
                        window.flush(self._train_record(), bar)
                    if self._interrupted:
                        self.save("last")
                        raise TrainingInterrupted(
                            f"interrupted at step {self.state.g_updates}; checkpoint saved. "
                            f"Resume with: advnets train --resume --out {self.run.path}"
                            + (
                                ", launched by torchrun as before"
                                if self.processes.distributed
                                else ""
                            )
                        )
                    if self._done():
                        break
                    self._checkpoint_mid_epoch()
                if self.state.batch == self.batches_per_epoch:
                    self.state.epoch += 1
                    self.state.batch = 0
                    paused = time.perf_counter()
                    self._end_of_epoch(metrics, board)
                    window.exclude(time.perf_counter() - paused)
                else:
                    self.save("last")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            bar.close()
            board.close()
        return self.state

    def close(self) -> None:
        """Drop the DDP wrappers, which hold the process group: call it before the process
        leaves the group (``distributed.stop``)."""
        self._g, self._d = self.generator, self.discriminator

    def _checkpoint_mid_epoch(self) -> None:
        """The extra checkpoints of ``checkpoint_every_steps``; never on an epoch's last
        minibatch, whose end-of-epoch work (and its checkpoint) follows at once: a run
        killed during that work then redoes it from the checkpoint before, logging it once."""
        every = self.config.training.checkpoint_every_steps
        last_batch = self.state.batch == self.batches_per_epoch
        if every and self.state.g_updates % every == 0 and not last_batch:
            self.save("last")

    def _measure_machine(self, metrics: MetricsLog) -> float:
        """Log the GEMM peak of the training device; return the FLOPs one image costs per
        update over it."""
        gemm = gemm_gflops(device=self.device)
        flops = update_flops_per_image(self.generator, self.discriminator)
        metrics.write(
            {
                "kind": "machine",
                "step": self.state.g_updates,
                "threads": torch.get_num_threads(),
                "gemm_gflops": gemm,
                "precision": self.state.precision,
                **{f"gemm_gflops_{name}": rate for name, rate in self.precision_rates.items()},
                "update_mflop_per_image": flops / 1e6,
                "time": time.time(),
            }
        )
        return flops / (gemm * 1e9)

    def _progress_bar(self) -> tqdm:
        cfg = self.config.training
        total = cfg.epochs * self.batches_per_epoch
        done = self.state.epoch * self.batches_per_epoch + self.state.batch
        if cfg.max_steps is not None:
            per_step = cfg.k if cfg.update == "alternating" else 1
            total = min(total, done + max(cfg.max_steps - self.state.g_updates, 0) * per_step)
        return tqdm(
            total=total,
            initial=min(done, total),
            unit="batch",
            desc="training",
            disable=not (self.config.logging.progress and self.processes.is_main),
            dynamic_ncols=True,
        )

    def _on_stop_signal(self, signum, frame) -> None:
        self._signalled = True

    def _train_record(self) -> dict:
        """The fields of a train record that describe where the run is."""
        group = self.opt_g.param_groups[0]
        return {
            "kind": "train",
            "step": self.state.g_updates,
            "epoch": self.state.epoch + 1,
            "epoch_progress": self.state.epoch + self.state.batch / self.batches_per_epoch,
            "lr": group["lr"],
            "momentum": group.get("momentum", math.nan),
        }

    def _end_of_epoch(self, metrics: MetricsLog | None, board: TensorBoardLog) -> None:
        """Image runs: sample grid, validation scores, best checkpoint; then hooks, curves and
        the last checkpoint. Rank 0 does the work; every rank then shares its outcome
        (the best score, whether patience ran out) and takes part in the checkpoints."""
        improved = False
        if metrics is not None:
            images = self.data.image_shape is not None
            improved = images and self._evaluate_images(metrics, board)
            metrics.write(
                {
                    "kind": "epoch",
                    "step": self.state.g_updates,
                    "epoch": self.state.epoch,
                    "time": time.time(),
                }
            )
            for hook in self.epoch_hooks:
                hook(self)
            if self._validates_now():  # the curves change most at validations; 0.7 s each
                plot_curves(read_metrics(self.run.metrics), self.run.curves)
        improved, state = self.processes.broadcast((improved, asdict(self.state)))
        self.state = TrainState(**state)
        if improved:
            self.save("best")
        self.save("last")

    def _validates_now(self) -> bool:
        """Whether the epoch just completed ends with a validation (every few epochs, and the
        last)."""
        last_epoch = self._done() or self.state.epoch >= self.config.training.epochs
        return self.state.epoch % self.config.evaluation.every_epochs == 0 or last_epoch

    def _evaluate_images(self, metrics: MetricsLog, board: TensorBoardLog) -> bool:
        """Sample grid; every few epochs validation Parzen (and domain metrics). True if the
        validation score improved."""
        epoch, step = self.state.epoch, self.state.g_updates
        rows = self.config.logging.grid_rows
        sampler = self.sampler()
        grid = generate(sampler, rows * rows, GRID_NOISE_SEED).numpy()
        save_grid(self.run.samples / f"epoch_{epoch:04d}.png", grid, self.data.image_shape, rows)
        save_grid(self.run.samples / "latest.png", grid, self.data.image_shape, rows)
        board.image(step, "samples", tile_images(grid, self.data.image_shape, rows))
        eval_cfg = self.config.evaluation
        improved = False
        if self._validates_now():
            valid = self.data.valid[: eval_cfg.valid_images]
            samples = generate(sampler, eval_cfg.samples, VALID_NOISE_SEED)
            result = parzen_protocol(samples, valid, valid, n_valid=len(valid))
            improved = result.test_ll > self.state.best_valid_ll
            if improved:
                self.state.best_valid_ll, self.state.best_epoch = result.test_ll, epoch
                self.state.evals_since_best = 0
            else:
                self.state.evals_since_best += 1
            record = {
                "kind": "valid_parzen",
                "step": step,
                "epoch": epoch,
                "ll": result.test_ll,
                "se": result.test_se,
                "sigma": result.sigma,
                "samples": result.n_samples,
                "valid_images": result.n_test,
                "seconds": result.seconds,
                "best": improved,
                "time": time.time(),
            }
            metrics.write(record)
            board.scalars(step, {"valid/parzen_ll": result.test_ll})
            if self.domain_reference is not None:
                self._domain_metrics(samples, metrics, board)
            patience = eval_cfg.patience
            if patience is not None and self.state.evals_since_best >= patience:
                self.state.finished = True
        return improved

    def _domain_metrics(
        self, samples: torch.Tensor, metrics: MetricsLog, board: TensorBoardLog
    ) -> None:
        """FID, KID, IS, precision/recall, density/coverage and classes vs validation images."""
        started = time.perf_counter()
        values = compare_embeddings(self.domain_reference, embed(load_classifier(), samples))
        record = {
            "kind": "valid_domain",
            "step": self.state.g_updates,
            "epoch": self.state.epoch,
            **values.to_dict(),
            "seconds": time.perf_counter() - started,
            "time": time.time(),
        }
        metrics.write(record)
        board.scalars(
            self.state.g_updates,
            {f"valid/{key}": record[key] for key in SCALAR_DOMAIN_METRICS},
        )

    # ----- checkpoints -------------------------------------------------------------------------

    def _dropout_rng_states(self) -> dict[str, torch.Tensor]:
        """Every rank's dropout RNG state, one row per rank (collective: all ranks call it)."""
        states = {"rng.torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            states["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            name: torch.stack(self.processes.gather_objects(state))
            for name, state in states.items()
        }

    def save(self, name: str) -> Path:
        """Write everything needed to continue exactly to checkpoints/<name>.safetensors.

        Collective in a multi-process run: every rank calls it, rank 0 writes."""
        tensors = {
            **ckpt.module_tensors("generator", self.generator),
            **ckpt.module_tensors("discriminator", self.discriminator),
            **(ckpt.module_tensors(AVERAGE, self.sampler()) if self.average else {}),
            **self._dropout_rng_states(),
            "rng.data": self.data_rng.get_state(),
            "rng.noise": self.noise_rng.get_state(),
            "data.permutation": self.permutation,
        }
        d_tensors, d_meta = ckpt.optimizer_tensors("optimizer.d", self.opt_d)
        g_tensors, g_meta = ckpt.optimizer_tensors("optimizer.g", self.opt_g)
        meta = {
            "state": asdict(self.state),
            "optimizer.d": d_meta,
            "optimizer.g": g_meta,
            "config": self.config.to_dict(),
            "data_sha256": self.data.sha256,
            "version": __version__,
            "world_size": self.processes.world_size,
        }
        path = self.run.checkpoint(name)
        if self.processes.is_main:
            previous = self.run.checkpoint("last.prev") if name == "last" else None
            ckpt.save_checkpoint(path, {**tensors, **d_tensors, **g_tensors}, meta, previous)
            if self._config_unrecorded:
                self.run.update_config(self.config)
        self._config_unrecorded = False
        return path

    def _restore_dropout_rng(self, tensors: dict[str, torch.Tensor], written_by: int) -> None:
        """Each rank's dropout RNG as saved. A run continued on another number of processes
        or another kind of device has no saved state that fits: it is reseeded, and the
        continuation is no longer bit for bit what the original setting would compute."""
        rank, world = self.processes.rank, self.processes.world_size
        cpu_states = tensors["rng.torch"].reshape(written_by, -1)
        fits = written_by == world and (self.device.type != "cuda" or "rng.cuda" in tensors)
        if fits:  # a row of its own: set_rng_state reads a view from its storage's start
            torch.set_rng_state(cpu_states[rank].clone())
            if self.device.type == "cuda":
                torch.cuda.set_rng_state(tensors["rng.cuda"][rank].clone(), self.device)
            return
        torch.manual_seed(self.config.seed + 2 + rank + 1000 * self.state.g_updates)
        if self.processes.is_main:
            print(
                f"note: the checkpoint was written by {written_by} process(es) on another "
                f"setting; continuing on {world} with fresh dropout masks (not bit for bit).",
                file=sys.stderr,
            )

    def resume(self) -> Path | None:
        """Continue this run from its newest checkpoint that verifies, and return its path
        (None if the run has none yet: it trains from the start).

        That is ``last``, or if it is damaged the newer of the checkpoint it replaced
        (``last.prev``) and ``best``; the damaged one is reported on stderr. The config this
        run continues with is written to config.yaml with its first new checkpoint, so that a
        resume that fails before then leaves config.yaml as it was.
        """
        self._config_unrecorded = True
        candidates = self.run.saved_checkpoints()
        if not candidates:
            return None
        return self._continue_newest(candidates, "resuming")

    def fork(self, source: RunDir) -> Path:
        """Start this new run from the newest checkpoint of the run ``source`` that verifies,
        chosen as :meth:`resume` chooses, and return its path. Weights, optimiser state, RNG
        states, data order and step counts carry over, while model selection (the best
        validation score) starts afresh in this run."""
        return self._continue_newest(source.saved_checkpoints(), "forking", fork=True)

    def restore(self, path: Path) -> None:
        """Continue from the checkpoint at ``path`` exactly where it was written."""
        self._continue(path, *ckpt.load_checkpoint(path))

    def _continue_newest(self, candidates: list[Path], going_on: str, fork: bool = False) -> Path:
        """Continue from the newest of ``candidates`` that verifies and return its path; each
        damaged one skipped is reported on stderr ("...; ``going_on`` from PATH.")."""
        path, tensors, meta, damaged = ckpt.load_newest(candidates)
        if self.processes.is_main:
            for error in damaged:
                print(
                    f"warning: {str(error).rstrip('.')}; {going_on} from {path}.", file=sys.stderr
                )
        self._continue(path, tensors, meta, fork=fork)
        return path

    def _continue(
        self, path: Path, tensors: dict[str, torch.Tensor], meta: dict, fork: bool = False
    ) -> None:
        """Restore the checkpoint ``tensors`` and ``meta`` read from ``path`` (``fork``: into
        a new run, see fork)."""
        ckpt.check_data(meta, self.data.sha256, path)
        ckpt.load_module("generator", self.generator, tensors)
        ckpt.load_module("discriminator", self.discriminator, tensors)
        if self.average is not None:  # a run forked from one without it starts from G itself
            ckpt.load_module(sampling_prefix(tensors), self.average.generator, tensors)
        ckpt.load_optimizer("optimizer.d", self.opt_d, tensors, meta["optimizer.d"])
        ckpt.load_optimizer("optimizer.g", self.opt_g, tensors, meta["optimizer.g"])
        self.state = TrainState(**meta["state"])
        self._restore_dropout_rng(tensors, meta.get("world_size", 1))
        self.data_rng.set_state(tensors["rng.data"])
        if "rng.noise" in tensors:
            self.noise_rng.set_state(tensors["rng.noise"])
        else:  # written before noise had a stream of its own: continue, not bit for bit
            self.noise_rng.manual_seed(self.config.seed + 1 + self.state.g_updates)
        self.permutation = tensors["data.permutation"]
        self.state.finished = False
        if fork:
            self.state.best_valid_ll, self.state.best_epoch, self.state.evals_since_best = (
                -math.inf,
                0,
                0,
            )
