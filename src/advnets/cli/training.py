"""``advnets presets`` and ``advnets train``: a new, resumed, forked or many-seed run, and what
a finished training prints."""

from __future__ import annotations

import argparse
import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from advnets import limits
from advnets.cli.arguments import EPILOG, seed_list, timestamped_out
from advnets.config import (
    ConfigError,
    apply_overrides,
    config_from_dict,
    load_config_source,
    preset_names,
    preset_summary,
)

if TYPE_CHECKING:
    from advnets.config import RunConfig
    from advnets.runs.rundir import RunDir
    from advnets.training.distributed import Processes


def cmd_presets(args: argparse.Namespace) -> int:
    """The shipped presets, one line each."""
    width = max(len(name) for name in preset_names())
    for name in preset_names():
        print(f"{name:<{width}}  {preset_summary(name)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train a new, resumed or forked run (one process or a rank of torchrun's), or many seeds
    together (``--seeds``); print what it reached."""
    from advnets.training import distributed
    from advnets.training.loop import TrainingDiverged, TrainingInterrupted
    from advnets.training.seeds import seeds_of_run

    if args.seeds is not None or (args.resume and args.out and seeds_of_run(args.out)):
        return _train_seeds(args)
    with _training_run(args) as (config, run):
        processes = distributed.start(config.training.device)
        trainer, dataset = _start_trainer(args, config, run, processes)
        try:
            state = trainer.train()
        except (TrainingInterrupted, TrainingDiverged):  # every rank stops at the same step
            trainer.close()
            distributed.stop(processes)
            raise
        trainer.close()
        distributed.stop(processes)
        if processes.is_main:
            _report_training(args, run, dataset, state, trainer.clock.reading()["train_seconds"])
    return 0


@contextlib.contextmanager
def _training_run(args: argparse.Namespace) -> Iterator[tuple[RunConfig, RunDir]]:
    """The resolved config of a training command and its run directory, checked before
    anything is written, and the run's lock, held by rank 0 (the one writer) until the
    command ends. A run to resume is locked before its config is read."""
    from advnets.runs.rundir import RunDir
    from advnets.training.distributed import environment_rank, launched_by_torchrun

    if args.resume and args.fork_from:
        raise ConfigError(
            "--resume continues a run in place; --fork-from starts a new one: choose one."
        )
    writer = environment_rank() == 0  # the other ranks must not look
    with contextlib.ExitStack() as held:
        if args.resume:
            if args.out is None:
                raise ConfigError("--resume needs --out RUN_DIR, the run to continue.")
            run = RunDir(args.out)
            if writer:
                held.enter_context(run.writing("advnets train --resume"))
            config = _resumed_config(args, run)
            run.check_resumable(config)
        else:
            config = _new_config(args)
            if args.out is None and launched_by_torchrun():
                raise ConfigError(
                    "a multi-process run needs --out RUN_DIR, the same for every process."
                )
            if args.fork_from:
                RunDir(args.fork_from).check_forkable(config)
            run = RunDir(_new_out(args))
            if writer:
                held.enter_context(run.writing("advnets train", new=True))
                run.ensure_new()
        yield config, run


def _new_config(args: argparse.Namespace) -> RunConfig:
    """The config of a new run: its preset or YAML file with the command's overrides."""
    if args.config is None:
        raise ConfigError(
            f"give a preset or a config file to train; presets: {', '.join(preset_names())}."
        )
    return config_from_dict(apply_overrides(load_config_source(args.config), _overrides(args)))


def _resumed_config(args: argparse.Namespace, run: RunDir) -> RunConfig:
    """The config a resumed run continues with: its own (or the one given) with the command's
    overrides."""
    base = load_config_source(args.config) if args.config else run.load_config().to_dict()
    return config_from_dict(apply_overrides(base, _overrides(args)))


def _new_out(args: argparse.Namespace) -> Path:
    """A new run's directory: --out, else runs/<preset or config name>-<timestamp>."""
    if args.out is not None:
        return Path(args.out)
    return timestamped_out(Path(args.config).stem)


def _overrides(args: argparse.Namespace) -> list[str]:
    """The settings a training command's options override (--set, --data-dir, --device)."""
    overrides = list(args.set) + ([f"data.data_dir={args.data_dir}"] if args.data_dir else [])
    return overrides + ([f"training.device={args.device}"] if args.device else [])


def _train_seeds(args: argparse.Namespace) -> int:
    """``train --seeds``: one run directory per seed in --out (``seed-N``), the seeds trained
    together (``advnets.training.seeds``); ``--resume --out`` continues them all."""
    from advnets.data.registry import load_dataset
    from advnets.experiments.callbacks import training_callbacks
    from advnets.training.distributed import launched_by_torchrun
    from advnets.training.seeds import ManySeeds

    if launched_by_torchrun():
        raise ConfigError("--seeds trains in one process: start it without torchrun.")
    if args.fork_from:
        raise ConfigError("--seeds starts new runs from scratch: fork one seed at a time.")
    with contextlib.ExitStack() as held:
        out, configs, runs = _seed_runs(args, held)
        dataset = load_dataset(configs[0].data)
        many = ManySeeds(configs, dataset, runs, lambda c: training_callbacks(c, dataset))
        if not args.resume:
            for config, run in zip(configs, runs, strict=True):
                run.create(config, dataset.sha256, dataset.source)
            print(f"training {len(runs)} seeds together into {out}/seed-N")
        elif many.resume()[0] is None:
            print(f"{out} stopped before its first checkpoints: training its seeds from the start")
        else:
            state = many.lead.state if many.active else many.trainers[0].state
            print(f"resuming the {len(runs)} seeds of {out} at epoch {state.epoch}, step "
                  f"{state.g_updates}")  # fmt: skip
        many.train()
        for trainer in many.trainers:
            print(f"seed {trainer.config.seed}: {trainer.run.path}")
            seconds = trainer.clock.reading()["train_seconds"]
            _report_training(args, trainer.run, dataset, trainer.state, seconds)
    return 0


def _seed_runs(args: argparse.Namespace, held: contextlib.ExitStack):
    """The folder of a ``--seeds`` run, each seed's config and its run directory (new, or the
    ones ``--resume`` continues), each locked in ``held`` before its config is read."""
    from advnets.training.seeds import check_supported, seed_config, seed_run, seeds_of_run

    if args.resume:
        if args.seeds is not None:
            raise ConfigError("--resume continues every seed of the run: leave out --seeds.")
        out, seeds = Path(args.out), seeds_of_run(args.out)
        runs = [seed_run(out, seed) for seed in seeds]
        configs = []
        for seed, run in zip(seeds, runs, strict=True):
            held.enter_context(run.writing("advnets train --resume"))
            config = seed_config(_resumed_config(args, run), seed)
            run.check_resumable(config)
            configs.append(config)
        return out, configs, runs
    config = _new_config(args)
    check_supported(config)
    out = _new_out(args)
    runs = [seed_run(out, seed) for seed in args.seeds]
    for run in runs:
        held.enter_context(run.writing("advnets train --seeds", new=True))
        run.ensure_new()
    return out, [seed_config(config, seed) for seed in args.seeds], runs


GPU_RUN_THREADS = 4
"""CPU threads of a process that trains on a GPU when ``training.threads`` is unset.

PyTorch gives every process one intra-op thread per core, and each parallel CPU operation
waits at its end for all of them. Several runs often share one GPU machine (four on 16
cores): their pools then hold several threads per core, every operation waits for threads
that another process has descheduled, and many small operations (KID's, the k-NN's) cost a
scheduler slice each. Measured on a 16-core H200 machine, one validation scored on the CPU
(Parzen, embedding, domain metrics) took 0.8 s alone with 16 threads; four at once with 16
threads each had not finished after 150 s, and with 4 threads each took 1.7-2.0 s. A GPU
run's validation now runs on the GPU (four at once: 0.1-0.2 s with 16 threads, 0.4 s with
4), but its reference is prepared on the CPU and a finished run is scored there. Four
threads keep that work parallel while four runs fit 16 cores. CPU runs keep PyTorch's
default: their threads do the training."""


def cap_gpu_threads(config: RunConfig, processes: Processes) -> None:
    """Limit a GPU run's CPU threads to GPU_RUN_THREADS unless the config sets them."""
    import torch

    if processes.device.type == "cuda" and config.training.threads is None:
        torch.set_num_threads(min(torch.get_num_threads(), GPU_RUN_THREADS))


def _start_trainer(args: argparse.Namespace, config, run, processes):
    """The trainer of a new, resumed or forked run, and its data (as one rank of a
    multi-process run, or alone; rank 0 alone prints and writes)."""
    from advnets.data.registry import load_dataset
    from advnets.experiments.callbacks import training_callbacks
    from advnets.runs.rundir import RunDir
    from advnets.training.loop import Trainer

    cap_gpu_threads(config, processes)
    main = processes.is_main
    say = print if main else (lambda *a, **k: None)
    if not main:
        processes.barrier()  # rank 0 fetches and verifies the data first
    dataset = load_dataset(config.data)
    if main:
        processes.barrier()
    callbacks = training_callbacks(config, dataset) if main else []
    trainer = Trainer(config, dataset, run, processes, callbacks)
    if args.resume and trainer.resume() is None:
        say(f"{run.path} stopped before its first checkpoint: training it from the start")
    elif args.resume:
        say(f"resuming {run.path} at epoch {trainer.state.epoch}, step {trainer.state.g_updates}")
    elif args.fork_from:
        source = trainer.fork(RunDir(args.fork_from))
        if main:
            run.create(config, dataset.sha256, dataset.source, forked_from=str(source))
        say(
            f"training into {run.path}, forked from {source} at epoch {trainer.state.epoch}, "
            f"step {trainer.state.g_updates}"
        )
        note = _fork_learning_rate_note(trainer)
        if note:
            say(note)
    else:
        if main:
            run.create(config, dataset.sha256, dataset.source)
        say(f"training into {run.path}")
    processes.barrier()  # the run directory exists before any rank goes on
    if processes.distributed:
        say(
            f"{processes.world_size} processes on {processes.device.type}, "
            f"{config.training.batch_size // processes.world_size} examples each per minibatch"
        )
    return trainer, dataset


def _fork_learning_rate_note(trainer) -> str | None:
    """A note where a fork's schedule puts the learning rate far (over 5%) from where the
    parent run left it: the decay counts updates from the start of training, so a new
    ``training.lr_decay`` applies as if it had been set from update 0."""
    optimizers = trainer.game.optimizers
    role = "g" if "g" in optimizers else next(iter(optimizers))
    inherited = trainer.current_learning_rate(role)
    scheduled = trainer.scheduled_learning_rate(role)
    if math.isclose(inherited, scheduled, rel_tol=0.05):
        return None
    updates = trainer.state.updates()[role]
    note = (
        f"note: the schedule sets the learning rate to {scheduled:.3g} at update {updates:,}, "
        f"where the forked run left it at {inherited:.3g}: training.lr_decay divides "
        "training.lr once per update since the start of training."
    )
    cfg = trainer.config.training
    if cfg.lr_constant_epochs is None:
        continuing = inherited * cfg.lr_decay**updates
        note += f" To decay from {inherited:.3g} on, set training.lr={continuing:.6g}."
    return note


def _report_training(args: argparse.Namespace, run, dataset, state, seconds: float) -> None:
    """What a finished training prints: how long its training took over all its sittings
    (``seconds``), the test-set scores of image runs in words (``advnets.evaluation.summary``),
    where the pictures are, and the report command."""
    from advnets.evaluation.runs import evaluate_run
    from advnets.evaluation.summary import summarise
    from advnets.models.registry import family

    images = dataset.image_shape is not None and dataset.other is None
    samples = family(run.load_config().model.family).samples  # a context encoder draws none
    minutes, rest = divmod(round(seconds), 60)
    select = run.load_config().evaluation.select
    best = f"Parzen {state.best_valid_ll:.1f} nats"
    if select == "fid":
        best = f"FID {-state.best_valid_ll:.2f}"
    elif select == "reference-ll":
        best = f"reference-monitor Parzen {state.best_valid_ll:.1f} nats"
    print(
        f"finished: {state.epoch} epochs, {state.g_updates} generator updates in "
        f"{minutes} min {rest:02d} s"
        + (f"; best validation {best} at epoch {state.best_epoch}" if images else "")
    )
    if images and samples and not args.no_eval:  # a VAE's likelihood on fewer samples, images
        evaluation = evaluate_run(run, "best", dataset, **TRAIN_END_LIKELIHOOD)
        print("\n".join(summarise(evaluation)))
    if images:
        print(f"samples:  {run.samples / 'latest.png'} (one grid per epoch in {run.samples})")
    if dataset.other is not None:
        print(
            f"translations: {run.samples / 'latest.png'} (validation images, one grid per "
            f"epoch); scores: advnets translate {run.path}"
        )
    print(f"curves:   {run.curves}; all records in {run.metrics}")
    print(f"report:   advnets report {run.path}   (one HTML page with everything)")


# the VAE's likelihood at the end of training: k = 1,000 importance samples for each of the first
#   1,000 test images (24 s on one CPU core); `advnets evaluate` takes 5,000 on all
TRAIN_END_LIKELIHOOD = {"iw_samples": 1000, "iw_images": 1000}


def add_commands(sub) -> None:
    """Add this module's subcommands to ``sub``."""
    _add_presets(sub)
    _add_train(sub)


def _add_presets(sub) -> None:
    """``advnets presets``: its arguments."""
    p = sub.add_parser("presets", help="list the shipped presets, one line each")
    p.set_defaults(func=cmd_presets)


def _add_train(sub) -> None:
    """``advnets train``: its arguments."""
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
        "--device",
        choices=["auto", "cpu", "cuda"],
        help="where to train (training.device): auto picks a CUDA GPU when there is one",
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
    p.add_argument(
        "--seeds",
        type=seed_list,
        metavar="A-B|A,B,...",
        help="train one copy per seed together on one device, each into --out/seed-N, an "
        f"ordinary run directory (e.g. 0-7 or 0,3,5; at most {limits.MAX_SEEDS}; the paper's "
        "mlp-maxout model with the simultaneous update and sgd only)",
    )
    p.set_defaults(func=cmd_train)
