"""``advnets sample`` and ``advnets pretrained``: samples of a run or of a shipped generator."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from advnets import limits
from advnets.cli.arguments import add_seed_option, bounded
from advnets.config import ConfigError


def _chosen_class(args: argparse.Namespace, generator, meta: dict) -> int | str | None:
    """The class ``--class`` names (an index, a class name or "all"), checked against the
    run; None without ``--class``."""
    if args.class_ is None:
        return None
    names = meta.get("class_names")
    if not getattr(generator, "num_classes", 0) or not names:
        raise ConfigError(
            f"{args.run_dir} is an unconditional run: --class needs a run of a conditional "
            "family (cgan-mlp)."
        )
    if args.class_ == "all":
        return "all"
    if args.class_ in names:
        return names.index(args.class_)
    if args.class_.isdigit() and int(args.class_) < len(names):
        return int(args.class_)
    listed = ", ".join(f"{i} ({name})" if name != str(i) else name for i, name in enumerate(names))
    raise ConfigError(
        f"--class {args.class_!r} is not a class of {args.run_dir}; choose {listed} or all."
    )


def _draw(generator, args: argparse.Namespace, chosen: int | str | None):
    """The samples ``advnets sample`` writes (flat rows), and the columns of their grid."""
    from advnets.sampling import generate, generate_by_class

    if chosen == "all":
        rows = math.ceil(args.n / generator.num_classes)
        return generate_by_class(generator, rows, args.seed).numpy(), generator.num_classes
    if chosen is not None:
        generator.fixed_class = chosen
    return generate(generator, args.n, args.seed).numpy(), None


def _generator_to_sample(args: argparse.Namespace):
    """G to sample (from RUN_DIR, or the shipped generator --pretrained names), the shape of
    its images (None for a theory-lab run's points) and its checkpoint's metadata."""
    from advnets.data.registry import data_image_shape
    from advnets.evaluation.pretrained import load_pretrained
    from advnets.evaluation.runs import load_generator
    from advnets.runs.rundir import RunDir

    if args.pretrained is not None:
        generator, card = load_pretrained(args.pretrained)
        return generator, tuple(card["image_shape"]), {}
    generator, config, meta = load_generator(RunDir(args.run_dir), args.checkpoint)
    points = config.model.family == "mlp-toy"
    return generator, None if points else data_image_shape(config.data), meta


def cmd_sample(args: argparse.Namespace) -> int:
    """Samples of a run's G or a shipped one, as a .npy array or a PNG grid, checked for size
    before any is drawn."""
    from advnets.figures.grid import check_picture, save_grid
    from advnets.files import atomic_write_bytes, check_writable

    out = Path(args.output)
    if out.suffix not in (".npy", ".png"):
        raise ConfigError(f"-o must end in .npy or .png, got '{out.name}'.")
    check_writable(out)
    generator, shape, meta = _generator_to_sample(args)
    chosen = _chosen_class(args, generator, meta)
    if out.suffix == ".png":
        if shape is None:
            raise ConfigError(
                f"{args.run_dir} is a theory-lab run on points, not images: write its samples "
                "with -o OUT.npy (its pictures come from `advnets toy`)."
            )
        check_picture(args.n, shape, scale=args.scale)
    limits.check_memory(  # float32 values drawn in chunks, joined, then a .npy buffer and its bytes
        f"{args.n:,} samples of {generator.data_dim} values", 4 * 4 * args.n * generator.data_dim
    )
    samples, columns = _draw(generator, args, chosen)
    if out.suffix == ".npy":
        import io

        buffer = io.BytesIO()
        np.save(buffer, samples, allow_pickle=False)
        atomic_write_bytes(out, buffer.getvalue())
    else:
        save_grid(out, samples, shape, columns, scale=args.scale)
    print(f"wrote {len(samples)} samples to {out}")
    return 0


def cmd_pretrained(args: argparse.Namespace) -> int:
    """The shipped generators, one line each (or their model cards as JSON)."""
    from advnets.evaluation.pretrained import SHIPPED, card, describe

    if args.json:
        print(json.dumps({name: card(name) for name in SHIPPED}, indent=2))
    else:
        for name in SHIPPED:
            print(describe(name))
    return 0


def add_commands(sub) -> None:
    """Add this module's subcommands to ``sub``."""
    _add_sample(sub)
    _add_pretrained(sub)


def _add_sample(sub) -> None:
    """``advnets sample``: its arguments."""
    p = sub.add_parser("sample", help="draw samples from a trained run or a shipped generator")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("run_dir", metavar="RUN_DIR", nargs="?")
    source.add_argument(
        "--pretrained",
        metavar="NAME",
        help="sample a generator shipped with advnets instead of a run (`advnets pretrained`)",
    )
    p.add_argument(
        "-n",
        type=bounded(1, limits.MAX_SAMPLES),
        default=100,
        help=f"number of samples (default 100, at most {limits.MAX_SAMPLES:,})",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.npy|OUT.png",
        help=".npy: float32 N x D in [0, 1]; .png: a grid",
    )
    add_seed_option(p, "noise seed")
    p.add_argument(
        "--checkpoint",
        default="best",
        choices=["best", "last"],
        help="which checkpoint (default best)",
    )
    p.add_argument(
        "--scale",
        type=bounded(1, limits.MAX_SCALE),
        default=2,
        help=f"png: pixel enlargement (default 2, at most {limits.MAX_SCALE})",
    )
    p.add_argument(
        "--class",
        dest="class_",
        metavar="CLASS|all",
        help="a conditional run's samples of one class (its index or name), or all: one column "
        "per class, each row one noise vector (ceil(n / classes) rows)",
    )
    p.set_defaults(func=cmd_sample)


def _add_pretrained(sub) -> None:
    """``advnets pretrained``: its arguments."""
    p = sub.add_parser(
        "pretrained",
        help="the generators shipped with advnets, one line each, with their test scores",
    )
    p.add_argument("--json", action="store_true", help="print their model cards as JSON")
    p.set_defaults(func=cmd_pretrained)
