"""Gaussian Parzen-window log-likelihood, the evaluation of Goodfellow et al. (2014), Section 5.

The paper estimates the likelihood of test data under a generator by fitting a
Gaussian Parzen window to N = 10,000 generated samples μ_i (the estimator of
Breuleux et al., 2011)::

    log p(x) = logsumexp_i(−‖x − μ_i‖² / 2σ²) − log N − (d/2)·log(2πσ²)

σ is chosen from ``logspace(-1, 0, 10)`` by the mean log-likelihood of the
first 1,000 validation images; the score is the mean over the 10,000 test
images, reported with its standard error std/√n (numpy std, ddof=0), as in
Table 1 of the paper.

How it is computed:

* Distances come from one GEMM per block of query rows,
  ‖x − μ‖² = ‖x‖² + ‖μ‖² − 2xμᵀ, clamped at 0. A block holds ``batch_size``
  rows against all N samples (1,000 × 10,000 float32 = 40 MB), so memory stays
  bounded, and each block is computed once and reused for every σ.
* Precision: the GEMM runs in float32 after centring x and μ by the samples'
  mean (distances are translation-invariant; centring shrinks the norms that
  cancel in the expansion). Measured against a brute-force float64 reference
  (explicit differences, no GEMM) on real MNIST (bytes/255; samples = the first
  10,000 training images, score 241.19 ± 2.13 at σ = 0.167; all 10,000 test
  images; 2 cores shared with a training job, so seconds are relative):

  ==========================  =========  ============  ===========  ===========
  GEMM                        protocol   mean LL err   max row err  max row err
                              seconds    (σ = 0.167)   (σ = 0.167)  (σ = 0.1)
  ==========================  =========  ============  ===========  ===========
  float64                     6.5        5e-13         5e-12        1e-11
  float32, centred (chosen)   3.8        4.2e-5        1.0e-3       2.9e-3
  float32, not centred        --         1.6e-4        2.8e-3       7.7e-3
  ==========================  =========  ============  ===========  ===========

  Centred float32 meets the targets (mean within 1e-3 nats, every row within
  1e-2) with a wide margin and is 1.7x faster, so it is the default;
  ``gemm_dtype=torch.float64`` is kept to check it, and
  ``benchmarks/parzen_speed.py`` repeats the comparison. The scaled exponents
  and their sums stay in the GEMM dtype; the per-row offsets are added in
  float64, and results are float64.
* logsumexp is taken relative to each row's nearest sample, so the largest term
  is exp(0) = 1 and nothing overflows (tiny σ is safe). Exponents are floored at
  −80: a floored term is below e⁻⁸⁰ of the largest, so the floor changes the sum
  by less than N·e⁻⁸⁰ ≈ 2e-31 relative (N = 10⁴), far below float precision,
  while keeping ``exp`` out of its slow subnormal path (4× faster here, and the
  exponentials would otherwise cost as much as the GEMM).

The whole protocol (10,000 samples, 1,000 validation rows × 10 σ, 10,000 test
rows, 784-d) takes about 1.6 s on 2 idle CPU cores.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

PAPER_SIGMAS: np.ndarray = np.logspace(-1, 0, 10)
"""The paper's candidate bandwidths: 10 values log-spaced from 0.1 to 1."""

_EXP_FLOOR = -80.0  # exponents below this are floored (see the module docstring)
_RANGE_TOLERANCE = 1e-5  # how far outside [0, 1] a pixel may stray (float rounding)

ArrayLike = np.ndarray | torch.Tensor


@dataclass(frozen=True)
class ParzenResult:
    """Outcome of :func:`parzen_protocol`: the test score and how it was obtained."""

    test_ll: float  # mean test log-likelihood (nats)
    test_se: float  # its standard error, std / sqrt(n_test)
    sigma: float  # the bandwidth chosen on the validation rows
    valid_ll_by_sigma: dict[float, float]  # mean validation log-likelihood per candidate σ
    n_samples: int  # generated samples in the Parzen window (N)
    n_valid: int  # validation rows used to choose σ
    n_test: int  # test rows scored
    seconds: float  # wall-clock time of the whole protocol

    def to_dict(self) -> dict:
        """JSON-ready dict; the keys of ``valid_ll_by_sigma`` become strings."""
        record = asdict(self)
        record["valid_ll_by_sigma"] = {str(s): ll for s, ll in self.valid_ll_by_sigma.items()}
        return record


