"""Pictures of the theory lab: Figure 1 in 1-D, D against D*, C(G), saturation, 2-D coverage,
the divergences of pairs of densities."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from advnets.figures.curves import figure_png, save_single_plot
from advnets.files import atomic_write_bytes

DATA, GEN, DISC = "black", "tab:green", "tab:blue"


def draw_1d(ax, x, p_data, p_g, d, z, g_z, title: str, xlim) -> None:
    """One panel of Figure 1: p_data (black, dotted), p_g (green), D (blue, dashed) above,
    and below them the mapping x = G(z) from equally likely values of z."""
    top = max(p_data.max(), 1.05) * 1.1
    ax.plot(x, p_data, ":", color=DATA, lw=2, label="p_data")
    ax.plot(x, p_g, "-", color=GEN, lw=1.5, label="p_g")
    ax.plot(x, d, "--", color=DISC, lw=1.5, label="D(x)")
    base, line = -0.45 * top, -0.12 * top
    z_axis = xlim[0] + (xlim[1] - xlim[0]) * (np.asarray(z) - z.min()) / (np.ptp(z) or 1)
    for z_at, x_at in zip(z_axis, g_z, strict=True):
        ax.plot([z_at, x_at], [base, line], color="grey", lw=0.6)
    ax.axhline(base, color="black", lw=0.8)
    ax.axhline(line, color="black", lw=0.8)
    ax.text(xlim[0], base * 1.08, "z", va="top")
    ax.text(xlim[0], line * 0.6, "x", va="top")
    ax.set_xlim(*xlim)
    ax.set_ylim(base * 1.15, top)
    ax.set_yticks([0, 0.5, 1.0])
    ax.set_title(title, fontsize=10)


def save_1d_figure(path: str | os.PathLike, x, p_data, frames: list[dict], xlim) -> Path:
    """Figure 1 as four panels (a)–(d): the first frame, two in between, the last."""
    picks = sorted({round(i * (len(frames) - 1) / 3) for i in range(4)})
    fig, axes = plt.subplots(1, len(picks), figsize=(4 * len(picks), 3.6), squeeze=False)
    for ax, index, letter in zip(axes[0], picks, "abcd", strict=False):
        frame = frames[index]
        draw_1d(ax, x, p_data, frame["p_g"], frame["d"], frame["z"], frame["g_z"],
                f"({letter}) epoch {frame['epoch']}", xlim)  # fmt: skip
    axes[0][0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return atomic_write_bytes(path, figure_png(fig))


def save_gif(path: str | os.PathLike, pngs: list[bytes], duration_ms: int = 250) -> Path:
    """An animated GIF from PNG frames, looping forever."""
    images = [Image.open(io.BytesIO(png)).convert("RGB") for png in pngs]
    buffer = io.BytesIO()
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0
    )
    return atomic_write_bytes(path, buffer.getvalue())


def frame_1d_png(x, p_data, frame: dict, xlim) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 3.6))
    draw_1d(ax, x, p_data, frame["p_g"], frame["d"], frame["z"], frame["g_z"],
            f"epoch {frame['epoch']}", xlim)  # fmt: skip
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return figure_png(fig, dpi=70)


def plot_optimal_discriminator(
    path, x, p_data, p_g, d, d_star, support, checked, error: float
) -> Path:
    """Proposition 1: the trained D beside D* = p_data/(p_data + p_g), G frozen; the
    stretches of the support left out around D*'s jumps are hatched."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(x, p_data, ":", color=DATA, lw=2, label="p_data")
    ax.plot(x, p_g, "-", color=GEN, label="p_g (frozen G)")
    ax.plot(x, d_star, "-", color="tab:red", lw=2.5, alpha=0.5, label="D* = p_data/(p_data+p_g)")
    ax.plot(x, d, "--", color=DISC, label="D trained to convergence")
    ax.axvspan(x[support][0], x[support][-1], color="grey", alpha=0.1, label="data's support")
    left_out = support & ~checked
    ax.fill_between(
        x,
        0,
        1,
        where=left_out,
        facecolor="none",
        edgecolor="tab:grey",
        hatch="////",
        lw=0,
        label="left out: next to a jump of D*" if left_out.any() else None,
    )
    ax.set_xlim(x[support][0] - 1.5, x[support][-1] + 1.5)
    return save_single_plot(
        fig, ax, path, title=f"Proposition 1: max |D − D*| on the support = {error:.3f}",
        xlabel="x", ylabel="density, D(x)",
    )  # fmt: skip


