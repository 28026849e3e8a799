"""Speed and precision of the paper's Parzen-window protocol (Goodfellow et al., 2014, Section 5).

    python benchmarks/parzen_speed.py --repeats 3

Times ``parzen_protocol`` at the paper's sizes (10,000 samples, 1,000
validation rows x 10 sigmas, 10,000 test rows, 784-d) on random pixels in
[0, 1] (speed does not depend on content) and prints a Markdown table row:
threads, median seconds, and the share of that time spent in the GEMM
(``aten::addmm`` self time under the profiler). It then compares the float32
(centred) and float64 GEMMs against a brute-force float64 reference
(explicit differences, no GEMM) on ``--compare-rows`` test rows.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from advnets.evaluation.parzen import parzen_log_likelihood, parzen_protocol

N_SAMPLES, N_VALID, N_TEST, DIM = 10_000, 1_000, 10_000, 784


def brute_force(x: np.ndarray, mu: np.ndarray, sigmas: list[float]) -> torch.Tensor:
    """float64 reference: distances from explicit differences, then logsumexp."""
    x64, mu64 = torch.from_numpy(x).double(), torch.from_numpy(mu).double()
    blocks = []
    for start in range(0, len(x64), 250):
        sq = torch.cdist(
            x64[start : start + 250], mu64, compute_mode="donot_use_mm_for_euclid_dist"
        )
        sq = sq.square()
        blocks.append(torch.stack([torch.logsumexp(-sq / (2 * s**2), 1) for s in sigmas]))
    log_norm = [np.log(len(mu)) + DIM / 2 * np.log(2 * np.pi * s**2) for s in sigmas]
    return torch.cat(blocks, 1) - torch.tensor(log_norm, dtype=torch.float64).unsqueeze(1)


def gemm_share(samples: np.ndarray, valid: np.ndarray, test: np.ndarray) -> float:
    """Fraction of one protocol run's wall time spent inside the GEMM."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        parzen_protocol(samples, valid, test)
        wall = time.perf_counter() - start
    gemm_us = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key == "aten::addmm")
    return gemm_us / 1e6 / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed protocol runs (default 3)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's own choice)"
    )
    parser.add_argument(
        "--compare-rows",
        type=int,
        default=1000,
        help="test rows for the float32/float64 error check (default 1000; 0 skips it)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random data (default 0)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    rng = np.random.default_rng(args.seed)
    samples = rng.random((N_SAMPLES, DIM), dtype=np.float32)
    valid = rng.random((N_VALID, DIM), dtype=np.float32)
    test = rng.random((N_TEST, DIM), dtype=np.float32)

    parzen_protocol(samples[:1000], valid[:100], test[:1000], n_valid=100)  # warm-up
    results = [parzen_protocol(samples, valid, test) for _ in range(args.repeats)]
    seconds = statistics.median(r.seconds for r in results)
    share = gemm_share(samples, valid, test)
    print(
        f"| threads | protocol ({N_SAMPLES} samples, {N_VALID} valid, {N_TEST} test, {DIM}-d) "
        "| seconds (median) | GEMM share |"
    )
    print("|---|---|---|---|")
    print(
        f"| {torch.get_num_threads()} | sigma = {results[0].sigma:.3f} "
        f"| {seconds:.2f} (of {args.repeats}) | {share:.0%} |"
    )

    if args.compare_rows <= 0:
        return
    rows = test[: args.compare_rows]
    sigmas = [results[0].sigma, 0.1]
    reference = brute_force(rows, samples, sigmas)
    print()
    print(
        f"| GEMM dtype | seconds ({len(rows)} rows x 2 sigma) "
        + "".join(f"| mean err (sigma={s:.3f}) | max row err (sigma={s:.3f}) " for s in sigmas)
        + "|"
    )
    print("|---|---|" + "---|---|" * len(sigmas))
    for dtype in (torch.float32, torch.float64):
        start = time.perf_counter()
        got = parzen_log_likelihood(rows, samples, sigmas, gemm_dtype=dtype)
        elapsed = time.perf_counter() - start
        error = got - reference
        cells = "".join(
            f"| {e.mean().abs().item():.1e} | {e.abs().max().item():.1e} " for e in error
        )
        print(f"| {str(dtype).removeprefix('torch.')} | {elapsed:.2f} {cells}|")


if __name__ == "__main__":
    main()