def validate_samples(array: ArrayLike, dim: int | None = 784, name: str = "samples") -> ArrayLike:
    """Check that ``array`` is an (n, dim) floating array of finite pixels in [0, 1].

    Raises ValueError with one sentence naming the problem; ``dim=None`` accepts
    any row width. Returns the data as float32 and C-contiguous: a tensor stays a tensor
    on its own device (checked there, not copied to the CPU), anything else becomes a
    numpy array.
    """
    tensor = isinstance(array, torch.Tensor)
    array = array.detach() if tensor else np.asarray(array)
    shape, width = tuple(array.shape), "d" if dim is None else dim
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n, {width}), "
            f"got a {array.ndim}-D array of shape {shape}."
        )
    if dim is not None and shape[1] != dim:
        raise ValueError(
            f"{name} has {shape[1]} values per row but {dim} are expected (shape {shape})."
        )
    if shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {shape}); at least one row is needed.")
    if not (array.is_floating_point() if tensor else np.issubdtype(array.dtype, np.floating)):
        raise ValueError(
            f"{name} must have a floating-point dtype holding pixels in [0, 1], got {array.dtype}."
        )
    n_bad = int((~(torch.isfinite(array) if tensor else np.isfinite(array))).sum())
    if n_bad:
        raise ValueError(f"{name} contains {n_bad} NaN or infinite values.")
    low, high = float(array.min()), float(array.max())
    if low < -_RANGE_TOLERANCE or high > 1 + _RANGE_TOLERANCE:
        raise ValueError(
            f"{name} has values outside [0, 1] (min {low:.6g}, max {high:.6g}); "
            "scale pixels to [0, 1] first."
        )
    if tensor:
        return array.to(torch.float32).contiguous()
    return np.ascontiguousarray(array, dtype=np.float32)


def squared_distances(
    x: torch.Tensor, mu: torch.Tensor, *, mu_sq_norms: torch.Tensor | None = None
) -> torch.Tensor:
    """All squared distances ‖x_j − μ_i‖², shape (len(x), len(mu)), by one GEMM.

    Uses ‖x‖² + ‖μ‖² − 2xμᵀ and clamps the rounding-induced negatives at 0.
    ``mu_sq_norms`` (‖μ_i‖²) may be passed to reuse it across blocks of x. In
    float32, centre x and μ by a common vector first to limit cancellation.
    """
    if mu_sq_norms is None:
        mu_sq_norms = mu.square().sum(1)
    distances = torch.addmm(mu_sq_norms.unsqueeze(0), x, mu.T, alpha=-2.0)
    distances.add_(x.square().sum(1, keepdim=True))
    return distances.clamp_(min=0.0)


