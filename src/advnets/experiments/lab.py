"""The theory lab: the paper's 1-D picture, Proposition 1, Theorem 1, saturation, mode coverage
and the remedies for mode collapse (``advnets.config.REMEDIES``, logic in ``advnets.games``).

Every experiment here trains with the project's one trainer (``Trainer``), the
same objectives and the same run directories and checkpoints as the MNIST
model; the lab only adds a callback that takes snapshots, and the checks that
need a known data density (``advnets.evaluation.theory``, ``.modes``).
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from advnets.arrays import read_npy
from advnets.config import (
    ConfigError,
    RunConfig,
    apply_overrides,
    config_from_dict,
    load_config,
    remedy_overrides,
)
from advnets.data.registry import load_dataset
from advnets.data.toy import to_tensor, toy_distribution
from advnets.evaluation.modes import mode_statistics
from advnets.evaluation.theory import (
    MINUS_LOG_4,
    generator_density,
    optimal_discriminator,
    stratified_noise,
    virtual_training_criterion,
)
from advnets.experiments.callbacks import Curves
from advnets.figures import toy as toy_figures
from advnets.files import atomic_write_bytes, atomic_write_text
from advnets.games.base import Phase
from advnets.games.losses import discriminator_loss, value_by_quadrature, value_function
from advnets.runs.logs import MetricsLog, read_metrics
from advnets.runs.rundir import RunDir, RunDirError
from advnets.sampling import eval_mode, generate
from advnets.training.callbacks import Callback
from advnets.training.loop import Trainer

PRESETS = {"1d": "toy-1d", "ring": "toy-ring", "grid": "toy-grid"}
SNAPSHOT_NOISE_SEED = 7  # the same noise for every 2-D snapshot, so frames are comparable
SNAPSHOT_POINTS = 2500  # samples per 2-D snapshot (the literature's count)
FINAL_SAMPLES = "final_samples.npy"  # a 2-D run's last snapshot's samples, in its run directory
SNAPSHOTS = "snapshots"  # a 2-D run's folder of each snapshot's samples, epoch-NNNNN.npy
LAB_FILE = "lab.json"  # how a 2-D run was started (experiment, remedy, preset): --resume reads it
D_FIT_ITERATIONS = 1000  # L-BFGS iterations when D is fitted to D* by quadrature (Proposition 1)
CRITERION_FIT_POINTS = 20000  # enough for V(D, G) to meet C(G) within ~0.01 nats (Theorem 1)
CRITERION_FIT_ITERATIONS = 200
CRITERION_SNAPSHOTS = 6  # generators along training at which Theorem 1 is checked
HEAD_START_BATCH = 1000
SUPPORT_MASS = 0.99  # the data's support: the highest-density region holding 99% of p_data
JUMP_STEP = 0.05  # D* changes by more than this between neighbouring grid points: a jump
JUMP_MARGIN = 0.05  # the stretch of x on each side of a jump of D* left out of the check


def lab_config(
    kind: str, overrides: list[str], remedy: str = "none", preset: str | None = None
) -> RunConfig:
    """The preset of a lab experiment (1d, ring, grid; or ``preset``, whose data must be of
    that kind) with a named remedy's settings, then ``key=value`` overrides, on the CPU: its
    networks are small, and its checks work on NumPy arrays."""
    if kind not in PRESETS:
        raise ValueError(f"unknown toy experiment {kind!r}; choose one of {', '.join(PRESETS)}.")
    settings = ["training.device=cpu", *remedy_overrides(remedy), *overrides]
    config = load_config(preset or PRESETS[kind], settings)
    if preset is not None and not config.data.dataset.startswith(kind):
        raise ConfigError(
            f"preset {preset} trains on data.dataset = {config.data.dataset!r}, "
            f"not on the {kind} of `advnets toy {kind}`."
        )
    return config


@dataclass
class Snapshot:
    """What a hook saw at the end of one epoch (epoch 0: before training)."""

    epoch: int
    generator_state: dict
    values: dict = field(default_factory=dict)


def near_jumps(values: np.ndarray, x: np.ndarray, step: float, margin: float) -> np.ndarray:
    """Mask of the grid points within ``margin`` of a jump: a change of more than ``step``
    between neighbouring points."""
    jumps = np.flatnonzero(np.abs(np.diff(values)) > step)
    centres = 0.5 * (x[jumps] + x[jumps + 1])
    if len(centres) == 0:
        return np.zeros(len(x), dtype=bool)
    return np.abs(x[:, None] - centres[None, :]).min(axis=1) <= margin


def highest_density_region(density: np.ndarray, x: np.ndarray, mass: float) -> np.ndarray:
    """Mask of the grid points of the smallest region holding ``mass`` of the density."""
    weights = density * np.gradient(x)
    order = np.argsort(density)[::-1]
    inside = np.cumsum(weights[order]) <= mass * weights.sum()
    inside[np.argmin(inside)] = True  # the point that crosses ``mass``
    mask = np.zeros(len(x), dtype=bool)
    mask[order[inside]] = True
    return mask


class _Snapshots(Callback):
    """The lab's snapshots, taken after each epoch's record is written."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def epoch_done(self, trainer: Trainer) -> None:
        self.lab.take_snapshot(trainer)


