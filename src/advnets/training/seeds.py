"""Many seeds in one run: independent copies of the paper's model trained together.

``advnets train mnist-paper --seeds 0-7 --out OUT`` trains one copy per seed on one device,
each into ``OUT/seed-N``, an ordinary run directory (config with seed N, run.json,
metrics.jsonl, checkpoints in the single-seed format). Each seed has its own
:class:`~advnets.training.loop.Trainer`: its initial weights, data order (``data_rng``),
noise stream (``noise_rng``), state, logs, callbacks and checkpoints are those of the same
seed trained alone. Only the arithmetic is shared: the copies' parameters are stacked
(``models.stacked``) and the reference code's simultaneous update (``GAN.simultaneous_update``)
runs for all of them at once with batched matrix products, each seed's loss summed into one
so that each copy's gradient is its own. Without dropout every seed computes what it computes
alone (up to the summation order of the batched products); with dropout its masks come from
one draw for all copies, so results agree in distribution only.

The seeds step together (one schedule for all); each seed's logged images/s counts its own
images. A seed whose validation patience runs out is parked: it stays as it was when it ended
(its run directory, its state), while its copy keeps being computed, on data and noise
whose results are never kept, until every seed is done. With one
seed, dropout included, the run is bit for bit the seed's run alone (tested).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from tqdm import tqdm

from advnets import limits
from advnets.config import ConfigError, RunConfig, apply_overrides, config_from_dict
from advnets.data.datasets import Dataset
from advnets.games.losses import discriminator_loss
from advnets.games.optim import (
    ClassicalMomentumSGD,
    limit_column_norms_after_steps,
    set_hyperparameters,
    weight_matrices,
)
from advnets.models import model_parameters
from advnets.models.stacked import StackedNetworks, stacked_discriminator, stacked_generator
from advnets.runs import checkpoint as ckpt
from advnets.runs.rundir import RunDir
from advnets.training.callbacks import Callback
from advnets.training.distributed import resolve_device
from advnets.training.loop import Trainer, TrainingInterrupted, stop_signals_to
from advnets.training.throughput import gemm_gflops
from advnets.training.window import LogWindow

SEED_FOLDER = "seed-{}"  # each seed's run directory inside the run's --out


def parse_seeds(text: str) -> list[int]:
    """The seeds of ``--seeds``: ranges ``A-B`` (both ends included) and single seeds, comma
    separated (``0-7``, ``0,3,5``); ValueError with one sentence for an empty, reversed,
    repeated or too long list."""
    seeds: list[int] = []
    for item in text.split(","):
        low, dash, high = item.strip().partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a range A-B or a comma list of seeds such as 0,3,5."
            ) from None
        if last < first:
            raise ValueError(f"range {first}-{last} is reversed; write {last}-{first}.")
        seeds += range(first, min(last, first + limits.MAX_SEEDS) + 1)  # a huge range stops here
        if len(seeds) > limits.MAX_SEEDS:
            raise ValueError(
                f"{text!r} names more than {limits.MAX_SEEDS} seeds, the most one run trains."
            )
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{text!r} names a seed more than once.")
    for seed in seeds:
        limits.check_range("a seed", seed, 0, limits.MAX_SEED)
    return seeds


def check_supported(config: RunConfig) -> None:
    """Refuse settings other than the paper's MLP/maxout model with the simultaneous update,
    momentum SGD and fp32: the ones stacked copies compute."""
    model, train = config.model, config.training
    unsupported = [
        (model.family != "mlp-maxout", f"model.family = {model.family!r}"),
        (model.generator_batchnorm, "model.generator_batchnorm"),
        (model.discriminator_minibatch_std != 0, "model.discriminator_minibatch_std"),
        (train.update != "simultaneous", f"training.update = {train.update!r}"),
        (train.optimizer != "sgd", f"training.optimizer = {train.optimizer!r}"),
        (train.precision != "fp32", f"training.precision = {train.precision!r}"),
        (train.generator_average != 0, "training.generator_average"),
    ]
    found = [name for refused, name in unsupported if refused]
    if found:
        raise ConfigError(
            f"--seeds trains the paper's mlp-maxout model with the simultaneous update, sgd and "
            f"fp32 only; this config sets {', '.join(found)}: train its seeds one at a time."
        )


def check_fits(config: RunConfig, data_dim: int, copies: int, device: torch.device) -> None:
    """Refuse (LimitError) ``copies`` of the model whose weights, gradients and optimiser
    buffers would not fit in the memory ``device`` has available now."""
    count = model_parameters(config.model, data_dim)
    nbytes = copies * count * limits.TRAINING_BYTES_PER_PARAMETER
    what = f"{copies} copies of the model ({count:,} parameters each)"
    if device.type != "cuda":
        limits.check_memory(what, nbytes)
        return
    free, _ = torch.cuda.mem_get_info(device)
    if nbytes > free:
        raise limits.LimitError(
            f"{what} would need about {nbytes / 2**30:,.1f} GiB of GPU memory, more than the "
            f"{free / 2**30:,.1f} GiB free on {device}; give fewer --seeds."
        )


def seed_config(config: RunConfig, seed: int) -> RunConfig:
    """``config`` with its seed set to ``seed``."""
    return config_from_dict(apply_overrides(config.to_dict(), [f"seed={seed}"]))


def seed_run(out: str | Path, seed: int) -> RunDir:
    """The run directory of ``seed`` in a many-seed run at ``out``."""
    return RunDir(Path(out) / SEED_FOLDER.format(seed))


def seeds_of_run(out: str | Path) -> list[int]:
    """The seeds of the many-seed run at ``out`` (its seed-N run directories), in order;
    empty if ``out`` holds none."""
    path = Path(out)
    if not path.is_dir() or (path / "config.yaml").exists():
        return []
    prefix = SEED_FOLDER.format("")
    found = [
        int(child.name[len(prefix) :])
        for child in path.iterdir()
        if child.name.startswith(prefix) and child.name[len(prefix) :].isdigit()
    ]
    return sorted(seed for seed in found if seed_run(out, seed).config_file.is_file())


class ManySeeds:
    """One :class:`Trainer` per seed, their networks stacked and updated together."""

    def __init__(
        self,
        configs: Sequence[RunConfig],
        dataset: Dataset,
        runs: Sequence[RunDir],
        callbacks: Callable[[RunConfig], Sequence[Callback]] = lambda config: (),
    ) -> None:
        """``configs`` and ``runs``: each seed's; ``callbacks``: a seed's end-of-epoch work."""
        for config in configs:
            check_supported(config)
        self.device = resolve_device(configs[0].training.device)
        check_fits(configs[0], dataset.dim, len(configs), self.device)
        self.trainers = [
            Trainer(config, dataset, run, callbacks=callbacks(config))
            for config, run in zip(configs, runs, strict=True)
        ]
        for trainer in self.trainers[1:]:  # one copy of the data on the device
            trainer.train_data = self.trainers[0].train_data
        torch.manual_seed(configs[0].seed + 2)  # dropout masks: one stream for every copy
        self.g_loss_fn = self.trainers[0].game.g_loss_fn
        self._signalled = False
        self._stack()

    def _stack(self) -> None:
        """Stack the seeds' networks and momentum buffers (after any were restored) and make
        each seed's own tensors views of its slice, so its checkpoints hold its part."""
        self.g = StackedNetworks([t.game.generator for t in self.trainers])
        self.d = StackedNetworks([t.game.discriminator for t in self.trainers])
        train_cfg = self.trainers[0].config.training
        self.optimizers = {}
        for role, stacked in (("d", self.d), ("g", self.g)):
            optimizer = ClassicalMomentumSGD(
                stacked.parameters, train_cfg.lr, train_cfg.momentum_start
            )
            own = [t.game.optimizers[role] for t in self.trainers]
            for index, parameter in enumerate(stacked.parameters):
                states = [opt.state[opt.param_groups[0]["params"][index]] for opt in own]
                velocity = torch.stack(
                    [state.get("velocity", torch.zeros_like(parameter[0])) for state in states]
                )
                optimizer.state[parameter]["velocity"] = velocity
                for s, state in enumerate(states):
                    state["velocity"] = velocity[s]
            max_norm = self.trainers[0].config.model.max_col_norm
            if max_norm is not None:
                named = zip(stacked.names, stacked.parameters, strict=True)
                limit_column_norms_after_steps(optimizer, weight_matrices(named), max_norm)
            self.optimizers[role] = optimizer

    # ----- one minibatch -----------------------------------------------------------------------

    def update(self, real: torch.Tensor) -> torch.Tensor:
        """``GAN.simultaneous_update`` of every seed at once on its minibatch ``real`` (S, m,
        dim), with its own noise; each seed's statistics, (S, len(GAN.stat_names))."""
        m = real.shape[1]
        z = torch.stack([t.game.generator.sample_noise(m, t.noise_rng) for t in self.trainers])
        fake = stacked_generator(self.g, z)
        logits = stacked_discriminator(self.d, torch.cat([real, fake], dim=1))
        real_logits, fake_logits = logits[:, :m], logits[:, m:]
        d_loss = torch.vmap(discriminator_loss)(real_logits, fake_logits)
        g_loss = torch.vmap(self.g_loss_fn)(fake_logits)
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        # each seed's loss reaches only its own slice: the sum's gradient is each one's own
        d_loss.sum().backward(inputs=self.d.parameters, retain_graph=True)
        g_loss.sum().backward(inputs=self.g.parameters)
        g_norms = torch.stack([p.grad.flatten(1).norm(dim=1) for p in self.g.parameters])
        self.optimizers["d"].step()
        self.optimizers["g"].step()
        stats = []
        for s, trainer in enumerate(self.trainers):
            trainer.game._g_grad_norm.copy_(g_norms[:, s].norm())
            stats.append(trainer.game._stats(d_loss[s], g_loss[s], real_logits[s], fake_logits[s]))
        return torch.stack(stats)

    def _set_schedules(self) -> None:
        """The schedules of every seed still training, and the stacked optimisers' from the
        lead's (the same for all of them: they step together)."""
        for trainer in self.active:
            trainer._set_schedules()
        for role, optimizer in self.optimizers.items():
            group = self.lead.game.optimizers[role].param_groups[0]
            set_hyperparameters(optimizer, group["lr"], group["momentum"])

    def train_minibatch(self, real: torch.Tensor) -> torch.Tensor:
        """One update of every seed on its minibatch (S, m, dim); the update counted, and the
        statistics of the seeds still training checked for NaN (Trainer.check)."""
        self._set_schedules()
        stats = self.update(real)
        active = self.active
        for trainer, seed_stats in zip(self.trainers, stats, strict=True):
            if trainer in active:
                trainer.state.count(("d", "g"))
                trainer._signalled = self._signalled
                trainer.note_for_check(seed_stats)
        return stats

    # ----- the run -----------------------------------------------------------------------------

    @property
    def active(self) -> list[Trainer]:
        """The seeds still training (not parked by their patience)."""
        return [t for t in self.trainers if not t.state.finished]

    def done(self) -> bool:
        return all(t.done() for t in self.trainers)

    def resume(self) -> list[Path | None]:
        """Continue every seed from its newest checkpoint that verifies (Trainer.resume). The
        seeds whose patience had run out stay parked; the others must have stopped at the same
        step. Returns each seed's checkpoint (None: it trains from the start)."""
        paths = [t.resume() for t in self.trainers]
        if all(path is None for path in paths):
            return paths
        if any(path is None for path in paths):
            raise ConfigError("some seeds of this run have checkpoints and others have none.")
        for trainer, path in zip(self.trainers, paths, strict=True):
            trainer.state.finished = ckpt.read_state(path)["state"]["finished"]
        if not self.active:
            return paths
        lead = self.lead
        for trainer in self.active:
            if trainer.state.g_updates != lead.state.g_updates:
                raise ConfigError(
                    f"{trainer.run.path} stopped at step {trainer.state.g_updates}, the other "
                    f"seeds at step {lead.state.g_updates}: resume it alone with advnets train "
                    f"--resume --out {trainer.run.path}."
                )
        tensors, meta = ckpt.load_checkpoint(paths[self.trainers.index(lead)])
        lead._restore_random_streams(tensors, meta)  # the shared dropout stream
        self._stack()
        return paths

    @property
    def lead(self) -> Trainer:
        """The first seed still training, whose schedules and position all follow."""
        return self.active[0]

    def train(self) -> None:
        """Train every seed until each is done (Trainer.train, for all at once)."""
        for trainer in self.active:
            trainer._open_logs()
        gemm = gemm_gflops(device=self.device)
        windows = []
        for trainer in self.trainers:
            trainer.precision_rates.setdefault("fp32", gemm)  # measured once for all
            flop_seconds = trainer._measure_machine() if trainer in self.active else 0.0
            windows.append(
                LogWindow(trainer.game, trainer.metrics, trainer.board, flop_seconds, self.device)
            )
        bar = self.lead._progress_bar() if self.active else tqdm(disable=True)
        try:
            with stop_signals_to(self._on_stop_signal):
                while not self.done():
                    self._train_epoch(windows, bar)
        finally:
            bar.close()
            for trainer in self.trainers:
                if trainer.board is not None:
                    trainer.board.close()

    def _on_stop_signal(self, signum, frame) -> None:
        self._signalled = True

    def _train_epoch(self, windows: list[LogWindow], bar: tqdm) -> None:
        """Trainer._train_epoch for every seed: the rest of the epoch (or up to the step
        limit), then each seed's end-of-epoch work or, stopped short, a checkpoint."""
        lead, active = self.lead, self.active
        m = lead.config.training.batch_size
        for trainer in active:
            trainer._epoch_order()
        # a parked seed's copy computes on the lead's data: its results are never kept
        sources = [t if t in active else lead for t in self.trainers]
        orders = {id(t): t.permutation.to(self.device) for t in active}
        for b in range(lead.state.batch, lead.batches_per_epoch):
            real = torch.stack([t.train_data[orders[id(t)][b * m : (b + 1) * m]] for t in sources])
            stats = self.train_minibatch(real)
            for trainer, window, seed_stats in zip(self.trainers, windows, stats, strict=True):
                if trainer not in active:
                    continue
                trainer.state.batch = b + 1
                window.add(seed_stats, m)
                if window.count == trainer.config.logging.log_every_steps:
                    window.flush(trainer._train_record(), bar)
            bar.update(1)
            if any(t._interrupted for t in active):
                self._stop_interrupted()
            if lead.done():
                break
            for trainer in active:
                trainer._checkpoint_mid_epoch()
        if lead.state.batch < lead.batches_per_epoch:
            for trainer in active:
                trainer.save("last")
            return
        paused = time.perf_counter()
        for trainer in active:
            trainer.check()  # before the callbacks look at the networks
            trainer.state.epoch += 1
            trainer.state.batch = 0
        for trainer in active:
            trainer._end_of_epoch()
        for window in windows:
            window.exclude(time.perf_counter() - paused)

    def _stop_interrupted(self) -> None:
        """Save every seed and stop: a stop signal arrived."""
        for trainer in self.active:
            trainer.save("last")
        out = self.lead.run.path.parent
        raise TrainingInterrupted(
            f"interrupted at step {self.lead.state.g_updates}; every seed's checkpoint saved. "
            f"Resume with: advnets train --resume --out {out}"
        )
