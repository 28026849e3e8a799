"""The theory lab (``advnets toy``) and the concepts explained by running them
(``advnets explain``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from advnets import limits
from advnets.cli.arguments import add_seed_option, bounded, timestamped_out
from advnets.config import REMEDIES


def cmd_toy(args: argparse.Namespace) -> int:
    """One theory-lab experiment (advnets.experiments.lab; divergences: .divergences), its
    options turned into overrides of the toy preset; prints its summary."""
    from advnets.experiments import lab

    overrides = list(args.set)
    if args.mixture:
        overrides.append("data.dataset=mixture-1d")
    for flag, key in (("seed", "seed"), ("epochs", "training.epochs"), ("k", "training.k"),
                      ("lr", "training.lr"), ("loss", "training.generator_loss")):  # fmt: skip
        if getattr(args, flag) is not None:
            overrides.append(f"{key}={getattr(args, flag)}")
    if args.k is not None:
        overrides.append("training.update=alternating")
    out = args.out or timestamped_out(f"toy-{args.experiment}")
    if args.experiment == "divergences":
        return _toy_divergences(args, out)
    if args.samples is not None:
        raise ValueError(f"--samples is an option of `toy divergences`, not of {args.experiment}.")
    two_d = args.experiment in ("ring", "grid")
    for flag in ("remedy", "preset", "resume"):
        if getattr(args, flag) not in (None, False) and not two_d:
            raise ValueError(f"--{flag} is an option of `toy ring` and `toy grid`.")
    if args.resume:
        if args.out is None or args.remedy is not None or args.preset is not None:
            raise ValueError(
                "--resume continues the run in --out with its own remedy and preset: give "
                "--out RUN_DIR, and leave out --remedy and --preset."
            )
        summary = lab.resume_2d(args.experiment, out, overrides)
    elif args.experiment == "saturation":
        summary = lab.run_saturation(out, overrides)
    elif args.experiment == "1d":
        summary = lab.run_1d(out, overrides)
    else:
        summary = lab.run_2d(args.experiment, out, overrides, args.remedy or "none", args.preset)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_toy(summary)
    return 0


def _toy_divergences(args: argparse.Namespace, out: str | Path) -> int:
    """``toy divergences``: refuses the options of a training, then computes and prints."""
    from advnets.experiments import divergences

    trained = ("mixture", "loss", "k", "lr", "epochs", "resume")
    given = [f"--{flag}" for flag in trained if getattr(args, flag) not in (None, False)]
    if given or args.set:
        options = ", ".join(given + ["--set"] * bool(args.set))
        raise ValueError(f"toy divergences trains nothing: {options} do not apply to it.")
    samples = divergences.DIVERGENCE_SAMPLES if args.samples is None else args.samples
    summary = divergences.run_divergences(out, samples, args.seed or 0)
    print(json.dumps(summary, indent=2) if args.json else divergences.describe_divergences(summary))
    return 0


def _print_toy(summary: dict) -> None:
    """A lab experiment's summary in words: Proposition 1 and Theorem 1, the two losses, or
    the modes covered."""
    if summary["experiment"] == "1d":
        print(
            f"Proposition 1: max |D - D*| on the data's support = "
            f"{summary['dstar_max_abs_error']:.3f} (G frozen, D trained to convergence)\n"
            f"Theorem 1: C(G) = {summary['C_G']:.4f} (estimated) vs "
            f"{summary['C_G_integral']:.4f} (-log 4 + 2 JSD by integration); "
            f"-log 4 = {summary['minus_log_4']:.4f}\n"
            f"figures: {summary['run_dir']}/figures (figure1.png, figure1.gif, "
            "optimal_discriminator.png, criterion.png)"
        )
    elif summary["experiment"] == "saturation":
        for loss, values in summary["losses"].items():
            print(f"{loss}: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()
                                          if isinstance(v, float)))  # fmt: skip
        print(f"figure: {summary['figure']}")
    else:
        remedy = "" if summary["remedy"] == "none" else f" (remedy {summary['remedy']})"
        print(
            f"{summary['experiment']}{remedy}: {summary['modes_covered']}/{summary['modes']} modes "
            f"covered ({summary['modes_hit']} with a high-quality sample, PacGAN's count), "
            f"{summary['high_quality_fraction']:.1%} high-quality samples, mode KL "
            f"{summary['mode_kl']:.3f}\nfigures: {summary['run_dir']}/figures "
            "(coverage.png, coverage.gif)"
        )


def cmd_explain(args: argparse.Namespace) -> int:
    from advnets.explain import transposed_conv

    summary = transposed_conv.explain(args.out or Path("runs") / f"explain-{args.topic}")
    print(json.dumps(summary, indent=2) if args.json else transposed_conv.describe(summary))
    return 0


def add_commands(sub) -> None:
    """Add this module's subcommands to ``sub``."""
    _add_toy(sub)
    _add_explain(sub)