class Lab:
    """One lab experiment: a trainer, snapshots every few epochs, and the checks. Building
    it checks the config, the data and the model and writes nothing; the experiment writes
    into its run directory inside :meth:`writing`."""

    def __init__(
        self, config: RunConfig, out: str | Path, snapshot_every: int = 5, resumes: str = ""
    ) -> None:
        """``resumes``: the ``advnets toy`` experiment that resumes this run (ring, grid), if
        any: an interrupted run names its command."""
        self.config = config
        self.dataset = load_dataset(config.data)
        self.distribution = toy_distribution(config.data.dataset)
        self.run = RunDir(out)
        hint = (
            f"Resume with: advnets toy {resumes} --resume --out {self.run.path}"
            if resumes
            else "This experiment does not resume: run it again with another --out"
        )
        self.trainer = Trainer(
            config, self.dataset, self.run, callbacks=[_Snapshots(self), Curves()], resume_hint=hint
        )
        self.every = snapshot_every
        self.snapshots: list[Snapshot] = []
        self.rng = np.random.default_rng(config.seed)
        self.one_d = self.dataset.dim == 1
        if self.one_d and config.model.discriminator_pack > 1:
            raise ConfigError(
                "model.discriminator_pack > 1 makes D judge packs of points, and the 1-D "
                "experiments plot and check D(x) of one point: use it on the ring or the grid."
            )
        if self.one_d:
            self.x = self._grid_1d()

    @contextmanager
    def writing(self, command: str) -> Iterator[None]:
        """Create the run directory and hold its lock for ``command`` while the experiment
        writes into it (see RunDir.writing)."""
        with self.run.writing(command, new=True):
            self.run.create(self.config, self.dataset.sha256, self.dataset.source)
            yield

    # ----- snapshots -------------------------------------------------------------------------

    def _grid_1d(self) -> np.ndarray:
        """1,600 evenly spaced points covering the data and where G starts (near 0)."""
        centres, std = self.distribution.centres[:, 0], self.distribution.std
        low, high = centres.min() - 6 * std - 3, centres.max() + 6 * std + 1
        edges = np.linspace(low, high, 1601)
        return 0.5 * (edges[1:] + edges[:-1])

    def p_data(self) -> np.ndarray:
        return self.distribution.density(self.x[:, None])

    def p_g(self) -> np.ndarray:
        return generator_density(self.trainer.game.generator, self.x)[0]

    @torch.no_grad()
    def d_curve(self, x: np.ndarray) -> np.ndarray:
        """D(x) = sigmoid(logit) at the points x (rows)."""
        points = torch.as_tensor(x, dtype=torch.float32).reshape(len(x), -1)
        with eval_mode(self.trainer.game.discriminator):
            return torch.sigmoid(self.trainer.game.discriminator(points)).double().numpy()

    def _scored(self, points: np.ndarray) -> dict:
        """A 2-D snapshot's values: its samples and their mode statistics."""
        stats = mode_statistics(points, self.distribution.centres, self.distribution.std)
        return {"points": points, **stats}

    def take_snapshot(self, trainer: Trainer) -> None:
        epoch = trainer.state.epoch
        if epoch % self.every and epoch < self.config.training.epochs:
            return
        snapshot = Snapshot(epoch, copy.deepcopy(trainer.game.generator.state_dict()))
        if self.one_d:
            z = stratified_noise(25, trainer.game.generator.noise)  # equally likely values of z
            with torch.no_grad(), eval_mode(trainer.game.generator):
                mapped = trainer.game.generator(z).squeeze(1).numpy()
            snapshot.values = {
                "p_g": self.p_g(),
                "d": self.d_curve(self.x),
                "z": z.squeeze(1).numpy(),
                "g_z": mapped,
            }
        else:
            # the generator samples come from: G, or its weight average (generator_average)
            sampler = trainer.game.sampler()
            points = generate(sampler, SNAPSHOT_POINTS, SNAPSHOT_NOISE_SEED).numpy()
            snapshot.values = self._scored(points)
            (self.run.path / SNAPSHOTS).mkdir(exist_ok=True)
            _write_points(self.run.path / SNAPSHOTS / f"epoch-{epoch:05d}.npy", points)
            logged = ("points", "mode_counts")
            trainer_metrics = {k: v for k, v in snapshot.values.items() if k not in logged}
            record = {"kind": "toy_modes", "step": trainer.state.g_updates, "epoch": epoch}
            MetricsLog(self.run.metrics).write({**record, **trainer_metrics})
        self.snapshots.append(snapshot)

    def train(self) -> None:
        """Snapshot the initial G and D, then train with snapshots every few epochs."""
        self.take_snapshot(self.trainer)
        self.trainer.train()

    def resume(self) -> None:
        """Continue a stopped 2-D experiment from its last checkpoint, with the snapshots it
        took up to there (their saved samples, scored again), to the end of training; one
        stopped before its first checkpoint starts again (:meth:`train`)."""
        if self.trainer.resume() is None:
            self.train()
            return
        epoch = self.trainer.state.epoch
        for path in sorted((self.run.path / SNAPSHOTS).glob("epoch-*.npy")):
            taken = int(path.stem.removeprefix("epoch-"))
            if taken <= epoch:  # later ones come again, the same, as training goes on
                self.snapshots.append(Snapshot(taken, {}, self._scored(read_npy(path))))
        if not self.snapshots or self.snapshots[-1].epoch < epoch:
            self.take_snapshot(self.trainer)  # stopped between a checkpoint and its snapshot
        self.trainer.train()

    # ----- the checks --------------------------------------------------------------------------

    def discriminator_head_start(self, steps: int, batch_size: int) -> None:
        """``steps`` of Algorithm 1's inner loop (D steps, G frozen) with the run's optimiser,
        on fresh draws from p_data."""
        critic = Phase("discriminator", self.trainer.game.discriminator_step, ("d",))
        for _ in range(steps):
            real = to_tensor(self.distribution.sample(batch_size, self.rng))
            self.trainer.run_phase(critic, self.trainer.minibatch(real))

    def _refit(self, loss: Callable[[], torch.Tensor], iterations: int) -> None:
        """Minimise ``loss`` over D's weights from a fresh initialisation, by full-batch
        L-BFGS. A D carried over from training can sit in a flat region where L-BFGS
        stops early; first-order steps crawl where both densities are small, where
        L-BFGS reaches D* in a few hundred iterations (measured on one G: max error
        0.12 after 2,000 Adam steps on 2,000 points each, 0.03 with 300 L-BFGS
        iterations)."""
        discriminator = self.trainer.game.discriminator
        with torch.random.fork_rng():  # a fresh D each time; the global RNG is left alone
            torch.manual_seed(self.config.seed)
            for module in discriminator.modules():
                if isinstance(module, torch.nn.Linear):
                    module.reset_parameters()
        optimiser = torch.optim.LBFGS(
            discriminator.parameters(),
            max_iter=iterations,
            history_size=50,
            line_search_fn="strong_wolfe",
            tolerance_grad=1e-9,
            tolerance_change=1e-12,
        )

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            value = loss()
            value.backward()
            return value

        with eval_mode(discriminator):
            optimiser.step(closure)

    def fit_discriminator(self, n: int, iterations: int) -> None:
        """The inner maximisation max_D V(D, G), G frozen, on samples: the discriminator's
        own objective (``discriminator_loss``) over ``n`` fresh draws from p_data and
        ``n`` samples of G."""
        discriminator, generator = self.trainer.game.discriminator, self.trainer.game.generator
        real = to_tensor(self.distribution.sample(n, self.rng))
        with torch.no_grad(), eval_mode(generator):
            fake = generator(generator.sample_noise(n))
        self._refit(
            lambda: discriminator_loss(discriminator(real), discriminator(fake)), iterations
        )

    def fit_discriminator_to_densities(
        self, p_data: np.ndarray, p_g: np.ndarray, iterations: int = D_FIT_ITERATIONS
    ) -> None:
        """The inner maximisation max_D V(D, G), G frozen, on the densities themselves:
        V = ∫ p_data log D + p_g log(1 − D) dx by quadrature on the lab's grid.

        The same objective as on samples without their noise, so the check measures
        how closely a trained D reaches D* (measured on one G: 0.016–0.019 over three
        initialisations, against 0.034–0.061 when fitted on 50,000 samples of each)."""
        weights = [
            torch.as_tensor(density * np.gradient(self.x), dtype=torch.float32)
            for density in (p_data, p_g)
        ]
        nodes = torch.as_tensor(self.x, dtype=torch.float32)[:, None]
        discriminator = self.trainer.game.discriminator
        self._refit(lambda: -value_by_quadrature(discriminator(nodes), *weights), iterations)

    def use_generator(self, snapshot: Snapshot) -> None:
        self.trainer.game.generator.load_state_dict(snapshot.generator_state)

    def optimal_discriminator_error(self) -> dict:
        """Proposition 1 for the current G: train D to convergence, compare with D* on the
        data's support (the highest-density region holding 99% of p_data's mass: the
        central ±2.58σ of a Gaussian; farther out both densities are so small that
        D sees almost no samples and converges arbitrarily slowly).

        Where G folds the line or cuts off a tail, p_g has an edge and D* a jump; a
        continuous D cannot meet a jump in the sup norm, however long it trains. The
        maximum is therefore taken away from D*'s jumps (``JUMP_MARGIN`` on each side,
        marked in the figure), and also reported everywhere on the support, with
        the share of p_data's mass left out."""
        p_data, p_g = self.p_data(), self.p_g()
        self.fit_discriminator_to_densities(p_data, p_g)
        support = highest_density_region(p_data, self.x, SUPPORT_MASS)
        d_star = optimal_discriminator(p_data, p_g)
        d = self.d_curve(self.x)
        checked = support & ~near_jumps(d_star, self.x, JUMP_STEP, JUMP_MARGIN)
        error = np.abs(d - d_star)
        mass = p_data * np.gradient(self.x)
        return {
            "max_abs_error": float(error[checked].max()),
            "max_abs_error_with_jumps": float(error[support].max()),
            "excluded_mass": float(mass[support & ~checked].sum() / mass[support].sum()),
            "d": d,
            "d_star": d_star,
            "p_g": p_g,
            "support": support,
            "checked": checked,
        }

    @torch.no_grad()
    def criterion_estimate(self, n: int = 10000) -> float:
        """V(D, G) with the current D on the test points and n fresh fakes."""
        with eval_mode(self.trainer.game.discriminator), eval_mode(self.trainer.game.generator):
            real = self.trainer.game.discriminator(self.dataset.test[:n])
            fake = self.trainer.game.discriminator(
                self.trainer.game.generator(self.trainer.game.generator.sample_noise(n))
            )
        return float(value_function(real, fake))

    def theorem_1(self) -> list[dict]:
        """For up to ``CRITERION_SNAPSHOTS`` snapshots of G, evenly spread over training (the
        first and the last included): C(G) estimated with a converged D beside
        −log 4 + 2·JSD."""
        rows = []
        count = len(self.snapshots)
        steps = range(CRITERION_SNAPSHOTS)
        picks = sorted({round(i * (count - 1) / (CRITERION_SNAPSHOTS - 1)) for i in steps})
        for snapshot in [self.snapshots[i] for i in picks]:
            self.use_generator(snapshot)
            self.fit_discriminator(CRITERION_FIT_POINTS, CRITERION_FIT_ITERATIONS)
            rows.append(
                {
                    "epoch": snapshot.epoch,
                    "C_G_estimate": self.criterion_estimate(),
                    "C_G_integral": virtual_training_criterion(self.p_data(), self.p_g(), self.x),
                }
            )
        self.use_generator(self.snapshots[-1])
        return rows


