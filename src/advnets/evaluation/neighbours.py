"""Exact nearest neighbours by GEMM, and the memorisation check built on them.

Figure 2 of the paper shows, beside random samples, each one's nearest training
example in pixel space, "to show that the model has not memorized the training
set". ``memorisation_check`` turns that picture into a number: it compares the
distances from generated samples to their nearest training image with the same
distances for held-out test images, which were never trained on. A generator
that copies training images puts many samples closer to the training set than
almost any test image is.

All searches are exact: squared distances come from one float32 GEMM per block
of query rows (``squared_distances``, after centring by the reference mean),
and the distance to each chosen neighbour is then recomputed exactly.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from advnets.evaluation.parzen import squared_distances

BLOCK_ROWS = 250
"""Query rows per block of distances: a 250 x 10,000 float32 block (10 MB) stays in cache
while it is searched or compared, counted and reduced: half the time of 1,000-row blocks
on 2 CPU cores, with identical results there."""


@dataclass(frozen=True)
class Neighbours:
    """The k nearest reference rows of each query row, nearest first."""

    distances: torch.Tensor  # (n, k) float32 Euclidean distances
    indices: torch.Tensor  # (n, k) int64 rows of the reference


@torch.no_grad()
def nearest_neighbours(
    queries: torch.Tensor,
    reference: torch.Tensor,
    k: int = 1,
    *,
    exclude_self: bool = False,
    batch_size: int = BLOCK_ROWS,
) -> Neighbours:
    """The ``k`` nearest rows of ``reference`` for every row of ``queries`` (exact search).

    ``exclude_self=True`` treats ``queries`` as ``reference`` itself and skips
    each row's match with itself (the k-NN radii of a point cloud).
    """
    queries, reference = queries.float(), reference.float()
    if queries.ndim != 2 or reference.ndim != 2 or queries.shape[1] != reference.shape[1]:
        raise ValueError(
            "queries and reference must be 2-D with the same number of columns, "
            f"got shapes {tuple(queries.shape)} and {tuple(reference.shape)}."
        )
    available = len(reference) - int(exclude_self)
    if not 1 <= k <= available:
        raise ValueError(f"k must be between 1 and {available} (reference rows), got {k}.")
    if exclude_self and len(queries) != len(reference):
        raise ValueError("exclude_self needs queries and reference to be the same rows.")
    centre = reference.mean(0)
    reference = reference - centre
    ref_norms = reference.square().sum(1)
    distances, indices = [], []
    for start in range(0, len(queries), batch_size):
        block = queries[start : start + batch_size] - centre
        squared = squared_distances(block, reference, mu_sq_norms=ref_norms)
        if exclude_self:
            rows = torch.arange(len(block), device=block.device)
            squared[rows, rows + start] = float("inf")
        nearest = squared.topk(k, dim=1, largest=False)
        exact = (block.unsqueeze(1) - reference[nearest.indices]).double().square().sum(2)
        distances.append(exact.sqrt().float())
        indices.append(nearest.indices)
    return Neighbours(torch.cat(distances), torch.cat(indices))


@torch.no_grad()
def ball_membership(
    queries: torch.Tensor,
    centres: torch.Tensor,
    radii: torch.Tensor,
    *,
    batch_size: int = BLOCK_ROWS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """For balls B(centre_i, radius_i): how many balls hold each query, and which balls hold any.

    Returns (counts per query row, int64) and (hit per centre, bool). A point on
    the boundary counts as inside (‖q − c‖ ≤ r). ``radii`` of shape (s, len(centres))
    are s sets of balls around the same centres, tested from one distance computation:
    the results then have shapes (s, len(queries)) and (s, len(centres)).
    """
    queries, centres = queries.float(), centres.float()
    centre = centres.mean(0)
    centres = centres - centre
    norms = centres.square().sum(1)
    squared_radii = radii.float().square().reshape(-1, 1, len(centres))
    counts = torch.empty(len(squared_radii), len(queries), dtype=torch.int64, device=queries.device)
    hit = torch.zeros(len(squared_radii), len(centres), dtype=torch.bool, device=queries.device)
    # A count cannot exceed len(centres): int16 sums, when they cannot overflow, are 10x faster.
    small = len(centres) <= torch.iinfo(torch.int16).max
    count_dtype = torch.int16 if small else torch.int64
    for start in range(0, len(queries), batch_size):
        block = queries[start : start + batch_size] - centre
        distances = squared_distances(block, centres, mu_sq_norms=norms)
        for counted, hits, bound in zip(counts, hit, squared_radii, strict=True):
            inside = distances <= bound
            counted[start : start + len(block)] = inside.sum(1, dtype=count_dtype)
            hits |= inside.any(0)
    shape = radii.shape[:-1]
    return counts.reshape(*shape, len(queries)), hit.reshape(*shape, len(centres))


@dataclass(frozen=True)
class MemorisationResult:
    """Nearest-training-image distances of samples beside those of held-out test images."""

    sample_distances: np.ndarray  # (n_samples,) distance of each sample to its nearest train image
    test_distances: np.ndarray  # (n_test,) the same for held-out test images
    test_percentile_1: float  # 1st percentile of the test distances
    fraction_below_test_p1: float  # fraction of samples closer than that: ≈ 0.01 if no copying
    sample_median: float
    test_median: float
    seconds: float

    def summary(self) -> dict:
        """The scalar results (no per-image arrays), for JSON."""
        values = asdict(self)
        del values["sample_distances"], values["test_distances"]
        return {
            **values,
            "n_samples": len(self.sample_distances),
            "n_test": len(self.test_distances),
        }


def nearest_train_distances(images: torch.Tensor, train: torch.Tensor) -> np.ndarray:
    """Each image's Euclidean distance to its nearest training image (float64)."""
    return nearest_neighbours(images, train).distances[:, 0].numpy().astype(np.float64)


def memorisation_check(
    samples: torch.Tensor, train: torch.Tensor, test_distances: np.ndarray
) -> MemorisationResult:
    """Compare each sample's and each test image's distance to its nearest training image.

    ``test_distances`` are ``nearest_train_distances(test, train)`` for held-out test
    images (a property of the data alone, so callers may cache them). The summary number
    is the fraction of samples closer to the training set than the 1st percentile of test
    images: about 1% for a generator that behaves like fresh data, much more for one that
    copies training images.
    """
    start = time.perf_counter()
    sample_d = nearest_train_distances(samples, train)
    test_d = np.asarray(test_distances, dtype=np.float64)
    p1 = float(np.percentile(test_d, 1))
    return MemorisationResult(
        sample_distances=sample_d,
        test_distances=test_d,
        test_percentile_1=p1,
        fraction_below_test_p1=float(np.mean(sample_d < p1)),
        sample_median=float(np.median(sample_d)),
        test_median=float(np.median(test_d)),
        seconds=time.perf_counter() - start,
    )
