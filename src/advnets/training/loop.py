"""The training loop: the outer loop of Algorithm 1 (Goodfellow et al. 2014), for any game.

    for each epoch, for each minibatch of m examples in a fresh random order:
        set the learning rates and momentum the schedules give
        run the game's phases that are due (the GAN's: k D updates, then one G update)
    at the end of each epoch: the callbacks handed in (pictures, validation), checkpoints

The game (``advnets.games``) owns the networks, their optimisers and the updates; the
loop knows the order of the data, the schedules, the precision, the processes, the stop
signals and the checkpoints of whatever the game hands it. It runs on any device, and as
one rank of a multi-process (DDP) run under torchrun (``advnets.training.distributed``):
each rank takes its slice of the global minibatch and of the global noise, so a run on N
processes computes what one process computes on the whole minibatch.

Three random streams, each with its purpose, all saved in checkpoints: the data order
(``data_rng``), the noise z (``noise_rng``, on the training device; the same on every rank,
which then takes its slice), and dropout (PyTorch's global RNG of the device, seeded per
rank so that ranks draw different masks).

The host never waits for the device inside the loop: statistics are summed on the device
and read when a log record is written; whether a loss became NaN and whether a stop signal
arrived are checked every ``check_every`` minibatches (every one on a CPU, where checking
costs nothing) and before every checkpoint. On a GPU each phase of the game is replayed as
a CUDA graph (``advnets.training.graphs``).
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from advnets import __version__
from advnets.config import ConfigError, RunConfig
from advnets.data.datasets import Dataset
from advnets.files import keep_copy
from advnets.games import build_game
from advnets.games.base import Minibatch, Phase
from advnets.games.optim import hyperparameter, hyperparameters_on_device, set_hyperparameters
from advnets.runs import checkpoint as ckpt
from advnets.runs.logs import MetricsLog, TensorBoardLog
from advnets.runs.rundir import RunDir
from advnets.training.callbacks import Callback
from advnets.training.distributed import Processes, resolve_device
from advnets.training.domain_b import DomainB
from advnets.training.graphs import GraphedPhases, graphs_supported
from advnets.training.precision import autocast, resolve_precision
from advnets.training.schedules import (
    annealed_learning_rate,
    linear_decay_factor,
    ramped_momentum,
)
from advnets.training.throughput import TrainingClock, gemm_gflops
from advnets.training.window import LogWindow


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is left intact."""


class TrainingInterrupted(RuntimeError):
    """Training stopped on SIGINT or SIGTERM after writing a checkpoint."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C; a scheduler's or torchrun's stop
GPU_CHECK_EVERY = 100  # minibatches between two checks for NaN and stop signals on a GPU


@contextlib.contextmanager
def stop_signals_to(handler: Callable[[int, object], None]) -> Iterator[None]:
    """Send SIGINT and SIGTERM to ``handler`` while the block runs; the handlers before it
    are back afterwards, however the block ends."""
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, earlier in previous.items():
            signal.signal(sig, earlier)


@dataclass
class TrainState:
    """The scalar part of a run's state, saved in every checkpoint."""

    epoch: int = 0  # completed epochs
    batch: int = 0  # minibatches consumed in the current epoch
    d_updates: int = 0  # updates of the critic (the discriminator) so far
    g_updates: int = 0  # generator updates so far (the run's "step")
    # best validation score of evaluation.select: the Parzen log-likelihood, or −FID
    best_valid_ll: float = -math.inf
    best_epoch: int = 0
    evals_since_best: int = 0
    finished: bool = False  # a callback ended the run early (patience ran out)
    precision: str = ""  # the arithmetic training.precision resolved to (kept on resume)

    def updates(self) -> dict[str, int]:
        """Updates so far by optimiser role (games.base)."""
        return {"d": self.d_updates, "g": self.g_updates}

    def count(self, roles: Sequence[str]) -> None:
        """One more update of each optimiser role in ``roles``."""
        self.d_updates += "d" in roles
        self.g_updates += "g" in roles


