"""Low-dimensional data with known densities: the theory lab's 1-D and 2-D examples.

* ``gaussian-1d``: N(2, 0.5²), the data of the paper's Figure 1 and of the
  usual hands-on "GAN 1-D example".
* ``mixture-1d``: ½ N(−2, 0.5²) + ½ N(2, 0.5²), two modes to cover.
* ``ring``: 8 Gaussians (std 0.02) evenly spaced on a circle of radius 2, and
* ``grid``: 25 Gaussians (std 0.05) on the 5×5 grid {−4, −2, 0, 2, 4}², the
  standard mode-collapse benchmarks (Metz et al., 2017, unrolled GANs;
  Srivastava et al., 2017, VEEGAN);
* ``ring-pacgan``: 8 Gaussians (std 0.01) on a circle of radius 1, the ring of
  PacGAN's experiments (Lin et al., 2018), whose grid is ``grid`` itself.

Every mixture here has equal weights and isotropic components, so its density
is known in closed form, which is what Proposition 1 and Theorem 1 need.
``Uniform`` (1-D, on an interval) gives the divergences a density with edges.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import torch

from advnets.config import TOY_DATASETS
from advnets.data.datasets import Dataset

DATA_SEED = 0  # the points are the same for every run; only the GAN's seed varies


@dataclass(frozen=True)
class GaussianMixture:
    """Equal-weight mixture of isotropic Gaussians N(centre_i, std² I)."""

    centres: np.ndarray  # (K, d)
    std: float

    @property
    def dim(self) -> int:
        return self.centres.shape[1]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n points, float32 (n, d)."""
        which = rng.integers(len(self.centres), size=n)
        points = self.centres[which] + self.std * rng.standard_normal((n, self.dim))
        return points.astype(np.float32)

    def density(self, x: np.ndarray) -> np.ndarray:
        """p(x) for rows of x, (n, d) -> (n,), in float64."""
        return np.exp(self.log_density(x))

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """log p(x) = log mean_i N(x; centre_i, std² I) for rows of x, (n, d) -> (n,), in
        float64; finite however far x lies from the centres."""
        x = np.asarray(x, np.float64).reshape(len(x), self.dim)
        squared = ((x[:, None, :] - self.centres[None]) ** 2).sum(-1)
        log_norm = self.dim / 2 * math.log(2 * math.pi * self.std**2)
        exponents = -squared / (2 * self.std**2)
        return np.logaddexp.reduce(exponents, axis=1) - math.log(len(self.centres)) - log_norm


@dataclass(frozen=True)
class Uniform:
    """The uniform distribution on [low, high], 1-D: density 1/(high − low) there, 0 off it."""

    low: float
    high: float
    dim = 1

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n points, float32 (n, 1)."""
        return rng.uniform(self.low, self.high, (n, 1)).astype(np.float32)

    def density(self, x: np.ndarray) -> np.ndarray:
        """p(x) for rows of x, (n, 1) -> (n,), in float64."""
        return np.exp(self.log_density(x))

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """log p(x) for rows of x, (n, 1) -> (n,): −log(high − low) on [low, high], −∞ off it."""
        x = np.asarray(x, np.float64).reshape(len(x))
        inside = (x >= self.low) & (x <= self.high)
        return np.where(inside, -math.log(self.high - self.low), -np.inf)


def toy_distribution(name: str) -> GaussianMixture:
    """The named distribution (see the module docstring)."""
    if name == "gaussian-1d":
        return GaussianMixture(np.array([[2.0]]), 0.5)
    if name == "mixture-1d":
        return GaussianMixture(np.array([[-2.0], [2.0]]), 0.5)
    if name in ("ring", "ring-pacgan"):
        radius, std = (2.0, 0.02) if name == "ring" else (1.0, 0.01)
        angles = 2 * math.pi * np.arange(8) / 8
        return GaussianMixture(radius * np.stack([np.cos(angles), np.sin(angles)], 1), std)
    if name == "grid":
        ticks = np.arange(-4.0, 5.0, 2.0)
        return GaussianMixture(np.array([[x, y] for x in ticks for y in ticks]), 0.05)
    raise ValueError(f"unknown toy dataset {name!r}; choose one of {', '.join(TOY_DATASETS)}.")


def load_toy(name: str, n_train: int, n_eval: int = 10000) -> Dataset:
    """``n_train`` training points and ``n_eval`` validation and test points each."""
    distribution = toy_distribution(name)
    rng = np.random.default_rng(DATA_SEED)
    train, valid, test = (distribution.sample(n, rng) for n in (n_train, n_eval, n_eval))
    digest = hashlib.sha256()
    for split in (train, valid, test):
        digest.update(split.tobytes())
    return Dataset.from_arrays(
        name, train, valid, test, None, digest.hexdigest(), f"synthetic (seed {DATA_SEED})"
    )


def to_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, np.float32))