# ----- the experiments behind `advnets toy` ------------------------------------------------------


def _xlim(lab: Lab) -> tuple[float, float]:
    centres, std = lab.distribution.centres[:, 0], lab.distribution.std
    return float(centres.min() - 6 * std - 2), float(centres.max() + 6 * std + 1)


def run_1d(out: str | Path, overrides: list[str]) -> dict:
    """Figure 1 frames, Proposition 1 with the final G, Theorem 1 along training."""
    lab = Lab(lab_config("1d", overrides), out, snapshot_every=1)
    with lab.writing("advnets toy 1d"):
        lab.train()
        p_data, xlim = lab.p_data(), _xlim(lab)
        frames = [{"epoch": s.epoch, **s.values} for s in lab.snapshots]
        figures = lab.run.figures
        figures.mkdir(exist_ok=True)
        toy_figures.save_1d_figure(figures / "figure1.png", lab.x, p_data, frames, xlim)
        pngs = [toy_figures.frame_1d_png(lab.x, p_data, frame, xlim) for frame in frames]
        toy_figures.save_gif(figures / "figure1.gif", pngs)
        for frame, png in zip(frames, pngs, strict=True):
            atomic_write_bytes(figures / f"frame_{frame['epoch']:04d}.png", png)

        criterion = lab.theorem_1()  # leaves the final G in place
        check = lab.optimal_discriminator_error()
        toy_figures.plot_optimal_discriminator(
            figures / "optimal_discriminator.png", lab.x, p_data, check["p_g"], check["d"],
            check["d_star"], check["support"], check["checked"], check["max_abs_error"],
        )  # fmt: skip
        toy_figures.plot_criterion(figures / "criterion.png", criterion)
        final = criterion[-1]
        summary = {
            "experiment": "1d",
            "dataset": lab.config.data.dataset,
            "generator_loss": lab.config.training.generator_loss,
            "epochs": lab.trainer.state.epoch,
            "g_updates": lab.trainer.state.g_updates,
            "dstar_max_abs_error": check["max_abs_error"],
            "dstar_max_abs_error_with_jumps": check["max_abs_error_with_jumps"],
            "dstar_jump_excluded_mass": check["excluded_mass"],
            "C_G": final["C_G_estimate"],
            "C_G_integral": final["C_G_integral"],
            "minus_log_4": MINUS_LOG_4,
            "jsd": (final["C_G_integral"] - MINUS_LOG_4) / 2,
            "criterion_by_epoch": criterion,
            "run_dir": str(lab.run.path),
        }
        _write_summary(lab.run, summary)
    return summary


