"""A G trained with dropout, sampled with and without it: the test Parzen estimate of each.

    python benchmarks/sampling_dropout.py RUN_DIR [--checkpoint best|last]

The conditional adversarial net (Mirza & Osindero 2014) drops half of G's hidden units while
it trains. Sampled in evaluation mode (every unit, scaled: the usual mean-field reading of
dropout), its samples are speckled; sampled with the dropout on, as ClassSampler does with
``model.generator_sampling_dropout``, they are G's trained outputs. This scores one
checkpoint both ways with the paper's protocol (10,000 samples, σ chosen on 1,000 validation
images, the 10,000 test images), and the class accuracy where the shipped classifier applies.
"""

from __future__ import annotations

import argparse
import json
import time

from advnets.data.registry import load_dataset
from advnets.evaluation.conditional import conditional_scores
from advnets.evaluation.runs import EVAL_NOISE_SEED, load_generator, open_run, score_samples
from advnets.sampling import generate

SAMPLES = 10000  # the paper's


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"])
    args = parser.parse_args()
    run, _, _ = open_run(args.run_dir, require_finished=False)
    generator, config, meta = load_generator(run, args.checkpoint)
    dataset = load_dataset(config.data)
    rows = {}
    for dropout in (False, True):
        started = time.perf_counter()
        generator.dropout_at_sampling = dropout
        parzen = score_samples(generate(generator, SAMPLES, EVAL_NOISE_SEED), dataset)
        accuracy = conditional_scores(generator, dataset, EVAL_NOISE_SEED)["accuracy"]
        rows["with dropout" if dropout else "without dropout"] = {
            "test_ll": round(parzen.test_ll, 2),
            "test_se": round(parzen.test_se, 2),
            "sigma": round(parzen.sigma, 3),
            "class_accuracy": round(accuracy, 3),
            "seconds": round(time.perf_counter() - started, 1),
        }
    print(json.dumps({"run": str(run.path), "epoch": meta["state"]["epoch"], **rows}, indent=2))


if __name__ == "__main__":
    main()