def plot_criterion(path, rows: list[dict]) -> Path:
    """Theorem 1: C(G) estimated with a converged D, and −log 4 + 2·JSD, over training."""
    epochs = [r["epoch"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(epochs, [r["C_G_integral"] for r in rows], "-", lw=3, alpha=0.5,
            label="−log 4 + 2·JSD(p_data ‖ p_g), by integration")  # fmt: skip
    ax.plot(epochs, [r["C_G_estimate"] for r in rows], "o--", ms=4,
            label="max_D V(D, G), D trained with G frozen")  # fmt: skip
    ax.axhline(-math.log(4), color="black", ls=":", label="−log 4 (p_g = p_data)")
    return save_single_plot(
        fig, ax, path, title="Theorem 1: the virtual training criterion C(G)",
        xlabel="epoch", ylabel="nats",
    )  # fmt: skip


def plot_saturation(path, curves: dict[str, dict]) -> Path:
    """The gradient norm reaching G (left) and what each loss learned (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for name, curve in curves.items():
        left.plot(curve["steps"], curve["g_grad_norm"], label=name)
    left.set_yscale("log")
    left.set_xlabel("generator update")
    left.set_ylabel("‖∇θg‖ of the generator loss")
    left.set_title("the saturation problem: the gradient reaching G")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    first = next(iter(curves.values()))
    right.plot(first["x"], first["p_data"], ":", color=DATA, lw=2, label="p_data")
    for name, curve in curves.items():
        right.plot(curve["x"], curve["p_g"], label=f"p_g, {name}")
    right.set_xlim(first["xlim"])
    right.set_title("what each generator learned")
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    fig.tight_layout()
    return atomic_write_bytes(path, figure_png(fig))


def frame_2d_png(points, centres, title: str, limit: float) -> bytes:
    fig, ax = plt.subplots(figsize=(4, 4))
    draw_2d(ax, points, centres, title, limit)
    fig.tight_layout()
    return figure_png(fig, dpi=70)


def draw_2d(ax, points, centres, title: str, limit: float) -> None:
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color=GEN, label="G(z)")
    ax.scatter(centres[:, 0], centres[:, 1], s=25, marker="x", color="black", label="modes")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)


def save_2d_figure(path, snapshots: list[dict], centres, limit: float) -> Path:
    """Scatter plots of G's samples at up to eight moments of training."""
    picks = sorted({round(i * (len(snapshots) - 1) / 7) for i in range(8)})
    fig, axes = plt.subplots(1, len(picks), figsize=(2.6 * len(picks), 2.8), squeeze=False)
    for ax, index in zip(axes[0], picks, strict=True):
        s = snapshots[index]
        title = f"epoch {s['epoch']}: {s['modes_covered']}/{s['modes']} modes"
        draw_2d(ax, s["points"], centres, title, limit)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return atomic_write_bytes(path, figure_png(fig))


def save_remedies_figure(
    path, rows: list[dict], centres, limit: float, covered_at: float | None = None
) -> Path:
    """Baseline against each remedy over seeds: one row per remedy, the final G's samples of
    each seed, then the high-quality samples' mode histogram of every seed side by side (a
    dashed line at ``covered_at``, the count a covered mode needs, when given).

    ``rows``: ``{"label": str, "runs": [{"seed", "points", "mode_counts", "modes_covered"}]}``.
    """
    seeds = max(len(row["runs"]) for row in rows)
    fig, axes = plt.subplots(
        len(rows), seeds + 1, figsize=(2.4 * seeds + 3.6, 2.5 * len(rows)), squeeze=False
    )
    for row, line in zip(rows, axes, strict=True):
        for ax in line[:seeds]:
            ax.axis("off")
        for ax, run in zip(line, row["runs"], strict=False):
            ax.axis("on")
            title = f"{row['label']}, seed {run['seed']}: {run['modes_covered']}/{len(centres)}"
            draw_2d(ax, run["points"], centres, title, limit)
            ax.set_xticks([])
            ax.set_yticks([])
        _draw_mode_histogram(line[-1], row["runs"], len(centres), covered_at)
    fig.tight_layout()
    return atomic_write_bytes(path, figure_png(fig))


def _draw_mode_histogram(ax, runs: list[dict], modes: int, covered_at: float | None) -> None:
    """High-quality samples per mode, one bar per seed within each mode's group."""
    width = 0.8 / len(runs)
    for i, run in enumerate(runs):
        offsets = np.arange(modes) - 0.4 + (i + 0.5) * width
        ax.bar(offsets, run["mode_counts"], width, label=f"seed {run['seed']}")
    if covered_at is not None:
        ax.axhline(covered_at, color="black", ls="--", lw=0.8, label="covered")
    ax.set_xticks(range(modes))
    ax.set_xlabel("mode", fontsize=8)
    ax.set_ylabel("high-quality samples", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6)


DIVERGENCE_LABELS = {
    "kl_pq": "KL(P‖Q)",
    "kl_qp": "KL(Q‖P)",
    "jsd": "JSD(P‖Q)",
    "symmetrised_kl": "½(KL(P‖Q)+KL(Q‖P))",
}


def plot_divergences(path, pairs: list[dict]) -> Path:
    """One row per pair: the densities p, q and m = (p + q)/2 (left), and the four quantities
    by quadrature as bars with the Monte Carlo estimates ± 2 standard errors (right). An
    infinite value is a hatched bar to the top, marked ∞; the dotted line is log 2, the
    JSD's ceiling. Each pair: ``title``, ``x``, ``p``, ``q``, ``quadrature`` and ``mc``
    (``(value, standard error)``) keyed like ``DIVERGENCE_LABELS``."""
    fig, axes = plt.subplots(len(pairs), 2, figsize=(11, 3.2 * len(pairs)), squeeze=False)
    for (left, right), pair in zip(axes, pairs, strict=True):
        x, p, q = pair["x"], pair["p"], pair["q"]
        left.plot(x, p, color=DATA, lw=1.5, label="p (P)")
        left.plot(x, q, color=GEN, lw=1.5, label="q (Q)")
        left.plot(x, (p + q) / 2, "--", color="tab:grey", lw=1, label="m = (p + q)/2")
        left.set_ylim(0, 1.4 * max(p.max(), q.max()))  # room for the legend above
        left.set_title(pair["title"], fontsize=9)
        left.set_xlabel("x")
        left.legend(fontsize=8, loc="upper right")
        left.grid(alpha=0.3)

        keys = list(DIVERGENCE_LABELS)
        finite = [pair["quadrature"][k] for k in keys if math.isfinite(pair["quadrature"][k])]
        top = max([math.log(2), *finite]) * 1.25
        for i, key in enumerate(keys):
            value, (mc, se) = pair["quadrature"][key], pair["mc"][key]
            if math.isfinite(value):
                right.bar(i, value, color="tab:blue", alpha=0.6)
                above = max(value, mc + 2 * se) + 0.01 * top
                right.text(i, above, f"{value:.3f}", ha="center", va="bottom", fontsize=8)
            else:
                right.bar(i, top, color="none", edgecolor="tab:red", hatch="//")
                right.text(i, top * 0.5, "∞", ha="center", fontsize=16, color="tab:red")
            if math.isfinite(mc):
                right.errorbar(i, mc, yerr=2 * se, fmt="o", ms=3, color="black", capsize=3)
        right.axhline(math.log(2), color="black", ls=":", lw=1, label="log 2")
        right.set_xticks(range(len(keys)), [DIVERGENCE_LABELS[k] for k in keys], fontsize=8)
        right.set_ylim(0, top)
        right.set_ylabel("nats")
        right.set_title("bars: quadrature; dots: Monte Carlo ± 2 s.e.", fontsize=9)
        right.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return atomic_write_bytes(path, figure_png(fig))
