"""The paper's figures, and the plots of the evaluation that goes with them.

* Figure 2: random samples (not cherry-picked); the rightmost column, framed
  in yellow as in the paper, shows the nearest training example of the sample
  beside it, "to show that the model has not memorized the training set".
* Figure 3: digits along paths between two noise vectors, one path per row
  (linear as in the paper; spherical as an option), as a PNG and an animated GIF.
* The memorisation check and the predicted-class histogram, as plots.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from advnets.data.datasets import ImageShape
from advnets.figures.curves import figure_png, save_single_plot
from advnets.figures.grid import png_bytes, tile_images
from advnets.files import atomic_write_bytes

YELLOW = np.array([255, 204, 0], np.uint8)
PADDING = 2


def figure2_pixels(
    samples: np.ndarray, neighbours: np.ndarray, image_shape: ImageShape
) -> np.ndarray:
    """RGB grid: each row is ``len(samples) // len(neighbours)`` samples, then the framed
    nearest training image of the row's last sample."""
    rows = len(neighbours)
    per_row = len(samples) // rows
    if per_row < 1 or per_row * rows != len(samples):
        raise ValueError(
            f"Figure 2 needs the same number of samples in every row: {len(samples)} samples "
            f"do not split into {rows} rows."
        )
    cells = np.concatenate(
        [samples.reshape(rows, per_row, -1), neighbours.reshape(rows, 1, -1)], axis=1
    )
    tiled = tile_images(cells.reshape(rows * (per_row + 1), -1), image_shape, per_row + 1, PADDING)
    rgb = tiled if tiled.ndim == 3 else np.repeat(tiled[:, :, None], 3, axis=2)
    height, width = image_shape[-2:]
    left = PADDING + per_row * (width + PADDING)
    for row in range(rows):
        top = PADDING + row * (height + PADDING)
        inner = rgb[top : top + height, left : left + width].copy()
        frame_rows = slice(top - PADDING, top + height + PADDING)
        rgb[frame_rows, left - PADDING : left + width + PADDING] = YELLOW
        rgb[top : top + height, left : left + width] = inner
    return rgb


def save_figure2(
    path: str | os.PathLike,
    samples: np.ndarray,
    neighbours: np.ndarray,
    image_shape: ImageShape,
    scale: int = 3,
) -> Path:
    """Write Figure 2 (see :func:`figure2_pixels`) as a PNG, enlarged ``scale`` times."""
    pixels = figure2_pixels(samples, neighbours, image_shape)
    return atomic_write_bytes(path, png_bytes(pixels, scale))


def save_interpolation(
    png_path: str | os.PathLike,
    images: np.ndarray,
    rows: int,
    image_shape: ImageShape,
    gif_path: str | os.PathLike | None = None,
    scale: int = 3,
) -> Path:
    """Figure 3: ``rows`` paths, one per row, as a PNG; optionally an animated GIF.

    ``images`` holds the paths one after another (rows · steps images). The GIF
    walks every path at once, forth and back: frame t shows each path's step t.
    """
    steps = len(images) // rows
    pixels = tile_images(images, image_shape, steps, PADDING)
    path = atomic_write_bytes(png_path, png_bytes(pixels, scale))
    if gif_path is not None:
        by_step = images.reshape(rows, steps, -1).transpose(1, 0, 2)
        order = list(range(steps)) + list(range(steps - 2, 0, -1))
        frames = []
        for t in order:
            frame = Image.fromarray(tile_images(by_step[t], image_shape, rows, PADDING))
            frames.append(frame.resize((frame.width * scale, frame.height * scale), Image.NEAREST))
        buffer = io.BytesIO()
        frames[0].save(
            buffer, format="GIF", save_all=True, append_images=frames[1:], duration=120, loop=0
        )
        atomic_write_bytes(gif_path, buffer.getvalue())
    return path


def plot_memorisation(
    sample_distances: np.ndarray, test_distances: np.ndarray, path: str | os.PathLike
) -> Path:
    """Histograms of the distance to the nearest training image: samples vs held-out test."""
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0, max(sample_distances.max(), test_distances.max()) * 1.02, 60)
    ax.hist(test_distances, bins, alpha=0.55, density=True, label="held-out test images")
    ax.hist(sample_distances, bins, alpha=0.55, density=True, label="generated samples")
    p1 = float(np.percentile(test_distances, 1))
    share = float(np.mean(sample_distances < p1))
    ax.axvline(p1, color="black", ls="--", lw=1, label=f"test 1st percentile ({share:.1%} below)")
    return save_single_plot(
        fig,
        ax,
        path,
        title="memorisation check: copies would pile up near 0",
        xlabel="Euclidean distance to the nearest of the training images (pixels in [0, 1])",
        ylabel="density",
    )


def plot_class_histogram(
    counts: list[int], path: str | os.PathLike, reference: list[int] | None = None
) -> Path:
    """Bar chart of the classifier's predicted digit classes for generated samples."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    classes = np.arange(len(counts))
    share = np.asarray(counts) / max(sum(counts), 1)
    ax.bar(classes - 0.2, share, 0.4, label="generated samples")
    if reference is not None:
        ax.bar(classes + 0.2, np.asarray(reference) / sum(reference), 0.4, label="test images")
    ax.axhline(1 / len(counts), color="grey", ls="--", lw=0.8, label="uniform")
    ax.set_xticks(classes)
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("share of images")
    ax.set_title("predicted-class histogram")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return atomic_write_bytes(path, figure_png(fig))
