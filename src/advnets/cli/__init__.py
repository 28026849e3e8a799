"""The ``advnets`` command: one parser of subcommands, each dispatched to its module, and every
error turned into one sentence.

The subcommands live by what they do: ``training`` (presets, train), ``sampling`` (sample,
pretrained), ``scoring`` (evaluate, parzen, table1, report, figures, anomaly),
``applications`` (arithmetic, inpaint, infer, semisupervised, translate) and ``lab`` (toy,
explain); ``arguments`` holds the argument types they share and ``given_runs`` how a command
opens and locks the run directories it is given.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
import traceback

from advnets import __version__
from advnets.cli import applications, lab, sampling, scoring, training
from advnets.cli.arguments import EPILOG, Parser
from advnets.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    """The ``advnets`` parser: global options, then each module's subcommands."""
    parser = Parser(
        prog="advnets",
        description="Generative adversarial nets (Goodfellow et al. 2014): "
        "train, sample, evaluate.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"advnets {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log data sources and details")
    parser.add_argument(
        "--debug",
        action="store_true",
        default=os.environ.get("ADVNETS_DEBUG", "") not in ("", "0"),
        help="show the traceback of an error, for a bug report (or set ADVNETS_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (training, sampling, scoring, applications, lab):
        group.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (the command line by default), run the command and return its exit code.
    PyTorch is imported after parsing: --help, --version and usage errors answer at once."""
    args = build_parser().parse_args(argv)
    from advnets.training import distributed

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    code = _run(args)
    distributed.end_process(code)  # a rank of a multi-process run ends here, at once
    return code


def _run(args: argparse.Namespace) -> int:
    """Run the command; turn every error into one line and exit code 2 (130 for an interrupt),
    with the traceback only under --debug."""
    from advnets.data.mnist import DataUnavailableError
    from advnets.files import ShippedFileError
    from advnets.runs.checkpoint import CheckpointError
    from advnets.runs.rundir import RunDirError
    from advnets.training import distributed
    from advnets.training.loop import TrainingDiverged, TrainingInterrupted

    rank = distributed.environment_rank()  # under torchrun: this process's rank
    name = "advnets" if rank == 0 else f"advnets (rank {rank})"
    try:
        return args.func(args)
    except TrainingInterrupted as err:  # every rank stops at the same step: rank 0 reports
        if rank == 0:
            print(f"advnets: {err}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # Ctrl-C outside a training loop: nothing half-written is kept
        if rank == 0:
            print(f"advnets: interrupted ({args.command}); files are written whole or not at all.",
                  file=sys.stderr)  # fmt: skip
        return 130
    except TrainingDiverged as err:
        if rank == 0:
            print(f"advnets: error: {err}", file=sys.stderr)
        return 2
    except (
        ConfigError,
        DataUnavailableError,
        CheckpointError,
        ShippedFileError,
        RunDirError,
        ValueError,
    ) as err:
        return _fail(name, str(err), args.debug)
    except OSError as err:  # a file or folder that cannot be used: name it and say why
        return _fail(name, _os_error_sentence(err), args.debug)
    except Exception as err:  # a bug: one sentence here, the traceback under --debug
        detail = textwrap.shorten(str(err), width=200, placeholder=" ...")
        what = f"{type(err).__name__} ({detail})" if detail else type(err).__name__
        return _fail(
            name,
            f"unexpected {what}; this is a bug: rerun with --debug (or ADVNETS_DEBUG=1) and "
            "report the traceback.",
            args.debug,
        )


def _fail(name: str, message: str, debug: bool) -> int:
    """Print an error in one line, after its traceback under --debug; exit code 2."""
    if debug:
        traceback.print_exc()
    print(f"{name}: error: {message}", file=sys.stderr)
    return 2


def _os_error_sentence(err: OSError) -> str:
    """An OSError as one sentence that names the path and what was wrong with it."""
    reason = err.strerror or str(err)
    if err.filename is None:
        return f"{reason}."
    if isinstance(err, FileExistsError):  # advnets makes folders with exist_ok=True
        reason = "a file stands where a folder is needed"
    path = err.filename if err.filename2 is None else f"{err.filename} -> {err.filename2}"
    return f"cannot use {path}: {reason}."
