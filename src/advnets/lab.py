"""The theory lab: the paper's 1-D picture, Proposition 1, Theorem 1, saturation, mode coverage.

Every experiment here trains with the project's one trainer (``Trainer``), the
same objectives and the same run directories and checkpoints as the MNIST
model; the lab only adds epoch hooks that take snapshots, and the checks that
need a known data density (``advnets.evaluation.theory``, ``.modes``).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from advnets.config import RunConfig, load_config
from advnets.data.datasets import load_dataset
from advnets.data.toy import to_tensor, toy_distribution
from advnets.evaluation.modes import mode_statistics
from advnets.evaluation.theory import (
    generator_density,
    optimal_discriminator,
    virtual_training_criterion,
)
from advnets.objectives import value_function
from advnets.sampling import eval_mode, generate
from advnets.training.logs import MetricsLog
from advnets.training.loop import Trainer
from advnets.training.rundir import RunDir

PRESETS = {"1d": "toy-1d", "ring": "toy-ring", "grid": "toy-grid"}
SNAPSHOT_NOISE_SEED = 7  # the same noise for every 2-D snapshot, so frames are comparable
SNAPSHOT_POINTS = 2500  # samples per 2-D snapshot (the literature's count)
D_FIT_STEPS = 2000  # D updates with G frozen to reach D* (Proposition 1): error < 0.03 here
D_FIT_BATCH = 2000
CRITERION_FIT_STEPS = 500  # enough for V(D, G) to reach C(G) within ~0.005 nats (Theorem 1)
CRITERION_FIT_BATCH = 1000
SUPPORT_FRACTION = 0.01  # the data's support: where p_data exceeds 1% of its maximum


def lab_config(kind: str, overrides: list[str]) -> RunConfig:
    """The preset of a lab experiment (1d, ring, grid) with ``key=value`` overrides."""
    if kind not in PRESETS:
        raise ValueError(f"unknown toy experiment {kind!r}; choose one of {', '.join(PRESETS)}.")
    return load_config(PRESETS[kind], overrides)


@dataclass
class Snapshot:
    """What a hook saw at the end of one epoch (epoch 0: before training)."""

    epoch: int
    generator_state: dict
    values: dict = field(default_factory=dict)


class Lab:
    """One lab experiment: a trainer, snapshots every few epochs, and the checks."""

    def __init__(self, config: RunConfig, out: str | Path, snapshot_every: int = 5) -> None:
        self.config = config
        self.dataset = load_dataset(config.data)
        self.distribution = toy_distribution(config.data.dataset)
        self.run = RunDir(out)
        self.run.create(config, self.dataset.sha256, self.dataset.source)
        self.trainer = Trainer(config, self.dataset, self.run)
        self.every = snapshot_every
        self.snapshots: list[Snapshot] = []
        self.trainer.epoch_hooks.append(self._hook)
        self.rng = np.random.default_rng(config.seed)
        self.one_d = self.dataset.dim == 1
        if self.one_d:
            self.edges, self.x = self._grid_1d()

    # ----- snapshots -------------------------------------------------------------------------

    def _grid_1d(self) -> tuple[np.ndarray, np.ndarray]:
        centres, std = self.distribution.centres[:, 0], self.distribution.std
        low, high = centres.min() - 6 * std - 3, centres.max() + 6 * std + 1
        edges = np.linspace(low, high, 1601)
        return edges, 0.5 * (edges[1:] + edges[:-1])

    def p_data(self) -> np.ndarray:
        return self.distribution.density(self.x[:, None])

    def p_g(self) -> np.ndarray:
        return generator_density(self.trainer.generator, self.x)[0]

    @torch.no_grad()
    def d_curve(self, x: np.ndarray) -> np.ndarray:
        """D(x) = sigmoid(logit) at the points x (rows)."""
        points = torch.as_tensor(x, dtype=torch.float32).reshape(len(x), -1)
        with eval_mode(self.trainer.discriminator):
            return torch.sigmoid(self.trainer.discriminator(points)).double().numpy()

    def _hook(self, trainer: Trainer) -> None:
        epoch = trainer.state.epoch
        if epoch % self.every and epoch < self.config.training.epochs:
            return
        snapshot = Snapshot(epoch, copy.deepcopy(trainer.generator.state_dict()))
        if self.one_d:
            z = torch.linspace(-math.sqrt(3), math.sqrt(3), 25).unsqueeze(1)
            with torch.no_grad(), eval_mode(trainer.generator):
                mapped = trainer.generator(z).squeeze(1).numpy()
            snapshot.values = {
                "p_g": self.p_g(),
                "d": self.d_curve(self.x),
                "z": z.squeeze(1).numpy(),
                "g_z": mapped,
            }
        else:
            points = generate(trainer.generator, SNAPSHOT_POINTS, SNAPSHOT_NOISE_SEED).numpy()
            stats = mode_statistics(points, self.distribution.centres, self.distribution.std)
            snapshot.values = {"points": points, **stats}
            trainer_metrics = {k: v for k, v in stats.items() if k != "mode_counts"}
            record = {"kind": "toy_modes", "step": trainer.state.g_updates, "epoch": epoch}
            MetricsLog(self.run.metrics).write({**record, **trainer_metrics})
        self.snapshots.append(snapshot)

    def train(self) -> None:
        """Snapshot the initial G and D, then train with snapshots every few epochs."""
        self._hook(self.trainer)
        self.trainer.train()

    # ----- the checks --------------------------------------------------------------------------

    def fit_discriminator(self, steps: int = D_FIT_STEPS, batch_size: int = D_FIT_BATCH) -> None:
        """Algorithm 1's inner loop run long with G frozen: D approaches D*_G.

        Real minibatches are fresh draws from p_data itself (known here), so D
        converges to the optimum for p_data, not for one finite sample of it.
        """
        for _ in range(steps):
            real = to_tensor(self.distribution.sample(batch_size, self.rng))
            self.trainer.discriminator_step(real)

    def use_generator(self, snapshot: Snapshot) -> None:
        self.trainer.generator.load_state_dict(snapshot.generator_state)

    def optimal_discriminator_error(self) -> dict:
        """Proposition 1 for the current G: train D to convergence, compare with D* on the
        data's support (where p_data exceeds 1% of its maximum)."""
        self.fit_discriminator()
        p_data, p_g = self.p_data(), self.p_g()
        support = p_data >= SUPPORT_FRACTION * p_data.max()
        d_star = optimal_discriminator(p_data, p_g)
        d = self.d_curve(self.x)
        return {
            "max_abs_error": float(np.abs(d - d_star)[support].max()),
            "d": d,
            "d_star": d_star,
            "p_g": p_g,
            "support": support,
        }

    @torch.no_grad()
    def criterion_estimate(self, n: int = 10000) -> float:
        """V(D, G) with the current D on the test points and n fresh fakes."""
        with eval_mode(self.trainer.discriminator), eval_mode(self.trainer.generator):
            real = self.trainer.discriminator(self.dataset.test[:n])
            fake = self.trainer.discriminator(
                self.trainer.generator(self.trainer.generator.sample_noise(n))
            )
        return float(value_function(real, fake))

    def theorem_1(self) -> list[dict]:
        """For each snapshot of G: C(G) estimated with a converged D beside −log 4 + 2·JSD."""
        rows = []
        for snapshot in self.snapshots:
            self.use_generator(snapshot)
            self.fit_discriminator(CRITERION_FIT_STEPS, CRITERION_FIT_BATCH)
            rows.append(
                {
                    "epoch": snapshot.epoch,
                    "C_G_estimate": self.criterion_estimate(),
                    "C_G_integral": virtual_training_criterion(self.p_data(), self.p_g(), self.x),
                }
            )
        self.use_generator(self.snapshots[-1])
        return rows
