"""Training curves from a run's metrics.jsonl."""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from advnets.files import atomic_write_bytes


def plot_curves(records: list[dict], path: str | os.PathLike) -> Path:
    """Plot losses, D outputs and the validation Parzen score against epochs into a PNG."""
    train = [r for r in records if r.get("kind") == "train"]
    parzen = [r for r in records if r.get("kind") == "valid_parzen"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    epochs = [r["epoch_progress"] for r in train]
    axes[0].plot(epochs, [r["d_loss"] for r in train], label="D loss")
    axes[0].plot(epochs, [r["g_loss"] for r in train], label="G loss")
    axes[0].set_title("losses")
    axes[1].plot(epochs, [r["d_real"] for r in train], label="mean D(x)")
    axes[1].plot(epochs, [r["d_fake"] for r in train], label="mean D(G(z))")
    axes[1].axhline(0.5, color="grey", lw=0.8, ls="--", label="D* = 1/2 at equilibrium")
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].set_title("discriminator outputs")
    axes[2].plot([r["epoch"] for r in parzen], [r["ll"] for r in parzen], "o-", label="valid")
    axes[2].set_title("validation Parzen log-likelihood (nats)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())
