"""Training curves from a run's metrics.jsonl."""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from advnets.files import atomic_write_bytes


def figure_png(fig: plt.Figure, dpi: int = 90) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def save_single_plot(fig, ax, path, *, title: str, xlabel: str, ylabel: str) -> Path:
    """Label one axes (title, axis names, legend, grid) and write its figure as a PNG."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return atomic_write_bytes(path, figure_png(fig))


# the statistics of a train record drawn as losses, those a game logs (advnets.games)
LOSSES = [
    ("d_loss", "D loss"),
    ("g_loss", "G loss"),
    ("loss", "−ELBO (nats)"),
    ("recon", "reconstruction error"),
]


def _domain_axes(axes, domain: list[dict]) -> None:
    """FID; precision, recall, density, coverage; classes covered and IS, over training."""
    epochs = [r["epoch"] for r in domain]
    axes[0].plot(epochs, [r["fid"] for r in domain], "o-", label="FID (lower is better)")
    axes[0].set_yscale("log")
    axes[0].set_title("FID vs validation images (classifier features)")
    for key in ("precision", "recall", "density", "coverage"):
        axes[1].plot(epochs, [r[key] for r in domain], "o-", label=key)
    axes[1].set_title("precision / recall (k=3), density / coverage (k=5)")
    axes[2].plot(epochs, [r["inception_score"] for r in domain], "o-", label="classifier IS")
    axes[2].plot(epochs, [r["classes_covered"] for r in domain], "s--", label="classes covered")
    axes[2].axhline(10, color="grey", lw=0.8, ls="--", label="ideal: 10")
    axes[2].set_title("digit classes")


def _cycle_axes(axes, epochs: list[float], train: list[dict]) -> None:
    """CycleGAN's cycle losses, and its least-squares terms per network."""
    for key, label in (("cycle_a", "‖F(G(a)) − a‖₁"), ("cycle_b", "‖G(F(b)) − b‖₁")):
        axes[0].plot(epochs, [r[key] for r in train], label=label)
    axes[0].set_title("cycle losses (mean per pixel)")
    for key, label in (("gan_ab", "G vs D_B"), ("gan_ba", "F vs D_A"), ("d_a", "D_A"),
                       ("d_b", "D_B")):  # fmt: skip
        axes[1].plot(epochs, [r[key] for r in train], label=label)
    axes[1].set_title("least-squares adversarial losses")


def plot_curves(records: list[dict], path: str | os.PathLike) -> Path:
    """Plot losses, D outputs (a GAN's), validation Parzen (and domain metrics, if any)
    against epochs."""
    train = [r for r in records if r.get("kind") == "train"]
    parzen = [r for r in records if r.get("kind") == "valid_parzen"]
    domain = [r for r in records if r.get("kind") == "valid_domain"]
    rows = 2 if domain else 1
    fig, axes = plt.subplots(rows, 3, figsize=(15, 4 * rows), squeeze=False)
    top = axes[0]
    epochs = [r["epoch_progress"] for r in train]
    for key, label in LOSSES:
        if train and key in train[0]:
            top[0].plot(epochs, [r[key] for r in train], label=label)
    top[0].set_title("losses (per image)" if train and "d_loss" not in train[0] else "losses")
    if train and "d_real" in train[0]:
        top[1].plot(epochs, [r["d_real"] for r in train], label="mean D(x)")
        top[1].plot(epochs, [r["d_fake"] for r in train], label="mean D(G(z))")
        top[1].axhline(0.5, color="grey", lw=0.8, ls="--", label="D* = 1/2 at equilibrium")
        top[1].set_ylim(-0.02, 1.02)
        top[1].set_title("discriminator outputs")
    elif train and "kl" in train[0]:  # a VAE: the KL term of its ELBO
        top[1].plot(epochs, [r["kl"] for r in train], label="KL(q(z|x) ‖ p(z))")
        top[1].set_title("the ELBO's KL term (nats per image)")
    elif train and "cycle_a" in train[0]:  # CycleGAN's: no validation, its own terms
        _cycle_axes(top[1:], epochs, train)
    else:
        top[1].axis("off")  # no discriminator, no KL term
    if not (train and "cycle_a" in train[0]):
        top[2].plot([r["epoch"] for r in parzen], [r["ll"] for r in parzen], "o-", label="valid")
        top[2].set_title("validation Parzen log-likelihood (nats)")
    if domain:
        _domain_axes(axes[1], domain)
    for ax in axes.flat:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return atomic_write_bytes(path, figure_png(fig))
