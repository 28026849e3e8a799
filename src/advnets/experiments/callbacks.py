"""The end-of-epoch work a training command hands its trainer: pictures, validation, curves.

Training reaches evaluation and figures only through these (``advnets.training.callbacks``).
"""

from __future__ import annotations

import time

import torch

from advnets.config import ConfigError, RunConfig
from advnets.data.datasets import Dataset, ImageShape
from advnets.evaluation.classifier import embed, load_classifier
from advnets.evaluation.metrics import (
    DOMAIN_WEIGHTS,
    SCALAR_DOMAIN_METRICS,
    Reference,
    compare_embeddings,
    has_domain_features,
)
from advnets.evaluation.parzen import (
    REFERENCE_MONITOR_BATCH,
    ParzenResult,
    parzen_protocol,
    reference_monitor_ll,
)
from advnets.evaluation.translation import FIGURE_COLUMNS, FIGURE_ROWS, translation_rows
from advnets.figures.curves import plot_curves
from advnets.figures.grid import save_grid, tile_images
from advnets.runs.logs import read_metrics
from advnets.sampling import generate
from advnets.training.callbacks import Callback
from advnets.training.loop import Trainer

# Fixed seeds of the noise used for pictures and validation, kept apart from the
# training RNG so that evaluating never changes what training does next.
GRID_NOISE_SEED = 1234
VALID_NOISE_SEED = 4321


class SampleGrid(Callback):
    """A grid of samples from fixed noise after every epoch: samples/epoch_NNNN.png,
    samples/latest.png and TensorBoard."""

    def __init__(self, image_shape: ImageShape, rows: int) -> None:
        self.shape, self.rows = image_shape, rows

    def evaluate(self, trainer: Trainer) -> bool:
        grid = generate(trainer.sampler(), self.rows * self.rows, GRID_NOISE_SEED).numpy()
        samples = trainer.run.samples
        save_grid(samples / f"epoch_{trainer.state.epoch:04d}.png", grid, self.shape, self.rows)
        save_grid(samples / "latest.png", grid, self.shape, self.rows)
        trainer.board.image(
            trainer.state.g_updates, "samples", tile_images(grid, self.shape, self.rows)
        )
        return False


class TranslationGrid(Callback):
    """CycleGAN's pictures after every epoch, in samples/ and TensorBoard as SampleGrid's: the
    first validation images of each domain, their translations and reconstructions (rows
    as in ``advnets translate``)."""

    def __init__(self, dataset: Dataset) -> None:
        self.shape = dataset.image_shape
        self.a, self.b = dataset.valid[:FIGURE_COLUMNS], dataset.other.valid[:FIGURE_COLUMNS]

    def evaluate(self, trainer: Trainer) -> bool:
        rows = translation_rows(trainer.sampler(), self.a, self.b).numpy()
        columns = len(rows) // FIGURE_ROWS
        samples = trainer.run.samples
        save_grid(samples / f"epoch_{trainer.state.epoch:04d}.png", rows, self.shape, columns)
        save_grid(samples / "latest.png", rows, self.shape, columns)
        trainer.board.image(
            trainer.state.g_updates, "translations", tile_images(rows, self.shape, columns)
        )
        return False