def run_2d(
    kind: str,
    out: str | Path,
    overrides: list[str],
    remedy: str = "none",
    preset: str | None = None,
) -> dict:
    """Train on the ring or the grid (with a remedy for mode collapse, or from another
    preset of the same data); modes covered, sample quality and mode KL over training."""
    config = lab_config(kind, overrides, remedy, preset)
    lab = Lab(config, out, snapshot_every=config.evaluation.every_epochs, resumes=kind)
    started = {"experiment": kind, "remedy": remedy, "preset": preset or PRESETS[kind]}
    with lab.writing(f"advnets toy {kind}"):
        atomic_write_text(lab.run.path / LAB_FILE, json.dumps(started, indent=2) + "\n")
        return _train_2d(lab, started, lab.train)


def resume_2d(kind: str, out: str | Path, overrides: list[str]) -> dict:
    """Continue the stopped ring or grid experiment in ``out`` exactly (``overrides`` may
    change what a resumed training run may, e.g. training.epochs); the summary of run_2d."""
    run = RunDir(out)
    with run.writing(f"advnets toy {kind} --resume"):
        lab_file = run.path / LAB_FILE
        if not lab_file.is_file():
            raise RunDirError(f"{run.path} is not a ring or grid run of advnets toy to resume.")
        started = json.loads(lab_file.read_text())
        if started["experiment"] != kind:
            raise RunDirError(
                f"{run.path} is a {started['experiment']} run: resume it with "
                f"`advnets toy {started['experiment']} --resume --out {run.path}`."
            )
        config = config_from_dict(apply_overrides(run.load_config().to_dict(), overrides))
        run.check_resumable(config)
        lab = Lab(config, out, snapshot_every=config.evaluation.every_epochs, resumes=kind)
        return _train_2d(lab, started, lab.resume)