class Trainer:
    """Trains one game from a validated config into a run directory."""

    def __init__(
        self,
        config: RunConfig,
        dataset: Dataset,
        run_dir: RunDir,
        processes: Processes | None = None,
        callbacks: Sequence[Callback] = (),
        resume_hint: str | None = None,
    ) -> None:
        self.config = config
        self.data = dataset
        self.run = run_dir
        # what an interrupted run tells the user: the command that continues it
        resume = f"Resume with: advnets train --resume --out {run_dir.path}"
        self.resume_hint = resume_hint or resume
        self.callbacks = list(callbacks)  # end-of-epoch work, in order (training.callbacks)
        train_cfg = config.training
        self.processes = processes or Processes(device=resolve_device(train_cfg.device))
        self.device = self.processes.device
        self._check_batch_size()
        if train_cfg.threads is not None:
            torch.set_num_threads(train_cfg.threads)
        torch.manual_seed(config.seed)  # the same initial weights on every rank
        self.game = build_game(config, dataset, self.device, self.processes.world_size)
        self.train_data = dataset.train.to(self.device)
        # the classes of the training images, where the game's players see them
        self.train_labels = dataset.labels.train.to(self.device) if self.game.conditional else None
        self.data_rng = torch.Generator().manual_seed(config.seed)
        self.domain_b = DomainB(dataset.other, self.device, config.seed) if dataset.other else None
        self.noise_rng = torch.Generator(self.device).manual_seed(config.seed + 1)
        torch.manual_seed(config.seed + 2 + self.processes.rank)  # dropout masks, per rank
        self.permutation = torch.arange(len(dataset.train))
        if self.processes.distributed:
            self.game.distribute(self._ddp)
        precision, self.precision_rates = resolve_precision(
            train_cfg.precision, self.device, self._replays_graphs()
        )
        self.state = TrainState(precision=precision)
        self.batches_per_epoch = len(dataset.train) // train_cfg.batch_size
        self.metrics: MetricsLog | None = None  # open while training, on rank 0
        self.board: TensorBoardLog | None = None
        self.clock = TrainingClock()  # (re)started with the logs
        self._signalled = False  # a stop signal arrived in this process
        self._config_unrecorded = False  # a resumed run's config, written with its checkpoint
        self._interrupted = False  # some rank was signalled: all stop after this minibatch
        self.check_every = 1 if self.device.type == "cpu" else GPU_CHECK_EVERY
        self._unchecked = 0  # minibatches since the last check
        self._health = torch.zeros((), device=self.device)  # their statistics' sum: NaN?
        self._graphs: GraphedPhases | None = None  # set up by prepare()

    def _check_batch_size(self) -> None:
        """Refuse a minibatch larger than the data or that the processes cannot share evenly."""
        batch, world = self.config.training.batch_size, self.processes.world_size
        if batch > len(self.data.train):
            raise ConfigError(
                f"training.batch_size = {batch} is larger than the "
                f"{len(self.data.train)} training images."
            )
        if batch % world:
            raise ConfigError(
                f"training.batch_size = {batch} (the global minibatch) must "
                f"divide evenly among the {world} processes."
            )

    def _ddp(self, network: torch.nn.Module) -> torch.nn.Module:
        """``network`` wrapped to average its gradients over the processes."""
        return DistributedDataParallel(
            network,
            device_ids=[self.device.index] if self.device.type == "cuda" else None,
            gradient_as_bucket_view=True,
        )

    # ----- one minibatch -----------------------------------------------------------------------

    def _set_schedules(self) -> None:
        """Apply the paper's lr decay (per update, any optimiser), Zhu et al.'s linear decay
        where set (per epoch) and the momentum ramp (per epoch, sgd only)."""
        cfg = self.config.training
        momentum = None
        if cfg.optimizer == "sgd":
            momentum = ramped_momentum(
                cfg.momentum_start,
                cfg.momentum_end,
                cfg.momentum_saturate_epoch,
                self.state.epoch + 1,
            )
        for role, optimizer in self.game.optimizers.items():
            set_hyperparameters(optimizer, self.scheduled_learning_rate(role), momentum)

    def scheduled_learning_rate(self, role: str) -> float:
        """The lr the schedules give ``role``'s optimiser for its next update: training.lr
        (D's: training.discriminator_lr where set) divided by training.lr_decay once per
        update since the start (floor lr_min), by training.anneal_decay instead after
        training.anneal_after_updates where set, times Zhu et al.'s linear factor of the
        epoch where set."""
        cfg = self.config.training
        updates = self.state.updates()[role]
        initial = cfg.lr
        if role == "d" and cfg.discriminator_lr is not None:
            initial = cfg.discriminator_lr
        lr = annealed_learning_rate(
            initial, cfg.lr_decay, cfg.lr_min, updates, cfg.anneal_after_updates, cfg.anneal_decay
        )
        if cfg.lr_constant_epochs is not None:
            lr *= linear_decay_factor(self.state.epoch + 1, cfg.lr_constant_epochs, cfg.epochs)
        return lr

    def current_learning_rate(self, role: str) -> float:
        """The lr ``role``'s optimiser holds now (after a fork: the parent run's last)."""
        return hyperparameter(self.game.optimizers[role].param_groups[0], "lr")

    def _autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast of the forward passes when the run's precision is bf16."""
        return autocast(self.state.precision, self.device)

    def minibatch(
        self,
        real: torch.Tensor,
        size: int | None = None,
        labels: torch.Tensor | None = None,
        other: torch.Tensor | None = None,
    ) -> Minibatch:
        """What the game's phases get for this process's slice ``real`` of a global minibatch
        of ``size`` (default: ``real`` is the whole minibatch, in one process), the slice's
        class ``labels`` where the game takes them, and a two-domain set's minibatch of
        domain B (``other``)."""
        shard = self.processes.shard
        return Minibatch(
            real, size or len(real), self.noise_rng, shard, self._autocast, labels, other
        )

    def prepare(self) -> None:
        """Set up the updates for this device, after any checkpoint was restored: on a GPU the
        scheduled hyperparameters move to the device, and in one process each phase is then
        replayed as a CUDA graph (training.cuda_graphs). :meth:`train` calls it; call it
        before driving :meth:`train_minibatch` yourself."""
        if self.device.type != "cuda":
            return
        for optimizer in self.game.optimizers.values():
            hyperparameters_on_device(optimizer, self.device)
        if self._replays_graphs():
            self._graphs = GraphedPhases(self.device, self.noise_rng)

    def _replays_graphs(self) -> bool:
        """Whether this run's updates are replayed as CUDA graphs (training.cuda_graphs)."""
        supported = graphs_supported(self.device, self.processes.world_size)
        return self.config.training.cuda_graphs and supported and self.game.replays_graphs

    def run_phase(self, phase: Phase, batch: Minibatch) -> torch.Tensor:
        """Run one phase of the game (replay its graph where there is one) and count its
        updates; its statistics."""
        stats = self._graphs.run(phase, batch) if self._graphs else phase.run(batch)
        if phase.bookkeeping is not None:
            phase.bookkeeping()
        self.state.count(phase.updates)
        return stats

    def train_minibatch(
        self,
        real: torch.Tensor,
        labels: torch.Tensor | None = None,
        other: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One minibatch: the game's phases that are due, in order (Algorithm 1's inner loop).

        ``real`` is the whole (global) minibatch, ``labels`` its classes (a conditional
        game's), ``other`` a minibatch of domain B (a two-domain set's, in one process);
        this rank trains on its slice. Returns
        this rank's statistics of the logged phase, on the device (the log window averages
        them over ranks); every ``check_every`` minibatches all ranks agree on whether a loss
        diverged and whether any rank was asked to stop (:meth:`check`)."""
        self._set_schedules()
        shard = self.processes.shard
        labels = None if labels is None else shard(labels)
        batch = self.minibatch(shard(real), len(real), labels, other)
        logged, checked = None, []
        for phase in self.game.phases():
            if phase.due(self.state.updates()):
                stats = self.run_phase(phase, batch)
                if phase.logged:
                    logged = stats
                else:
                    checked.append(stats)
        self.note_for_check(torch.cat([logged, *checked]))
        return logged

    def note_for_check(self, stats: torch.Tensor) -> None:
        """Count one minibatch's statistics into the next :meth:`check` (a NaN or infinity
        among them survives the sum), and check when ``check_every`` minibatches are due."""
        self._health += stats.sum()
        self._unchecked += 1
        if self._unchecked >= self.check_every:
            self.check()

    def check(self) -> None:
        """Agree with every rank on whether a loss became NaN or infinite since the last
        check (raise TrainingDiverged) and whether any rank was asked to stop. Collective:
        every rank calls it at the same minibatch."""
        signalled = torch.tensor(float(self._signalled), device=self.device)
        shared = self.processes.mean(torch.stack([self._health, signalled]))
        unchecked, self._unchecked = self._unchecked, 0
        self._health.zero_()
        self._interrupted = bool(shared[1] > 0)
        if not bool(torch.isfinite(shared[0])):
            self._diverged(unchecked)

    def _diverged(self, minibatches: int) -> None:
        when = (
            f"at step {self.state.g_updates}"
            if minibatches <= 1
            else f"in the {minibatches} minibatches up to step {self.state.g_updates}"
        )
        last = self.run.checkpoint("last")
        kept = (
            f"the last checkpoint ({last}, step {ckpt.read_state(last)['state']['g_updates']}) "
            "is intact"
            if last.is_file()
            else "no checkpoint had been written yet"
        )
        raise TrainingDiverged(
            f"a loss became NaN or infinite {when} "
            f"(epoch {self.state.epoch + 1}); training stopped and {kept}. "
            "Try a smaller training.lr."
        )

    def sampler(self) -> torch.nn.Module:
        """The generator that samples are drawn from (the game's)."""
        return self.game.sampler()

    # ----- the run -----------------------------------------------------------------------------

    def _epoch_order(self) -> None:
        if self.state.batch == 0:
            self.permutation = torch.randperm(len(self.data.train), generator=self.data_rng)
            if self.domain_b is not None:
                self.domain_b.new_epoch(self.batches_per_epoch * self.config.training.batch_size)

    def done(self) -> bool:
        """Whether the configured epochs or steps are done, or a callback ended the run."""
        cfg = self.config.training
        return (
            self.state.finished
            or self.state.epoch >= cfg.epochs
            or (cfg.max_steps is not None and self.state.g_updates >= cfg.max_steps)
        )

    def _open_logs(self) -> None:
        """metrics.jsonl (rank 0; records after the step it continues from dropped), the
        training clock going on from its last reading, and TensorBoard."""
        main = self.processes.is_main
        self.metrics = MetricsLog(self.run.metrics) if main else None
        kept = self.metrics.truncate_after(self.state.g_updates) if self.metrics else []
        self.clock = TrainingClock.continuing(kept)
        self.board = TensorBoardLog(
            self.run.tensorboard,
            self.config.logging.tensorboard and main,
            purge_step=self.state.g_updates or None,
        )

    def train(self) -> TrainState:
        """Train until the configured epochs or steps are done (or resume until they are)."""
        self._open_logs()
        self.prepare()
        flop_seconds = self._measure_machine() if self.metrics else 0.0
        window = LogWindow(
            self.game, self.metrics, self.board, flop_seconds, self.device, self.processes.mean
        )
        bar = self._progress_bar()
        try:
            with stop_signals_to(self._on_stop_signal):
                while not self.done():
                    self._train_epoch(window, bar)
        finally:
            bar.close()
            self.board.close()
        return self.state

    def _train_epoch(self, window: LogWindow, bar: tqdm) -> None:
        """The rest of the current epoch (or up to the step limit), then its end-of-epoch work
        or, stopped short, a checkpoint."""
        m = self.config.training.batch_size
        self._epoch_order()
        order = self.permutation.to(self.device)  # one copy per epoch, not one per minibatch
        for b in range(self.state.batch, self.batches_per_epoch):
            chosen = order[b * m : (b + 1) * m]
            labels = None if self.train_labels is None else self.train_labels[chosen]
            other = None if self.domain_b is None else self.domain_b.minibatch(b, m)
            window.add(self.train_minibatch(self.train_data[chosen], labels, other), m)
            self.state.batch = b + 1
            bar.update(1)
            if window.count == self.config.logging.log_every_steps:
                window.flush(self._train_record(), bar)
            if self._interrupted:
                self._stop_interrupted()
            if self.done():
                break
            self._checkpoint_mid_epoch()
        if self.state.batch == self.batches_per_epoch:
            self.check()  # before the callbacks look at the networks
            self.state.epoch += 1
            self.state.batch = 0
            paused = time.perf_counter()
            self._end_of_epoch()
            window.exclude(time.perf_counter() - paused)
        else:
            self.save("last")

    def _stop_interrupted(self) -> None:
        """Save and stop: some rank received a stop signal."""
        self.save("last")
        raise TrainingInterrupted(
            f"interrupted at step {self.state.g_updates}; checkpoint saved. {self.resume_hint}"
            + (", launched by torchrun as before" if self.processes.distributed else "")
        )

    def close(self) -> None:
        """Drop the DDP wrappers, which hold the process group: call it before the process
        leaves the group (``distributed.stop``)."""
        self.game.distribute(None)

    def _checkpoint_mid_epoch(self) -> None:
        """The extra checkpoints of ``checkpoint_every_steps``; never on an epoch's last
        minibatch, whose end-of-epoch work (and its checkpoint) follows at once: a run
        killed during that work then redoes it from the checkpoint before, logging it once."""
        every = self.config.training.checkpoint_every_steps
        last_batch = self.state.batch == self.batches_per_epoch
        if every and self.state.g_updates % every == 0 and not last_batch:
            self.save("last")

    def _measure_machine(self) -> float:
        """Log the GEMM peak of the training device (fp32; measured once, by the choice of
        precision where it was auto); return the FLOPs one image costs per minibatch over it."""
        gemm = self.precision_rates.get("fp32") or gemm_gflops(device=self.device)
        flops = self.game.flops_per_image()
        self.metrics.write(
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
            per_step = self.game.minibatches_per_step()
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
        group = self.game.optimizers["g"].param_groups[0]
        return {
            "kind": "train",
            "step": self.state.g_updates,
            "epoch": self.state.epoch + 1,
            "epoch_progress": self.state.epoch + self.state.batch / self.batches_per_epoch,
            "lr": hyperparameter(group, "lr"),
            "momentum": hyperparameter(group, "momentum"),
            **self.clock.reading(),
        }

    def _end_of_epoch(self) -> None:
        """The callbacks' evaluation (True from any: a new best), the epoch record, the
        callbacks' other work; then the checkpoints. Rank 0 does the work; every rank then
        shares its outcome (the best score, whether patience ran out) and takes part in the
        checkpoints."""
        improved = False
        if self.metrics is not None:
            started = time.perf_counter()
            improved = any([callback.evaluate(self) for callback in self.callbacks])
            self.metrics.write(
                {
                    "kind": "epoch",
                    "step": self.state.g_updates,
                    "epoch": self.state.epoch,
                    "evaluate_seconds": time.perf_counter() - started,
                    **self.clock.reading(),
                    "time": time.time(),
                }
            )
            for callback in self.callbacks:
                callback.epoch_done(self)
        improved, state = self.processes.broadcast((improved, asdict(self.state)))
        self.state = TrainState(**state)
        if improved:
            self.save("best")
        cfg, epoch = self.config.training, self.state.epoch
        kept = cfg.keep_every_epochs is not None and epoch % cfg.keep_every_epochs == 0
        if epoch % cfg.checkpoint_every_epochs == 0 or kept or self.done():
            last = self.save("last")
            if kept and self.processes.is_main:
                keep_copy(last, self.run.checkpoint(f"epoch_{epoch:05d}"))

    def validates_now(self) -> bool:
        """Whether the epoch just completed ends with a validation (every few epochs, and the
        last)."""
        last_epoch = self.done() or self.state.epoch >= self.config.training.epochs
        return self.state.epoch % self.config.evaluation.every_epochs == 0 or last_epoch

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

        Collective in a multi-process run: every rank calls it, rank 0 writes. Never writes
        a diverged state (:meth:`check` first)."""
        if self._unchecked:
            self.check()
        game_tensors, game_meta = self.game.state_tensors()
        tensors = {
            **game_tensors,
            **self._dropout_rng_states(),
            "rng.data": self.data_rng.get_state(),
            "rng.noise": self.noise_rng.get_state(),
            "data.permutation": self.permutation,
            **(self.domain_b.state_tensors() if self.domain_b else {}),
        }
        meta = {
            "state": asdict(self.state),
            **game_meta,
            "config": self.config.to_dict(),
            "data_sha256": self.data.sha256,
            "data_dim": self.data.dim,  # what G's output is, whatever the family
            "version": __version__,
            "world_size": self.processes.world_size,
            "device": self.device.type,
            "torch_version": torch.__version__,
        }
        path = self.run.checkpoint(name)
        if self.processes.is_main:
            previous = self.run.checkpoint("last.prev") if name == "last" else None
            ckpt.save_checkpoint(path, tensors, meta, previous)
            if self._config_unrecorded:
                self.run.update_config(self.config)
        self._config_unrecorded = False
        return path

    def _restore_random_streams(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Each rank's dropout RNG and the noise stream as saved. Continued on another number
        of processes, no saved dropout state fits; on another kind of device, no saved state
        of either: those are reseeded (said once on stderr), and the continuation is no
        longer bit for bit what the original setting would compute."""
        rank, world = self.processes.rank, self.processes.world_size
        written_by, written_on = meta.get("world_size", 1), meta.get("device", "cpu")
        same_device = written_on == self.device.type
        fresh = []
        if written_by == world and same_device:
            # a row of its own: set_rng_state reads a view from its storage's start
            torch.set_rng_state(tensors["rng.torch"].reshape(written_by, -1)[rank].clone())
            if self.device.type == "cuda":
                torch.cuda.set_rng_state(tensors["rng.cuda"][rank].clone(), self.device)
        else:
            torch.manual_seed(self.config.seed + 2 + rank + 1000 * self.state.g_updates)
            fresh.append("dropout masks")
        if same_device and "rng.noise" in tensors:
            self.noise_rng.set_state(tensors["rng.noise"])
        else:  # or written before noise had a stream of its own
            self.noise_rng.manual_seed(self.config.seed + 1 + self.state.g_updates)
            fresh.append("noise")
        if fresh and self.processes.is_main:
            print(
                f"note: the checkpoint was written by {written_by} process(es) on {written_on}; "
                f"continuing with {world} on {self.device.type} with fresh "
                f"{' and '.join(fresh)} (not bit for bit).",
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
        written_with = meta.get("torch_version", torch.__version__)  # recorded since 0.1
        if written_with != torch.__version__ and self.processes.is_main:
            print(
                f"note: {path.name} was written with torch {written_with}; continuing with torch "
                f"{torch.__version__}, whose kernels may round differently (not bit for bit).",
                file=sys.stderr,
            )
        self.game.load_state_tensors(tensors, meta)
        # a checkpoint written before precision was recorded keeps the one resolved now
        self.state = TrainState(**{"precision": self.state.precision, **meta["state"]})
        self._restore_random_streams(tensors, meta)
        self.data_rng.set_state(tensors["rng.data"])
        self.permutation = tensors["data.permutation"]
        if self.domain_b is not None:
            self.domain_b.load_state_tensors(tensors)
        self.state.finished = False
        if fork:
            self.state.best_valid_ll, self.state.best_epoch, self.state.evals_since_best = (
                -math.inf,
                0,
                0,
            )
