"""The ``advnets`` command: subcommands parse their arguments and dispatch, nothing more."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from advnets import __version__
from advnets.config import (
    ConfigError,
    apply_overrides,
    config_from_dict,
    load_config_source,
    preset_names,
    preset_summary,
)

EPILOG = "Presets: " + ", ".join(preset_names()) + ". See `advnets presets`."


def cmd_presets(args: argparse.Namespace) -> int:
    width = max(len(name) for name in preset_names())
    for name in preset_names():
        print(f"{name:<{width}}  {preset_summary(name)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from advnets.data.datasets import load_dataset
    from advnets.evaluation.runs import evaluate_run
    from advnets.training.loop import Trainer
    from advnets.training.rundir import RunDir

    overrides = list(args.set) + ([f"data.data_dir={args.data_dir}"] if args.data_dir else [])
    if args.resume and args.fork_from:
        raise ConfigError(
            "--resume continues a run in place; --fork-from starts a new one: choose one."
        )
    if args.resume:
        if args.out is None:
            raise ConfigError("--resume needs --out RUN_DIR, the run to continue.")
        run = RunDir(args.out)
        base = load_config_source(args.config) if args.config else run.load_config().to_dict()
        config = config_from_dict(apply_overrides(base, overrides))
        run.check_resumable(config)
    else:
        if args.config is None:
            raise ConfigError(
                f"give a preset or a config file to train; presets: {', '.join(preset_names())}."
            )
        config = config_from_dict(apply_overrides(load_config_source(args.config), overrides))
        stem = Path(args.config).stem
        run = RunDir(args.out or Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}")
        run.ensure_new()
        if args.fork_from:
            RunDir(args.fork_from).check_forkable(config)
    dataset = load_dataset(config.data)
    trainer = Trainer(config, dataset, run)
    if args.resume:
        trainer.restore(run.checkpoint("last"))
        run.update_config(config)
        print(f"resuming {run.path} at epoch {trainer.state.epoch}, step {trainer.state.g_updates}")
    elif args.fork_from:
        source = RunDir(args.fork_from).checkpoint("last")
        trainer.restore(source, fork=True)
        run.create(config, dataset.sha256, dataset.source, forked_from=str(source))
        print(
            f"training into {run.path}, forked from {source} at epoch {trainer.state.epoch}, "
            f"step {trainer.state.g_updates}"
        )
    else:
        run.create(config, dataset.sha256, dataset.source)
        print(f"training into {run.path}")
    state = trainer.train()
    print(
        f"finished: {state.epoch} epochs, {state.g_updates} generator updates; best validation "
        f"Parzen {state.best_valid_ll:.1f} nats at epoch {state.best_epoch}"
    )
    if not args.no_eval:
        result = evaluate_run(run, "best", dataset)
        print(
            f"test Parzen log-likelihood (best checkpoint): {result.test_ll:.1f} "
            f"+- {result.test_se:.1f} nats (sigma {result.sigma:.3f}); paper: 225 +- 2"
        )
    print(f"run directory: {run.path} (samples/latest.png, curves.png, metrics.jsonl)")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from advnets.evaluation.runs import load_generator
    from advnets.figures.grid import save_grid
    from advnets.files import atomic_write_bytes
    from advnets.sampling import generate
    from advnets.training.rundir import RunDir

    if args.n < 1:
        raise ConfigError(f"-n must be >= 1, got {args.n}.")
    generator, _, _ = load_generator(RunDir(args.run_dir), args.checkpoint)
    samples = generate(generator, args.n, args.seed).numpy().astype(np.float32)
    out = Path(args.output)
    if out.suffix == ".npy":
        import io

        buffer = io.BytesIO()
        np.save(buffer, samples, allow_pickle=False)
        atomic_write_bytes(out, buffer.getvalue())
    elif out.suffix == ".png":
        side = int(np.sqrt(samples.shape[1]))
        save_grid(out, samples, (side, side), scale=args.scale)
    else:
        raise ConfigError(f"-o must end in .npy or .png, got '{out.name}'.")
    print(f"wrote {args.n} samples to {out}")
    return 0


def _print_parzen(result, as_json: bool, extra: dict | None = None) -> None:
    if as_json:
        print(json.dumps({**result.to_dict(), **(extra or {})}, indent=2))
    else:
        print(
            f"Parzen log-likelihood: {result.test_ll:.2f} +- {result.test_se:.2f} nats "
            f"(sigma {result.sigma:.4f}, {result.n_samples} samples, {result.n_test} test "
            f"images, {result.seconds:.1f} s); paper: adversarial nets 225 +- 2"
        )


def cmd_evaluate(args: argparse.Namespace) -> int:
    from advnets.data.datasets import load_dataset
    from advnets.evaluation.runs import evaluate_run
    from advnets.training.rundir import RunDir

    run = RunDir(args.run_dir)
    config = run.load_config()
    if args.data_dir:
        config.data.data_dir = args.data_dir
    result = evaluate_run(run, args.checkpoint, load_dataset(config.data))
    _print_parzen(result, args.json, {"checkpoint": args.checkpoint})
    return 0


def cmd_parzen(args: argparse.Namespace) -> int:
    from advnets.config import DataConfig
    from advnets.data.datasets import load_dataset
    from advnets.evaluation.parzen import validate_samples
    from advnets.evaluation.runs import score_samples

    path = Path(args.samples)
    if not path.is_file():
        raise ConfigError(f"{path} does not exist.")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise ConfigError(
            f"{path} is not a plain .npy array (pickled files are refused): {err}"
        ) from err
    dataset = load_dataset(DataConfig(data_dir=args.data_dir))
    samples = validate_samples(array, dim=dataset.dim, name=str(path))
    _print_parzen(score_samples(samples, dataset), args.json, {"file": str(path)})
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advnets",
        description="Generative adversarial nets (Goodfellow et al. 2014): "
        "train, sample, evaluate.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"advnets {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log data sources and details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("presets", help="list the shipped presets, one line each")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("train", help="train a GAN from a preset or a YAML config", epilog=EPILOG)
    p.add_argument(
        "config",
        nargs="?",
        metavar="PRESET|CONFIG.yaml",
        help="a preset name or a YAML file (optional with --resume: the run's own)",
    )
    p.add_argument(
        "--out", metavar="RUN_DIR", help="run directory (default: runs/<preset>-<timestamp>)"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. --set training.epochs=10 (repeatable)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last checkpoint, exactly",
    )
    p.add_argument(
        "--fork-from",
        metavar="RUN_DIR",
        help="start a new run from the last checkpoint of RUN_DIR (weights, optimiser state, "
        "step counts) with this config's training settings, e.g. another learning-rate schedule",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="dataset cache directory (default: $ADVNETS_DATA_DIR or ~/.cache/advnets)",
    )
    p.add_argument(
        "--no-eval",
        action="store_true",
        help="skip the final test-set Parzen evaluation of the best checkpoint",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sample", help="draw samples from a trained run")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("-n", type=int, default=100, help="number of samples (default 100)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.npy|OUT.png",
        help=".npy: float32 N x D in [0, 1]; .png: a grid",
    )
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument(
        "--checkpoint",
        default="best",
        choices=["best", "last"],
        help="which checkpoint (default best)",
    )
    p.add_argument("--scale", type=int, default=2, help="png: pixel enlargement (default 2)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("evaluate", help="the paper's Parzen protocol on a run's best checkpoint")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.add_argument("--data-dir", metavar="DIR", help="dataset cache directory")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "parzen", help="score any N x 784 .npy sample file with the paper's protocol"
    )
    p.add_argument(
        "samples", metavar="SAMPLES.npy", help="float array N x 784 with values in [0, 1]"
    )
    p.add_argument(
        "--json", action="store_true", help="print a JSON object (test_ll, test_se, sigma)"
    )
    p.add_argument("--data-dir", metavar="DIR", help="dataset cache directory")
    p.set_defaults(func=cmd_parzen)
    return parser


def main(argv: list[str] | None = None) -> int:
    from advnets.data.mnist import DataUnavailableError
    from advnets.training.checkpoint import CheckpointError
    from advnets.training.loop import TrainingDiverged, TrainingInterrupted
    from advnets.training.rundir import RunDirError

    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except TrainingInterrupted as err:
        print(f"advnets: {err}", file=sys.stderr)
        return 130
    except (
        ConfigError,
        DataUnavailableError,
        CheckpointError,
        RunDirError,
        TrainingDiverged,
        ValueError,
    ) as err:
        print(f"advnets: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
