"""Which checkpoint each model-selection rule picks, and what it scores on the test set.

    python benchmarks/selection_rules.py RUN_DIR [RUN_DIR ...]

The paper's Table 1 does not say how its checkpoint was chosen. The rules compared, over
the checkpoints a run kept (``training.keep_every_epochs``), its best and its last:

- ``parzen``: the best validation estimate of the paper's protocol, advnets' default
  (10,000 samples, σ chosen from the grid on the first 1,000 validation images);
- ``reference-ll``: the best of the estimate the reference code monitored during training
  (100 samples for each batch of 100 validation images, σ 0.2, all validation images);
- ``last``: the newest checkpoint (the reference saved only its latest model).

Both validation estimates are computed here, for every checkpoint, from the 10,000 samples
a validation during training draws (its noise seed). Each rule's pick is then scored by
the paper's protocol on the test set with the samples ``advnets evaluate`` draws (seed
2014), so the test score is the one ``evaluate`` reports for that checkpoint.
"""

from __future__ import annotations

import argparse

from advnets.data.registry import load_dataset
from advnets.evaluation.parzen import parzen_protocol, reference_monitor_ll
from advnets.evaluation.runs import EVAL_NOISE_SEED, load_generator, open_run, score_samples
from advnets.experiments.callbacks import VALID_NOISE_SEED
from advnets.sampling import generate

SAMPLES = 10000  # the paper's


def checkpoint_scores(run, config, dataset) -> list[dict]:
    """Every distinct kept checkpoint of ``run`` (by step), with both validation estimates."""
    rows: dict[int, dict] = {}
    for path in sorted(run.path.glob("checkpoints/*.safetensors")):
        if path.stem.endswith(".prev"):
            continue
        generator, _, meta = load_generator(run, path.stem)
        step = meta["state"]["g_updates"]
        if step in rows:
            continue
        samples = generate(generator, SAMPLES, VALID_NOISE_SEED)
        valid = dataset.valid[: config.evaluation.valid_images]
        rows[step] = {
            "name": path.stem,
            "epoch": meta["state"]["epoch"],
            "parzen": parzen_protocol(samples, valid, n_valid=len(valid)).test_ll,
            "reference-ll": reference_monitor_ll(samples, dataset.valid),
            "generator": generator,
        }
    return [rows[step] for step in sorted(rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args()
    print(
        "| run | checkpoints (epochs) | rule | picks epoch | its validation score | test Parzen |"
    )
    print("|---|---|---|---|---|---|")
    for path in args.runs:
        run, config, _ = open_run(path, require_finished=False)
        dataset = load_dataset(config.data)
        rows = checkpoint_scores(run, config, dataset)
        epochs = ", ".join(str(row["epoch"]) for row in rows)
        picks = {
            "parzen": max(rows, key=lambda row: row["parzen"]),
            "reference-ll": max(rows, key=lambda row: row["reference-ll"]),
            "last": rows[-1],
        }
        for rule, row in picks.items():
            test = score_samples(generate(row["generator"], SAMPLES, EVAL_NOISE_SEED), dataset)
            shown = f"{row[rule]:.1f}" if rule != "last" else "–"
            print(
                f"| {run.path.name} | {epochs} | {rule} | {row['epoch']} | {shown} | "
                f"{test.test_ll:.1f} ± {test.test_se:.1f} |"
            )
            epochs = ""


if __name__ == "__main__":
    main()