def _add_toy(sub) -> None:
    """``advnets toy``: its arguments."""
    p = sub.add_parser(
        "toy",
        help="the theory lab: the 1-D example, D*, C(G), saturation, mode coverage, divergences",
        description="1d: the paper's Figure 1, Proposition 1 (D*) and Theorem 1 (C(G)); "
        "saturation: minimax vs non-saturating generator loss from one initialisation; "
        "ring, grid: mode coverage on 8 or 25 Gaussians, with a remedy for mode collapse "
        "(--remedy). Each runs in about a minute. "
        "divergences: KL both ways, the Jensen-Shannon divergence and the symmetrised KL of "
        "pairs of 1-D densities, by quadrature and Monte Carlo, in seconds; in --json an "
        'infinite value is the string "inf", with its reason under "infinite".',
    )
    p.add_argument("experiment", choices=["1d", "saturation", "ring", "grid", "divergences"])
    p.add_argument("--out", metavar="RUN_DIR", help="default: runs/toy-<experiment>-<timestamp>")
    p.add_argument(
        "--samples",
        type=bounded(2, limits.MAX_SAMPLES),
        help="divergences: Monte Carlo samples of each distribution (default 100,000)",
    )
    p.add_argument(
        "--remedy",
        choices=list(REMEDIES),
        help="ring, grid: a remedy for mode collapse (default none): pack2, pack3, pack4: D "
        "judges packs of 2, 3, 4 samples (PacGAN, Lin et al. 2018); minibatch-std: D also sees "
        "the spread of groups of 4 samples (Karras et al. 2018); unrolled5: each G step against "
        "D advanced 5 steps, first order (Metz et al. 2017); unrolled5-exact: the same with G's "
        "gradient through the 5 steps, as Metz et al. train it; pack4-std: packs of 4 whose D also "
        "sees the spread of all 50 packs of a minibatch of 200",
    )
    p.add_argument(
        "--preset",
        help="ring, grid: train from this preset instead of toy-ring or toy-grid: "
        "toy-ring-remedies-quick (200 epochs of minibatches of 200 at lr 3e-3, a short weight "
        "average of G: about a minute, where pack4-std covers the ring), toy-ring-remedies "
        "(150 epochs at lr 1e-3, "
        "G's weight average), "
        "toy-ring-pacgan, toy-grid-pacgan (PacGAN's networks and data; hours)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="ring, grid: continue the stopped run in --out exactly, from its last checkpoint "
        "(with --epochs: train it longer)",
    )
    p.add_argument("--mixture", action="store_true", help="1d: two Gaussians instead of one")
    p.add_argument("--loss", choices=["non_saturating", "minimax"], help="generator loss")
    p.add_argument("--k", type=int, help="D steps per G step (Algorithm 1)")
    p.add_argument(
        "--lr", type=float, help="learning rate (of both networks unless training.discriminator_lr)"
    )
    p.add_argument("--epochs", type=int)
    add_seed_option(
        p, "the run's seed (divergences: of the Monte Carlo samples; default 0)", default=None
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any setting of the toy preset")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_toy)


def _add_explain(sub) -> None:
    """``advnets explain``: its arguments."""
    p = sub.add_parser(
        "explain",
        help="a concept explained by running it: transposed-conv",
        description="transposed-conv: a worked convolution as a matrix C, the transposed "
        "convolution as C^T, the shape rules of DCGAN's up-sampling, the checkerboard of "
        "uneven overlap; each checked against PyTorch, with figures.",
    )
    p.add_argument("topic", choices=["transposed-conv"])
    p.add_argument(
        "--out", metavar="DIR", help="where the figures go (default: runs/explain-<topic>)"
    )
    p.add_argument("--json", action="store_true", help="print every number as JSON")
    p.set_defaults(func=cmd_explain)
