"""Mode collapse and its remedies: ``advnets toy ring|grid --remedy NAME`` over seeds.

    python benchmarks/remedies.py [--seeds 0 1 2] [--remedies none pack2 ...] [--threads 1]
        [--datasets ring] [--out runs/remedies] [--set KEY=VALUE ...]

Runs the lab's 2-D experiment for each remedy (advnets.config.REMEDIES) and seed, one
process at a time, prints one JSON line per run (modes covered, high-quality fraction,
mode KL, seconds) and then a Markdown table of each remedy's runs, with the seconds per run
and the thread count.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from advnets.config import REMEDIES
from advnets.experiments.lab import run_2d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--remedies", nargs="+", default=list(REMEDIES), choices=list(REMEDIES))
    parser.add_argument("--datasets", nargs="+", default=["ring"], choices=["ring", "grid"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--preset", help="another preset of the same data (toy-ring-pacgan...)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", default="runs/remedies")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = [f"training.threads={args.threads}", *args.set]
    rows = []
    for kind in args.datasets:
        for remedy in args.remedies:
            results, seconds = [], []
            for seed in args.seeds:
                out = Path(args.out) / f"{kind}-{remedy}-s{seed}"
                start = time.perf_counter()
                summary = run_2d(kind, out, [*settings, f"seed={seed}"], remedy, args.preset)
                seconds.append(time.perf_counter() - start)
                results.append(summary)
                keys = ("experiment", "remedy", "seed", "modes_covered", "high_quality_fraction")
                line = {k: summary[k] for k in (*keys, "mode_kl", "epochs")}
                print(json.dumps({**line, "seconds": round(seconds[-1], 1)}), flush=True)
            rows.append((kind, remedy, results, seconds))
    print(f"\n{args.threads} thread(s); seeds {', '.join(map(str, args.seeds))}\n")
    print("| data | remedy | modes covered (per seed) | high-quality fraction | mode KL | s/run |")
    print("|---|---|---|---|---|---|")
    for kind, remedy, results, seconds in rows:
        modes = results[0]["modes"]
        covered = ", ".join(str(r["modes_covered"]) for r in results)
        quality = ", ".join(f"{r['high_quality_fraction']:.2f}" for r in results)
        kl = ", ".join(f"{r['mode_kl']:.2f}" for r in results)
        print(
            f"| {kind} | {remedy} | {covered} (of {modes}) | {quality} | {kl} "
            f"| {statistics.fmean(seconds):.0f} |"
        )


if __name__ == "__main__":
    main()