class Validation(Callback):
    """Every few epochs, model selection by the validation Parzen estimate (Section 5), and
    where a domain classifier is shipped FID, KID, IS, precision/recall, density/coverage and
    classes against the validation images; patience ends a run that stopped improving.
    Each validation also records the reference code's own monitoring estimate
    (``reference_ll``: advnets.evaluation.parzen.reference_monitor_ll) on the whole
    validation set, scored with the same samples.

    All of it runs on the training device: the samples stay where they are drawn, and the
    validation images and their reference embedding are moved there once."""

    def __init__(self, config: RunConfig, dataset: Dataset) -> None:
        self.config = config.evaluation
        self.valid = dataset.valid[: self.config.valid_images]
        monitored = min(len(dataset.valid), self.config.samples) // REFERENCE_MONITOR_BATCH
        self.monitor_valid = dataset.valid[: monitored * REFERENCE_MONITOR_BATCH]
        if self.config.select == "reference-ll" and not monitored:
            raise ConfigError(
                f"evaluation.select = reference-ll scores batches of {REFERENCE_MONITOR_BATCH} "
                f"validation images against {REFERENCE_MONITOR_BATCH} samples each; this run "
                f"has {len(dataset.valid)} validation images and evaluation.samples = "
                f"{self.config.samples}."
            )
        domain = self.config.domain_metrics and has_domain_features(dataset)
        if self.config.select == "fid" and not domain:
            raise ConfigError(
                "evaluation.select = fid needs the validation FID, in the features of a "
                "classifier shipped for MNIST or Fashion-MNIST: set evaluation.domain_metrics = "
                f"true, train on one of them, or select by parzen ({dataset.name} has no "
                "classifier)."
            )
        self.domain_weights = DOMAIN_WEIGHTS[dataset.name] if domain else None
        self.domain_reference = (
            Reference.of(embed(load_classifier("cpu", self.domain_weights), dataset.valid))
            if domain
            else None
        )

    def _hold_on(self, device: torch.device) -> None:
        """Move the validation images and the reference to ``device`` (once: then a no-op)."""
        if self.valid.device != device:
            self.valid = self.valid.to(device)
            self.monitor_valid = self.monitor_valid.to(device)
            if self.domain_reference is not None:
                self.domain_reference = self.domain_reference.to(device)

    def evaluate(self, trainer: Trainer) -> bool:
        if not trainer.validates_now():
            return False
        self._hold_on(trainer.device)
        samples = generate(
            trainer.sampler(), self.config.samples, VALID_NOISE_SEED, device=trainer.device
        )
        valid = self.valid
        parzen = parzen_protocol(samples, valid, n_valid=len(valid))
        monitor = (
            reference_monitor_ll(samples, self.monitor_valid) if len(self.monitor_valid) else None
        )
        fid = self._domain_metrics(trainer, samples) if self.domain_reference is not None else None
        scores = {
            "parzen": parzen.test_ll,
            "fid": -fid if fid is not None else None,
            "reference-ll": monitor,
        }
        improved = self._select(trainer, scores[self.config.select])
        self._write_parzen(trainer, parzen, monitor, improved)
        patience = self.config.patience
        if patience is not None and trainer.state.evals_since_best >= patience:
            trainer.state.finished = True
        return improved

    @staticmethod
    def _select(trainer: Trainer, score: float) -> bool:
        """Record a validation's selection score (higher is better: the Parzen estimate, or
        −FID); True, and noted as the best so far, if it improved."""
        state = trainer.state
        improved = score > state.best_valid_ll
        if improved:
            state.best_valid_ll, state.best_epoch = score, state.epoch
            state.evals_since_best = 0
        else:
            state.evals_since_best += 1
        return improved

    @staticmethod
    def _write_parzen(
        trainer: Trainer, result: ParzenResult, monitor: float | None, best: bool
    ) -> None:
        """Record a validation Parzen estimate and the reference's monitoring estimate
        (``best``: its validation made the best checkpoint, by evaluation.select)."""
        state = trainer.state
        trainer.metrics.write(
            {
                "kind": "valid_parzen",
                "step": state.g_updates,
                "epoch": state.epoch,
                "ll": result.test_ll,
                "se": result.test_se,
                "sigma": result.sigma,
                "samples": result.n_samples,
                "valid_images": result.n_test,
                "seconds": result.seconds,
                "reference_ll": monitor,
                "best": best,
                "time": time.time(),
            }
        )
        trainer.board.scalars(state.g_updates, {"valid/parzen_ll": result.test_ll})

    def _domain_metrics(self, trainer: Trainer, samples: torch.Tensor) -> float:
        """The classifier-feature metrics of the samples against the validation images (in
        metrics.jsonl); returns the FID."""
        started = time.perf_counter()
        fake = embed(load_classifier(trainer.device, self.domain_weights), samples)
        values = compare_embeddings(self.domain_reference, fake)
        record = {
            "kind": "valid_domain",
            "step": trainer.state.g_updates,
            "epoch": trainer.state.epoch,
            **values.to_dict(),
            "seconds": time.perf_counter() - started,
            "time": time.time(),
        }
        trainer.metrics.write(record)
        trainer.board.scalars(
            trainer.state.g_updates,
            {f"valid/{key}": record[key] for key in SCALAR_DOMAIN_METRICS},
        )
        return values.fid


class Curves(Callback):
    """curves.png redrawn from metrics.jsonl after each epoch that validates (where the curves
    change most; 0.7 s each)."""

    def epoch_done(self, trainer: Trainer) -> None:
        if trainer.validates_now():
            plot_curves(read_metrics(trainer.run.metrics), trainer.run.curves)


def training_callbacks(config: RunConfig, dataset: Dataset) -> list[Callback]:
    """What a training command hands its trainer: for images the sample grid and validation
    (for two domains, CycleGAN's, the translations alone: the paper selects no checkpoint),
    for every run the curves."""
    if dataset.image_shape is None:
        return [Curves()]
    if dataset.other is not None:
        return [TranslationGrid(dataset), Curves()]
    return [
        SampleGrid(dataset.image_shape, config.logging.grid_rows),
        Validation(config, dataset),
        Curves(),
    ]
