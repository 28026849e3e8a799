"""PacGAN's Table 1 rows (Lin et al. 2018) from this project's PacGAN presets, over seeds.

    python benchmarks/pacgan_table.py [--datasets ring grid] [--packs 1 2] [--seeds 0 1 2 3 4]
        [--out runs/pacgan] [--results benchmarks/results/pacgan] [--threads 1]
        [--commands | --record] [--figure docs/pacgan-validation.png]

Each run is ``advnets toy DATA --preset toy-DATA-pacgan`` with packs of m (1: their GAN),
minibatches of 100 m points and 100,000 m points, so that a minibatch is their 100 packs and
an epoch their 100,000 packs, in OUT/DATA-packM-sS. A run takes hours on a CPU, so the script
trains nothing: --commands prints the command that starts each run not yet finished, or
resumes it where it stopped, seed 0 of every row first (to run them side by side, one
thread each, over several sittings: ``--commands | xargs -P 2 -I{} sh -c '{}'``). Without
it, the script reads the runs that trained the preset's 400 epochs and prints, for each
dataset and packing, the modes hit (of 8 or 25), the high-quality fraction and the reverse
KL as mean ± standard error over the seeds done, the CPU hours a run took, and the values
PacGAN reports beside them.

A run is hours of a machine that may not outlive the sitting, so --record keeps what the
table needs of each finished run in OUT: its summary, its validation curve and the machine
that trained it, as RESULTS/DATA-packM-sS.json (a small file, kept with the project). The
table counts recorded runs beside finished ones in OUT, and --commands skips them both.
--figure also draws, from the same runs, the modes hit and the reverse KL at every
validation, one line per run, coloured by packing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from advnets.config import load_config
from advnets.figures.curves import figure_png
from advnets.files import atomic_write_bytes, atomic_write_text
from advnets.runs.logs import read_metrics
from advnets.training.throughput import machine

# PacGAN's Table 1 (10 runs each), mean ± standard error: modes, high-quality %, reverse KL
PAPER = {
    ("ring", 1): "6.3 ± 0.5 | 98.2% | 0.45",
    ("ring", 2): "7.9 ± 0.1 | |",
    ("grid", 1): "17.3 ± 0.8 | |",
    ("grid", 2): "23.8 ± 0.7 | |",
}
RESULTS = Path(__file__).resolve().parent / "results" / "pacgan"
POINTS_PER_PACK = 100_000  # their epoch: 100,000 packs
PACKS_PER_MINIBATCH = 100


def run_dir(out: Path, kind: str, pack: int, seed: int) -> Path:
    return out / f"{kind}-pack{pack}-s{seed}"


def complete(path: Path, epochs: int) -> dict | None:
    """The summary in the JSON file ``path`` if it exists and counts all ``epochs``."""
    summary = json.loads(path.read_text()) if path.is_file() else None
    return summary if summary is not None and summary["epochs"] >= epochs else None


def finished(run: Path, epochs: int) -> dict | None:
    """The run's summary if it has trained all ``epochs``, else None."""
    return complete(run / "summary.json", epochs)


def recorded(results: Path, name: str, epochs: int) -> dict | None:
    """The recorded summary of run ``name`` if one of all ``epochs`` is kept in ``results``."""
    return complete(results / f"{name}.json", epochs)


def validation_curve(run: Path) -> list[dict]:
    """The run's mode statistics at each validation (metrics.jsonl's toy_modes records)."""
    kept = ("epoch", "modes_hit", "modes_covered", "high_quality_fraction", "mode_kl")
    records = read_metrics(run / "metrics.jsonl")
    return [{k: r[k] for k in kept} for r in records if r.get("kind") == "toy_modes"]


def record(run: Path, summary: dict, results: Path) -> Path:
    """Keep a finished run's summary (without its directory's path and the epoch list that
    the curve holds), its validation curve and this machine as RESULTS/NAME.json."""
    dropped = ("run_dir", "by_epoch")
    kept = {key: value for key, value in summary.items() if key not in dropped}
    kept |= {"validation": validation_curve(run), "machine": machine()}
    return atomic_write_text(results / f"{run.name}.json", json.dumps(kept, indent=1) + "\n")


def command(run: Path, kind: str, pack: int, seed: int, threads: int, epochs: int) -> str:
    """The command that starts the run, or resumes it (to ``epochs``) if it has begun."""
    common = f"--set training.threads={threads} --json --out {run}"
    if (run / "lab.json").is_file():
        return f"advnets toy {kind} --resume --epochs {epochs} {common}"
    settings = [
        f"model.discriminator_pack={pack}",
        f"training.batch_size={PACKS_PER_MINIBATCH * pack}",
        f"data.toy_points={POINTS_PER_PACK * pack}",
        f"seed={seed}",
    ]
    sets = " ".join(f"--set {setting}" for setting in settings)
    return f"advnets toy {kind} --preset toy-{kind}-pacgan {sets} {common}"


