"""The run directories a command is given: locked while it writes into them, opened and
checked before any work, and what it found recorded in them."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
from collections.abc import Callable
from pathlib import Path


def writes_into_runs(command: Callable[[argparse.Namespace], int]):
    """A command that writes into the runs it is given (``run_dir`` or ``run_dirs``): it
    holds their locks while it runs, taken before any of its checks."""

    @functools.wraps(command)
    def holding_locks(args: argparse.Namespace) -> int:
        from advnets.runs.rundir import RunDir  # torch: imported when a command runs

        paths = args.run_dirs if hasattr(args, "run_dirs") else [args.run_dir]
        paths = [path for path in paths if path is not None]  # none: a shipped generator's
        with contextlib.ExitStack() as held:
            for path in {Path(p).resolve(): p for p in paths}.values():  # each run once
                held.enter_context(RunDir(path).writing(f"advnets {args.command}"))
            return command(args)

    return holding_locks


def open_runs(
    paths: list[str],
    args: argparse.Namespace,
    load_data: bool = True,
    translators: bool | None = False,
):
    """The runs at ``paths``, checked, and the dataset they were trained on (None without
    ``load_data``). ``translators``: False, runs that draw samples only (CycleGAN's refused);
    True, CycleGAN runs only; None, either."""
    from advnets.data.registry import load_dataset
    from advnets.evaluation.runs import open_run, refuse_translator, require_translator
    from advnets.runs.rundir import RunDirError

    opened = [open_run(path, require_finished=not args.allow_unfinished) for path in paths]
    for run, config, _ in opened:
        if translators is False:
            refuse_translator(run, config)
        elif translators:
            require_translator(run, config)
        if config.model.family == "mlp-toy":
            raise RunDirError(
                f"{run.path} is a theory-lab run on {config.data.dataset!r} points; evaluate, "
                "figures, report and table1 are for image runs (its pictures come from "
                "`advnets toy`)."
            )
    data_config = opened[0][1].data
    if args.data_dir:
        data_config.data_dir = args.data_dir
    return opened, load_dataset(data_config) if load_data else None


def record(run, name: str, summary: dict, as_json: bool, words: Callable[[dict], str]) -> None:
    """Write what a command found to RUN/<name>.json (atomically) and print it, as JSON or
    in ``words``."""
    from advnets.files import atomic_write_text

    atomic_write_text(run.path / f"{name}.json", json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2) if as_json else words(summary))
