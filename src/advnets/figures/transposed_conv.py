"""Pictures of the transposed convolution: up-sampling as a sum of scaled kernel copies, and
the checkerboard of uneven overlap (Odena et al. 2016, "Deconvolution and Checkerboard
Artifacts")."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from advnets.figures.curves import figure_png
from advnets.files import atomic_write_bytes


def _cells(ax, values: np.ndarray, title: str, limit: float) -> None:
    """A small matrix as coloured cells (red positive, blue negative) with its numbers."""
    ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, alpha=0.6)
    for (r, c), value in np.ndenumerate(values):  # value + 0: 0 * -1 shows as 0, not -0
        ax.text(c, r, f"{value + 0:g}", ha="center", va="center", fontsize=8,
                color="black" if value else "grey")  # fmt: skip
    ax.set_xticks(np.arange(values.shape[1] + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(values.shape[0] + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=1)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(title, fontsize=9)


def save_upsampling(
    path: str | os.PathLike,
    y: np.ndarray,
    kernel: np.ndarray,
    copies: list[tuple[tuple[int, int], float, int, int, np.ndarray]],
    total: np.ndarray,
) -> Path:
    """The input y and the kernel w; for each input value y[r, c] its copy of w, scaled by
    y[r, c] and outlined where it lands (``copies``: (r, c), value, top, left, image); and
    their sum, the transposed convolution C^T y."""
    panels = 3 + len(copies)
    fig, axes = plt.subplots(1, panels, figsize=(1.9 * panels, 2.4))
    limit = max(np.abs(total).max(), *(np.abs(image).max() for *_, image in copies), 1.0)
    _cells(axes[0], y, f"input y ({y.shape[0]}×{y.shape[1]})", limit)
    _cells(axes[1], kernel, f"kernel w ({kernel.shape[0]}×{kernel.shape[1]})", limit)
    for index, (ax, ((r, c), value, top, left, image)) in enumerate(
        zip(axes[2:-1], copies, strict=True)
    ):
        sign = "" if index == 0 else "+ "
        _cells(ax, image, f"{sign}{value:g}·w from y[{r},{c}]", limit)
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), kernel.shape[1], kernel.shape[0],
                               fill=False, lw=2, color="black"))  # fmt: skip
    _cells(axes[-1], total, "= Cᵀy, the output", limit)
    fig.suptitle("the transposed convolution: each input value scatters a scaled copy of the "
                 "kernel; the output is their sum", fontsize=10)  # fmt: skip
    fig.tight_layout()
    return atomic_write_bytes(path, figure_png(fig, dpi=80))


def save_checkerboard(path: str | os.PathLike, panels: list[tuple[str, np.ndarray, int]]) -> Path:
    """Outputs of transposed convolutions of a constant input as grey images (white: most
    overlap), each with its interior outlined (``panels``: title, image, border)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.6))
    for ax, (title, image, border) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.imshow(image, cmap="gray", vmin=0, vmax=image.max())
        side = image.shape[0] - 2 * border
        ax.add_patch(Rectangle((border - 0.5, border - 0.5), side, side,
                               fill=False, lw=1.5, ls="--", color="tab:red"))  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=9)
    fig.suptitle("stride-2 transposed convolution of a constant input, all-ones kernels\n"
                 "(dashed: the interior, away from the input's edges)", fontsize=10)  # fmt: skip
    fig.tight_layout()
    return atomic_write_bytes(path, figure_png(fig, dpi=80))
