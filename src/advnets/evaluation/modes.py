"""Mode coverage on mixtures of Gaussians: the 2-D benchmarks of the mode-collapse literature.

Following Metz et al. (2017) and Srivastava et al. (2017, VEEGAN): a sample is
of high quality when it lies within 3 standard deviations of its nearest mode;
a mode is covered when it receives enough high-quality samples. "Enough" is
here a fifth of the share a perfect generator would give each mode
(``min_share = 0.2``), so a mode visited only by stray samples does not count;
PacGAN's released code (Lin et al. 2018) counts every mode with at least one
high-quality sample (``modes_hit``). The KL divergence of the high-quality
samples' mode histogram to the uniform one, KL(q ‖ uniform), measures how evenly
the covered modes are visited (0 is perfect; log K when everything falls on one
mode); it is the "reverse KL" of PacGAN's tables.
"""

from __future__ import annotations

import math

import numpy as np

MIN_SHARE = 0.2  # a covered mode holds at least this fraction of a perfect generator's share


def coverage_threshold(samples: int, modes: int, min_share: float = MIN_SHARE) -> float:
    """High-quality samples a mode needs to count as covered: ``min_share`` of a fair share."""
    return min_share * samples / modes


def mode_statistics(
    samples: np.ndarray,
    centres: np.ndarray,
    std: float,
    *,
    n_std: float = 3.0,
    min_share: float = MIN_SHARE,
) -> dict:
    """``modes_covered``, ``modes_hit``, ``high_quality_fraction``, ``mode_kl`` and the
    per-mode counts."""
    samples = np.asarray(samples, np.float64)
    centres = np.asarray(centres, np.float64)
    if samples.ndim != 2 or samples.shape[1] != centres.shape[1] or len(samples) == 0:
        raise ValueError(
            f"samples must be a non-empty (n, {centres.shape[1]}) array, got {samples.shape}."
        )
    distances = np.sqrt(((samples[:, None, :] - centres[None]) ** 2).sum(-1))
    nearest = distances.argmin(1)
    good = distances[np.arange(len(samples)), nearest] <= n_std * std
    counts = np.bincount(nearest[good], minlength=len(centres))
    modes = len(centres)
    covered = int((counts >= coverage_threshold(len(samples), modes, min_share)).sum())
    if counts.sum() == 0:
        kl = math.log(modes)
    else:
        share = counts[counts > 0] / counts.sum()
        kl = float((share * np.log(share * modes)).sum())
    return {
        "modes_covered": covered,
        "modes_hit": int((counts > 0).sum()),
        "modes": modes,
        "high_quality_fraction": float(good.mean()),
        "mode_kl": kl,
        "mode_counts": counts.tolist(),
    }