def mean_se(values: list[float], digits: int) -> str:
    """Mean ± standard error (the mean alone for one value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    se = statistics.stdev(values) / len(values) ** 0.5
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def row(kind: str, pack: int, summaries: list[dict], expected: int) -> str:
    """One Markdown row: this project's runs beside PacGAN's values."""
    name = "GAN" if pack == 1 else f"PacGAN{pack}"
    paper = PAPER.get((kind, pack), " | |")
    if not summaries:
        return f"| {kind} | {name} | 0 of {expected} | | | | | {paper} |"
    modes = mean_se([s["modes_hit"] for s in summaries], 1)
    quality = mean_se([100 * s["high_quality_fraction"] for s in summaries], 1)
    kl = mean_se([s["mode_kl"] for s in summaries], 2)
    hours = statistics.fmean(s["train_cpu_seconds"] for s in summaries) / 3600
    done = f"{len(summaries)} of {expected}"
    return f"| {kind} | {name} | {done} | {modes} | {quality}% | {kl} | {hours:.1f} | {paper} |"


def plot_validation(results: dict[tuple[str, int], list[dict]], path: Path) -> Path:
    """Modes hit and reverse KL against epochs (from the first validation after the start) for
    each dataset (rows), one line per run coloured by packing, PacGAN's mean modes hit for
    the row as a dashed line."""
    kinds = sorted({kind for kind, _ in results}, key=["ring", "grid"].index)
    fig, axes = plt.subplots(len(kinds), 2, figsize=(10, 3.2 * len(kinds)), squeeze=False)
    for (kind, pack), summaries in sorted(results.items()):
        modes_ax, kl_ax = axes[kinds.index(kind)]
        colour = f"C{pack - 1}"
        name = "GAN" if pack == 1 else f"PacGAN{pack}"
        runs = f"{len(summaries)} run{'s' if len(summaries) > 1 else ''}"
        for number, summary in enumerate(summaries):
            trained = [v for v in summary["validation"] if v["epoch"] > 0]  # not the initial G
            epochs = [v["epoch"] for v in trained]
            label = f"{name} ({runs})" if number == 0 else None
            modes = [v["modes_hit"] for v in trained]
            modes_ax.plot(epochs, modes, color=colour, lw=0.8, alpha=0.7, label=label)
            kl = [v["mode_kl"] for v in trained]
            kl_ax.plot(epochs, kl, color=colour, lw=0.8, alpha=0.7, label=label)
        paper = PAPER.get((kind, pack), "").split(" ")[0]
        if paper:
            modes_ax.axhline(float(paper), color=colour, ls="--", lw=0.8)
        modes_ax.set_ylabel(f"{kind}: modes hit (of {summaries[0]['modes']})")
        kl_ax.set_ylabel(f"{kind}: reverse KL")
    for ax in axes.flat:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0][0].set_title("modes hit (dashed: PacGAN's mean)")
    axes[0][1].set_title("reverse KL of the mode histogram")
    fig.tight_layout()
    return atomic_write_bytes(path, figure_png(fig))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["ring", "grid"], choices=["ring", "grid"])
    parser.add_argument("--packs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=Path("runs/pacgan"))
    parser.add_argument("--results", type=Path, default=RESULTS, help="the recorded runs")
    parser.add_argument("--threads", type=int, default=1, help="in the printed commands")
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--commands", action="store_true", help="print the commands of the unfinished runs"
    )
    action.add_argument(
        "--record", action="store_true", help="record the finished runs of OUT in RESULTS"
    )
    parser.add_argument("--figure", type=Path, help="also draw the runs' validation curves")
    args = parser.parse_args()
    runs = [
        (kind, pack, seed, run_dir(args.out, kind, pack, seed))
        for kind in args.datasets
        for pack in args.packs
        for seed in args.seeds
    ]
    epochs = {kind: load_config(f"toy-{kind}-pacgan").training.epochs for kind in args.datasets}

    def result(kind: str, run: Path) -> dict | None:
        """The run's recorded summary, or its own with its validation curve if it has
        finished, or None."""
        kept = recorded(args.results, run.name, epochs[kind])
        if kept is None and (summary := finished(run, epochs[kind])) is not None:
            kept = {**summary, "validation": validation_curve(run)}
        return kept

    if args.record:
        for kind, _, _, run in runs:
            summary = finished(run, epochs[kind])
            if summary is not None:
                print(f"recorded {record(run, summary, args.results)}")
        return
    if args.commands:  # seed by seed, so that every row gains its seeds at the same pace
        try:
            for kind, pack, seed, run in sorted(runs, key=lambda entry: entry[2]):
                if result(kind, run) is None:
                    print(command(run, kind, pack, seed, args.threads, epochs[kind]), flush=True)
        except BrokenPipeError:  # a reader that takes the first few (`| head -2`) and stops
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # quiet at exit
        return
    print(
        "| data | packing | seeds done | modes hit | high quality | reverse KL | CPU h/run "
        "| PacGAN: modes | high quality | reverse KL |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    done: dict[tuple[str, int], list[dict]] = {}
    for kind in args.datasets:
        for pack in args.packs:
            found = [result(k, run) for k, m, _, run in runs if (k, m) == (kind, pack)]
            summaries = [summary for summary in found if summary is not None]
            print(row(kind, pack, summaries, len(args.seeds)))
            if summaries:
                done[kind, pack] = summaries
    if args.figure is not None:  # every run result() returns has its validation curve
        print(f"wrote {plot_validation(done, args.figure)}")


if __name__ == "__main__":
    main()
