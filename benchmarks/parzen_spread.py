"""How far selection alone moves a Parzen score: one checkpoint over sample seeds and over σ.

    python benchmarks/parzen_spread.py RUN_DIR [--checkpoint best] [--seeds 10]

The paper's protocol (Section 5) fits the window to 10,000 samples and picks σ on the
validation images from a grid of 10 (the reference script's logspace(-1, 0, 10)); Table 1
does not say which sample draw. This scores one checkpoint's test log-likelihood with the
protocol for ``--seeds`` different draws of the 10,000 samples (mean, std, and
max − mean: what picking the luckiest draw would add), then, for the first draw, the test
log-likelihood over a fine σ grid: with σ picked on validation from it (what a finer grid
alone changes) and picked on the test set itself (an upper bound no protocol should use).
"""

from __future__ import annotations

import argparse

import numpy as np

from advnets.data.registry import load_dataset
from advnets.evaluation.parzen import parzen_log_likelihood
from advnets.evaluation.runs import load_generator, open_run, score_samples
from advnets.sampling import generate

SAMPLES = 10000  # the paper's
FINE_SIGMAS = np.round(np.arange(0.15, 0.3001, 0.005), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--checkpoint", default="best")
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    run, config, _ = open_run(args.run, require_finished=False)
    generator, _, meta = load_generator(run, args.checkpoint)
    dataset = load_dataset(config.data)
    scores, first = [], None
    for seed in range(args.seeds):
        samples = generate(generator, SAMPLES, seed)
        result = score_samples(samples, dataset)
        scores.append(result.test_ll)
        first = first or (samples, result)
        print(f"seed {seed}: {result.test_ll:.2f} ± {result.test_se:.2f} (σ {result.sigma})")
    values = np.array(scores)
    print(
        f"{meta['checkpoint']} at step {meta['state']['g_updates']}: over {args.seeds} draws "
        f"mean {values.mean():.2f}, std {values.std(ddof=1):.2f}, "
        f"max − mean {values.max() - values.mean():.2f} nats"
    )
    samples, result = first
    sigmas = FINE_SIGMAS.tolist()
    by_sigma = parzen_log_likelihood(dataset.test, samples, sigmas).mean(1)
    valid = dataset.valid[: result.n_valid]
    on_valid = int(parzen_log_likelihood(valid, samples, sigmas).mean(1).argmax())
    best = int(by_sigma.argmax())
    print(
        f"the protocol's σ grid picks {result.sigma:.4f}: test {result.test_ll:.2f}; "
        f"a fine grid (step 0.005) picks {sigmas[on_valid]} on validation: test "
        f"{float(by_sigma[on_valid]):.2f}; picked on the test set itself, {sigmas[best]}: "
        f"{float(by_sigma[best]):.2f}"
    )
    print("| σ | test log-likelihood |")
    print("|---|---|")
    for sigma, ll in zip(FINE_SIGMAS, by_sigma.tolist(), strict=True):
        print(f"| {sigma} | {ll:.2f} |")


if __name__ == "__main__":
    main()
