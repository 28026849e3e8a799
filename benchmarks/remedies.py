"""Mode collapse and its remedies: ``advnets toy ring|grid --remedy NAME`` over seeds.

    python benchmarks/remedies.py [--seeds 0 1 2] [--remedies none pack2 ...] [--threads 1]
        [--datasets ring] [--out runs/remedies] [--reuse] [--set KEY=VALUE ...]

Runs the lab's 2-D experiment for each remedy (advnets.config.REMEDIES) and seed, one
process at a time, prints one JSON line per run (modes covered, high-quality fraction,
mode KL, wall and CPU seconds of training) and then a Markdown table of each remedy's runs,
with the seconds per run and the thread count. The CPU seconds (the process's) are what a run
costs on a loaded machine, where the wall time also counts the time other work held the cores.
With --reuse, runs already in OUT are read rather than trained again.
Draws OUT/DATA-remedies.png for each dataset: the final G's samples of every seed and the
mode histograms, one row per remedy.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

import numpy as np
import torch

from advnets.config import REMEDIES
from advnets.data.toy import toy_distribution
from advnets.evaluation.modes import coverage_threshold
from advnets.experiments.lab import FINAL_SAMPLES, run_2d
from advnets.figures.toy import save_remedies_figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--remedies", nargs="+", default=list(REMEDIES), choices=list(REMEDIES))
    parser.add_argument("--datasets", nargs="+", default=["ring"], choices=["ring", "grid"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--preset", help="another preset of the same data (toy-ring-pacgan...)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", default="runs/remedies")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="read a run whose directory already holds its summary.json instead of training it "
        "again (runs made in parallel, then one table and figure)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = [f"training.threads={args.threads}", *args.set]
    rows = []
    for kind in args.datasets:
        for remedy in args.remedies:
            results, seconds, cpu_seconds = [], [], []
            for seed in args.seeds:
                out = Path(args.out) / f"{kind}-{remedy}-s{seed}"
                if args.reuse and (out / "summary.json").is_file():
                    summary = json.loads((out / "summary.json").read_text())
                else:
                    summary = run_2d(kind, out, [*settings, f"seed={seed}"], remedy, args.preset)
                seconds.append(summary["train_seconds"])
                cpu_seconds.append(summary.get("train_cpu_seconds", math.nan))  # older runs
                results.append(summary)
                keys = ("experiment", "remedy", "seed", "modes_covered", "high_quality_fraction")
                line = {k: summary[k] for k in (*keys, "mode_kl", "epochs")}
                timing = {"seconds": seconds[-1], "cpu_seconds": cpu_seconds[-1]}
                timing = {key: round(value, 1) for key, value in timing.items()}
                print(json.dumps({**line, **timing}), flush=True)
            rows.append((kind, remedy, results, seconds, cpu_seconds))
        figure = _draw(Path(args.out) / f"{kind}-remedies.png", [r for r in rows if r[0] == kind])
        print(f"figure: {figure}", flush=True)
    print(f"\n{args.threads} thread(s); seeds {', '.join(map(str, args.seeds))}\n")
    print(
        "| data | remedy | modes covered (per seed) | high-quality fraction | mode KL "
        "| s/run | CPU s/run |"
    )
    print("|---|---|---|---|---|---|---|")
    for kind, remedy, results, seconds, cpu_seconds in rows:
        modes = results[0]["modes"]
        covered = ", ".join(str(r["modes_covered"]) for r in results)
        quality = ", ".join(f"{r['high_quality_fraction']:.2f}" for r in results)
        kl = ", ".join(f"{r['mode_kl']:.2f}" for r in results)
        print(
            f"| {kind} | {remedy} | {covered} (of {modes}) | {quality} | {kl} "
            f"| {statistics.fmean(seconds):.0f} | {statistics.fmean(cpu_seconds):.0f} |"
        )


def _draw(path: Path, rows: list) -> Path:
    """Samples and mode histograms of every run of one dataset, one row per remedy."""
    centres = toy_distribution(rows[0][2][0]["dataset"]).centres
    figure_rows = [
        {
            "label": remedy,
            "runs": [{**r, "points": np.load(Path(r["run_dir"]) / FINAL_SAMPLES)} for r in results],
        }
        for _, remedy, results, *_ in rows
    ]
    limit = float(np.abs(centres).max() + 1.5)
    covered_at = coverage_threshold(len(figure_rows[0]["runs"][0]["points"]), len(centres))
    return save_remedies_figure(path, figure_rows, centres, limit, covered_at)


if __name__ == "__main__":
    main()