def _train_2d(lab: Lab, started: dict, train: Callable[[], None]) -> dict:
    """Train a 2-D experiment with ``train`` (new or resumed), then write its figures,
    final samples and summary.json; returns the summary."""
    kind, remedy = started["experiment"], started["remedy"]
    train()
    spent = lab.trainer.clock.reading()
    snapshots = [{"epoch": s.epoch, **s.values} for s in lab.snapshots]
    centres = lab.distribution.centres
    limit = float(np.abs(centres).max() + 1.5)
    figures = lab.run.figures
    figures.mkdir(exist_ok=True)
    toy_figures.save_2d_figure(figures / "coverage.png", snapshots, centres, limit)
    pngs = [
        toy_figures.frame_2d_png(
            s["points"], centres, f"epoch {s['epoch']}: {s['modes_covered']} modes", limit
        )
        for s in snapshots
    ]
    toy_figures.save_gif(figures / "coverage.gif", pngs)
    final = snapshots[-1]
    _write_points(lab.run.path / FINAL_SAMPLES, final["points"])
    summary = {
        "experiment": kind,
        "preset": started["preset"],
        "dataset": lab.config.data.dataset,
        "remedy": remedy,
        "generator_loss": lab.config.training.generator_loss,
        "k": lab.config.training.k,
        "lr": lab.config.training.lr,
        "seed": lab.config.seed,
        "epochs": lab.trainer.state.epoch,
        "g_updates": lab.trainer.state.g_updates,
        # training and the snapshots' scoring, over all the run's sittings; the CPU seconds
        # of its process are, on a loaded machine, its own cost
        **spent,
        "threads": torch.get_num_threads(),
        "modes": final["modes"],
        "modes_covered": final["modes_covered"],
        "modes_hit": final["modes_hit"],
        "high_quality_fraction": final["high_quality_fraction"],
        "mode_kl": final["mode_kl"],
        "mode_counts": final["mode_counts"],
        "by_epoch": [
            {k: s[k] for k in ("epoch", "modes_covered", "high_quality_fraction", "mode_kl")}
            for s in snapshots
        ],
        "run_dir": str(lab.run.path),
    }
    _write_summary(lab.run, summary)
    return summary


