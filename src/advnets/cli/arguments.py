"""The argument types and options the subcommands share: bounded integers, seed lists, digit
pairs, the one-line usage error, and the options of commands that read runs."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from advnets import limits
from advnets.config import preset_names

EPILOG = "Presets: " + ", ".join(preset_names()) + ". See `advnets presets`."


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (the usage itself is one --help away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help.\n")


def bounded(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer within ``low`` .. ``high`` (advnets.limits)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        problem = limits.out_of_range(value, low, high)
        if problem:
            raise argparse.ArgumentTypeError(problem.rstrip("."))
        return value

    return parse


def seed_list(text: str) -> list[int]:
    """An argparse type: the seeds of ``train --seeds`` (advnets.training.seeds)."""
    from advnets.training.seeds import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).rstrip(".")) from None


def digit_pair(text: str) -> tuple[int, int]:
    """ "7,1" as (7, 1): the class whose attribute is moved, and the class it is moved to."""
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) < 10 for p in parts):
        raise argparse.ArgumentTypeError(f"expected two digits like 7,1, got {text!r}")
    return int(parts[0]), int(parts[1])


def add_run_options(p: argparse.ArgumentParser, ceiling: bool = False) -> None:
    """The options of a command that reads runs: the data cache and unfinished runs, and
    with ``ceiling`` the option to skip scoring real images as the ceiling row."""
    p.add_argument("--data-dir", metavar="DIR", help="dataset cache directory")
    p.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="accept a run that has not finished training (its best checkpoint so far)",
    )
    if ceiling:
        p.add_argument(
            "--no-ceiling",
            action="store_true",
            help="skip scoring up to 10,000 real training images",
        )


def add_seed_option(p: argparse.ArgumentParser, what: str, default: int | None = 0) -> None:
    """``--seed``: the seed of ``what`` a command draws (within advnets.limits)."""
    shown = "" if default is None else f" (default {default})"
    p.add_argument(
        "--seed", type=bounded(0, limits.MAX_SEED), default=default, help=f"{what}{shown}"
    )


def add_search_options(p: argparse.ArgumentParser) -> None:
    """The latent search's options (advnets.evaluation.latent_search): random starts per
    image and Adam steps."""
    p.add_argument(
        "--restarts", type=bounded(1, 64), default=4, help="latent search: random starts per image"
    )
    p.add_argument(
        "--steps", type=bounded(1, 100_000), default=300, help="latent search: Adam steps (300)"
    )
    add_seed_option(p, "search seed")


def timestamped_out(stem: str) -> Path:
    """The default folder of a new run: runs/<stem>-<date>-<time>."""
    return Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
