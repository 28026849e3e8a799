"""All figures of one run, drawn from its run directory into RUN_DIR/figures/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from advnets.data.datasets import Dataset
from advnets.data.registry import load_dataset
from advnets.evaluation.neighbours import nearest_neighbours
from advnets.evaluation.runs import ensure_evaluation, load_distances, load_generator
from advnets.figures.curves import plot_curves
from advnets.figures.grid import save_grid
from advnets.figures.paper import (
    plot_class_histogram,
    plot_memorisation,
    save_figure2,
    save_interpolation,
)
from advnets.runs import checkpoint as ckpt
from advnets.runs.logs import read_metrics
from advnets.runs.rundir import RunDir
from advnets.sampling import generate, generate_by_class, interpolation_samples

FIGURE_NOISE_SEED = 0  # fixed and printed in the report: the samples are not cherry-picked


@dataclass(frozen=True)
class Drawing:
    """How the paper's figures are drawn: ``rows`` of both, ``columns`` samples per row of
    Figure 2, ``steps`` images per path of Figure 3 (``spherical`` or linear paths, with an
    animated GIF unless ``gif`` is False), from noise seed ``seed``."""

    rows: int = 8
    columns: int = 6
    steps: int = 10
    spherical: bool = False
    gif: bool = True
    seed: int = FIGURE_NOISE_SEED


def write_figures(
    run: RunDir, dataset: Dataset | None = None, drawing: Drawing = Drawing()
) -> dict[str, Path]:
    """Figure 2, Figure 3, the memorisation and class plots, and curves.png, for the best
    checkpoint; the test-set evaluation is computed first if it is missing or stale."""
    generator, config, meta = load_generator(run, "best")
    dataset = dataset or load_dataset(config.data)
    ckpt.check_data(meta, dataset.sha256, run.path)
    evaluation = ensure_evaluation(run, dataset)
    paths = paper_figures(generator, dataset, run.figures, drawing)
    distances = load_distances(run)
    paths["memorisation"] = plot_memorisation(
        distances["samples"], distances["test"], run.figures / "memorisation.png"
    )
    if evaluation["domain"] is not None:
        paths["classes"] = plot_class_histogram(
            evaluation["domain"]["class_counts"],
            run.figures / "classes.png",
            evaluation["reference_class_counts"],
        )
    if getattr(generator, "num_classes", 0):  # a conditional run: its classes, column by column
        by_class = generate_by_class(generator, drawing.rows, drawing.seed).numpy()
        paths["by_class"] = save_grid(
            run.figures / "by_class.png", by_class, dataset.image_shape, generator.num_classes, 3
        )
    paths["curves"] = plot_curves(read_metrics(run.metrics), run.curves)
    paths["samples"] = run.samples / "latest.png"
    for made_by_its_command in ("arithmetic", "inpaint", "infer", "anomaly"):  # where they were run
        paths[made_by_its_command] = run.figures / f"{made_by_its_command}.png"
    return {name: p for name, p in paths.items() if Path(p).is_file()}


def paper_figures(
    generator: torch.nn.Module, dataset: Dataset, folder: Path, drawing: Drawing = Drawing()
) -> dict[str, Path]:
    """The paper's figures of any generator, into ``folder``: Figure 2 (samples, each row's
    last beside its nearest training image) and Figure 3 (paths through the noise space, the
    chosen kind and the other, and an animated GIF unless ``drawing.gif`` is False)."""
    rows, columns, steps, seed = drawing.rows, drawing.columns, drawing.steps, drawing.seed
    spherical, gif = drawing.spherical, drawing.gif
    folder.mkdir(parents=True, exist_ok=True)
    shape = dataset.image_shape
    paths = {}
    samples = generate(generator, rows * columns, seed)
    last_of_row = samples[columns - 1 :: columns]
    nearest = nearest_neighbours(last_of_row, dataset.train).indices[:, 0]
    paths["figure2"] = save_figure2(
        folder / "figure2.png", samples.numpy(), dataset.train[nearest].numpy(), shape
    )
    path = interpolation_samples(generator, rows, steps, seed, spherical).numpy()
    paths["figure3"] = save_interpolation(
        folder / "figure3.png", path, rows, shape, gif_path=folder / "figure3.gif" if gif else None
    )
    other = interpolation_samples(generator, rows, steps, seed, not spherical).numpy()
    paths["figure3_other"] = save_interpolation(
        folder / f"figure3_{'linear' if spherical else 'spherical'}.png", other, rows, shape
    )
    if gif:
        paths["figure3_gif"] = folder / "figure3.gif"
    return paths