@torch.no_grad()
def parzen_log_likelihood(
    x: ArrayLike,
    mu: ArrayLike,
    sigma: float | Sequence[float],
    *,
    batch_size: int = 1000,
    gemm_dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Per-row Parzen log-likelihood log p(x) of ``x`` under a Gaussian window on ``mu``.

    Implements the estimator of Section 5 (Breuleux et al., 2011). A scalar
    ``sigma`` gives shape (n,); a sequence gives (len(sigma), n), computing each
    block of distances once for all σ. Rows of ``x`` are processed
    ``batch_size`` at a time. Returns float64 on the device of ``mu``.
    """
    scalar = np.ndim(sigma) == 0
    sigmas = np.atleast_1d(np.asarray(sigma, dtype=np.float64))
    if sigmas.ndim != 1 or sigmas.size == 0 or not np.all(np.isfinite(sigmas) & (sigmas > 0)):
        raise ValueError(
            f"sigma must be a positive number or a non-empty sequence of them, got {sigma}."
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    mu_t = torch.as_tensor(mu).detach().to(gemm_dtype)
    x_t = torch.as_tensor(x).detach().to(device=mu_t.device, dtype=gemm_dtype)
    if mu_t.ndim != 2 or x_t.ndim != 2 or x_t.shape[1] != mu_t.shape[1] or len(mu_t) == 0:
        raise ValueError(
            "x and mu must be 2-D with the same number of columns and mu non-empty, "
            f"got shapes {tuple(x_t.shape)} and {tuple(mu_t.shape)}."
        )
    n_samples, dim = mu_t.shape
    centre = mu_t.mean(0)
    mu_t = mu_t - centre
    x_t = x_t - centre
    mu_sq_norms = mu_t.square().sum(1)
    scales = 1.0 / (2.0 * sigmas**2)

    log_p = torch.empty(len(sigmas), len(x_t), dtype=torch.float64, device=mu_t.device)
    for start in range(0, len(x_t), batch_size):
        rows = slice(start, start + batch_size)
        excess = squared_distances(x_t[rows], mu_t, mu_sq_norms=mu_sq_norms)
        nearest = excess.amin(1, keepdim=True)
        excess.sub_(nearest)  # ≥ 0: distance beyond the row's nearest sample
        nearest = nearest.squeeze(1).double()
        terms = torch.empty_like(excess)
        for k, scale in enumerate(scales):
            torch.mul(excess, -scale, out=terms).clamp_(min=_EXP_FLOOR).exp_()
            log_p[k, rows] = terms.sum(1).log_().double() - scale * nearest
    normaliser = math.log(n_samples) + 0.5 * dim * np.log(2.0 * np.pi * sigmas**2)
    log_p -= torch.as_tensor(normaliser, device=log_p.device).unsqueeze(1)
    return log_p[0] if scalar else log_p


REFERENCE_MONITOR_SIGMA = 0.2
"""The bandwidth of the reference code's monitoring channel (its Generator's ``ll_sigma``)."""

REFERENCE_MONITOR_BATCH = 100
"""Validation images per monitoring batch, and samples drawn for each (``ll_n_samples``)."""


def reference_monitor_ll(samples: ArrayLike, valid: ArrayLike) -> float:
    """The Parzen estimate the paper's reference code monitored during training (its
    ``ll`` channel): the validation images in batches of 100, each batch scored under a
    window of its own 100 samples at σ = 0.2, the mean over every image.

    Batch b takes rows [100 b, 100 b + 100) of ``samples`` (fresh samples per batch, as the
    reference draws them); as many whole batches as both arrays fill are scored. Far
    cheaper and far noisier than :func:`parzen_protocol` (100 samples, σ not chosen)."""
    samples = validate_samples(samples, dim=None, name="samples")
    valid = validate_samples(valid, dim=samples.shape[1], name="valid")
    size = REFERENCE_MONITOR_BATCH
    batches = min(len(samples), len(valid)) // size
    if batches == 0:
        raise ValueError(
            f"the reference monitor needs at least {size} samples and {size} validation images, "
            f"got {len(samples)} and {len(valid)}."
        )
    rows = [slice(b * size, (b + 1) * size) for b in range(batches)]
    scores = [parzen_log_likelihood(valid[r], samples[r], REFERENCE_MONITOR_SIGMA) for r in rows]
    return float(torch.cat(scores).mean())


def parzen_protocol(
    samples: ArrayLike,
    valid: ArrayLike,
    test: ArrayLike | None = None,
    *,
    sigmas: Sequence[float] = PAPER_SIGMAS,
    n_valid: int = 1000,
    batch_size: int = 1000,
) -> ParzenResult:
    """The paper's Parzen evaluation (Goodfellow et al., 2014, Section 5; Table 1).

    Fits the window to ``samples`` (the paper: 10,000 generated images), picks
    σ from ``sigmas`` by mean log-likelihood of the first ``n_valid`` rows of
    ``valid``, and scores every row of ``test`` with it: mean ± std/√n.
    ``test=None`` scores those validation rows themselves (model selection during
    training), reusing their log-likelihoods at the chosen σ rather than computing them
    again. All must hold pixels in [0, 1] with the same row width; the work runs on the
    device of ``samples`` (a tensor's, else the CPU).
    """
    start = time.perf_counter()
    samples = validate_samples(samples, dim=None, name="samples")
    dim = samples.shape[1]
    valid = validate_samples(valid, dim=dim, name="valid")
    if test is not None:
        test = validate_samples(test, dim=dim, name="test")
    if not 1 <= n_valid <= len(valid):
        raise ValueError(
            f"n_valid must be between 1 and {len(valid)} (the rows of valid), got {n_valid}."
        )
    candidates = [float(s) for s in sigmas]

    valid_rows = parzen_log_likelihood(valid[:n_valid], samples, candidates, batch_size=batch_size)
    valid_ll = valid_rows.mean(1)
    chosen = int(valid_ll.argmax())
    best = candidates[chosen]
    if test is None:
        test_ll = valid_rows[chosen]
    else:
        test_ll = parzen_log_likelihood(test, samples, best, batch_size=batch_size)
    test_ll = test_ll.cpu().numpy()
    return ParzenResult(
        test_ll=float(test_ll.mean()),
        test_se=float(test_ll.std() / np.sqrt(len(test_ll))),
        sigma=best,
        valid_ll_by_sigma=dict(zip(candidates, valid_ll.tolist(), strict=True)),
        n_samples=len(samples),
        n_valid=n_valid,
        n_test=len(test_ll),
        seconds=time.perf_counter() - start,
    )