SATURATION_SETTINGS = [  # the paper's optimiser: Adam would rescale a vanishing gradient
    "training.optimizer=sgd",
    "training.lr=0.05",
    "training.epochs=4",
    # a G that starts as a narrow blob off the data, D's easy prey as in Section 3's early
    # learning; the linear path would spread the initial G over the data
    "model.generator_skip=false",
]
SATURATION_D_HEAD_START = 1000  # D steps against the initial G before G moves


def run_saturation(out: str | Path, overrides: list[str], steps: int = 20) -> dict:
    """The same 1-D experiment from the same initialisation with each generator loss.

    "Early in learning, when G is poor, D can reject samples with high
    confidence" (Section 3 of the paper): D first gets a head start of
    ``SATURATION_D_HEAD_START`` steps against the initial G, then both train
    with SGD. The minimax loss log(1 − D(G(z))) then passes almost no gradient
    to G and G stays where it is; the non-saturating −log D(G(z)) passes a
    strong one.
    """
    out = Path(out)
    curves, summary = {}, {"experiment": "saturation", "losses": {}}
    for loss in ("minimax", "non_saturating"):
        settings = [*SATURATION_SETTINGS, *overrides, f"training.generator_loss={loss}"]
        lab = Lab(lab_config("1d", settings), out / loss, snapshot_every=10**9)
        lab.trainer.config.logging.log_every_steps = 1
        with lab.writing("advnets toy saturation"):
            lab.discriminator_head_start(SATURATION_D_HEAD_START, HEAD_START_BATCH)
            lab.train()
        train = [r for r in read_metrics(lab.run.metrics) if r["kind"] == "train"]
        early = [r["g_grad_norm"] for r in train if r["step"] <= steps]
        p_data, p_g = lab.p_data(), lab.p_g()
        curves[loss] = {
            "steps": [r["step"] for r in train],
            "g_grad_norm": [r["g_grad_norm"] for r in train],
            "x": lab.x,
            "p_data": p_data,
            "p_g": p_g,
            "xlim": _xlim(lab),
        }
        summary["losses"][loss] = {
            f"mean_g_grad_norm_first_{steps}_steps": float(np.mean(early)),
            f"mean_d_fake_first_{steps}_steps": float(
                np.mean([r["d_fake"] for r in train if r["step"] <= steps])
            ),
            "final_jsd": (virtual_training_criterion(p_data, p_g, lab.x) - MINUS_LOG_4) / 2,
            "final_mean_d_fake": train[-1]["d_fake"],
            "run_dir": str(lab.run.path),
        }
    out.mkdir(parents=True, exist_ok=True)
    toy_figures.plot_saturation(out / "saturation.png", curves)
    summary["figure"] = str(out / "saturation.png")
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _write_points(path: Path, points: np.ndarray) -> None:
    """The final G's samples as a ``.npy`` array (the figure of `benchmarks/remedies.py`)."""
    buffer = io.BytesIO()
    np.save(buffer, points)
    atomic_write_bytes(path, buffer.getvalue())


def _write_summary(run: RunDir, summary: dict) -> None:
    atomic_write_text(run.path / "summary.json", json.dumps(summary, indent=2) + "\n")
