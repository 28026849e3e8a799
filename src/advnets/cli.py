"""The ``advnets`` command: subcommands parse their arguments and dispatch, nothing more."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import math
import os
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np

from advnets import __version__, limits
from advnets.config import (
    REMEDIES,
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

EPILOG = "Presets: " + ", ".join(preset_names()) + ". See `advnets presets`."


def cmd_presets(args: argparse.Namespace) -> int:
    width = max(len(name) for name in preset_names())
    for name in preset_names():
        print(f"{name:<{width}}  {preset_summary(name)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from advnets.training import distributed
    from advnets.training.loop import TrainingDiverged, TrainingInterrupted
    from advnets.training.seeds import seeds_of_run

    if args.seeds is not None or (args.resume and args.out and seeds_of_run(args.out)):
        return _train_seeds(args)
    started = time.perf_counter()
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
            _report_training(args, run, dataset, state, time.perf_counter() - started)
    return 0


@contextlib.contextmanager
def _training_run(args: argparse.Namespace) -> Iterator[tuple[RunConfig, RunDir]]:
    """The resolved config of a training command and its run directory, checked before
    anything is written, and the run's lock, held by rank 0 (the one writer) until the
    command ends. A run to resume is locked before its config is read."""
    from advnets.runs.rundir import RunDir
    from advnets.training.distributed import environment_rank, launched_by_torchrun

    overrides = _overrides(args)
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
            base = load_config_source(args.config) if args.config else run.load_config().to_dict()
            config = config_from_dict(apply_overrides(base, overrides))
            run.check_resumable(config)
        else:
            if args.config is None:
                raise ConfigError(
                    f"give a preset or a config file to train; presets: "
                    f"{', '.join(preset_names())}."
                )
            config = config_from_dict(apply_overrides(load_config_source(args.config), overrides))
            if args.out is None and launched_by_torchrun():
                raise ConfigError(
                    "a multi-process run needs --out RUN_DIR, the same for every process."
                )
            if args.fork_from:
                RunDir(args.fork_from).check_forkable(config)
            stem = Path(args.config).stem
            run = RunDir(args.out or Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}")
            if writer:
                held.enter_context(run.writing("advnets train", new=True))
                run.ensure_new()
        yield config, run


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
    from advnets.training.seeds import (
        ManySeeds,
        check_supported,
        seed_config,
        seed_run,
        seeds_of_run,
    )

    if launched_by_torchrun():
        raise ConfigError("--seeds trains in one process: start it without torchrun.")
    if args.fork_from:
        raise ConfigError("--seeds starts new runs from scratch: fork one seed at a time.")
    started = time.perf_counter()
    with contextlib.ExitStack() as held:
        if args.resume:
            if args.seeds is not None:
                raise ConfigError("--resume continues every seed of the run: leave out --seeds.")
            out, seeds = Path(args.out), seeds_of_run(args.out)
            runs = [seed_run(out, seed) for seed in seeds]
            configs = []
            for seed, run in zip(seeds, runs, strict=True):
                held.enter_context(run.writing("advnets train --resume"))
                base = (
                    load_config_source(args.config) if args.config else run.load_config().to_dict()
                )
                config = seed_config(
                    config_from_dict(apply_overrides(base, _overrides(args))), seed
                )
                run.check_resumable(config)
                configs.append(config)
        else:
            if args.config is None:
                raise ConfigError(
                    f"give a preset or a config file to train; presets: "
                    f"{', '.join(preset_names())}."
                )
            config = config_from_dict(
                apply_overrides(load_config_source(args.config), _overrides(args))
            )
            check_supported(config)
            stem = Path(args.config).stem
            out = Path(args.out or f"runs/{stem}-{time.strftime('%Y%m%d-%H%M%S')}")
            seeds = args.seeds
            runs = [seed_run(out, seed) for seed in seeds]
            for run in runs:
                held.enter_context(run.writing("advnets train --seeds", new=True))
                run.ensure_new()
            configs = [seed_config(config, seed) for seed in seeds]
        dataset = load_dataset(configs[0].data)
        many = ManySeeds(configs, dataset, runs, lambda c: training_callbacks(c, dataset))
        if not args.resume:
            for config, run in zip(configs, runs, strict=True):
                run.create(config, dataset.sha256, dataset.source)
            print(f"training {len(seeds)} seeds together into {out}/seed-N")
        elif many.resume()[0] is None:
            print(f"{out} stopped before its first checkpoints: training its seeds from the start")
        else:
            state = many.lead.state if many.active else many.trainers[0].state
            print(f"resuming the {len(seeds)} seeds of {out} at epoch {state.epoch}, step "
                  f"{state.g_updates}")  # fmt: skip
        many.train()
        seconds = time.perf_counter() - started
        for trainer in many.trainers:
            print(f"seed {trainer.config.seed}: {trainer.run.path}")
            _report_training(args, trainer.run, dataset, trainer.state, seconds)
    return 0


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


def _cap_gpu_threads(config: RunConfig, processes: Processes) -> None:
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

    _cap_gpu_threads(config, processes)
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
    """What a finished training prints: how long it took, the test-set scores of image runs
    in words (``advnets.evaluation.summary``), where the pictures are, and the report command."""
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


def _print_parzen(result, as_json: bool, extra: dict | None = None) -> None:
    if as_json:
        print(json.dumps({**result.to_dict(), **(extra or {})}, indent=2))
    else:
        print(
            f"Parzen log-likelihood: {result.test_ll:.2f} +- {result.test_se:.2f} nats "
            f"(sigma {result.sigma:.4f}, {result.n_samples} samples, {result.n_test} test "
            f"images, {result.seconds:.1f} s); paper: adversarial nets 225 +- 2"
        )


def _print_evaluation(evaluation: dict) -> None:
    """The test-set scores of a run's checkpoint, one line each."""
    from advnets.evaluation.summary import class_accuracy_line, likelihood_line, paper_parzen

    parzen, memo = evaluation["parzen"], evaluation["memorisation"]
    paper = paper_parzen(evaluation)
    print(
        f"test Parzen log-likelihood ({evaluation['checkpoint']} checkpoint, epoch "
        f"{evaluation['epoch']}): {parzen['test_ll']:.1f} +- {parzen['test_se']:.1f} nats "
        f"(sigma {parzen['sigma']:.3f})" + (f"; paper: {paper}" if paper else "")
    )
    domain = evaluation["domain"]
    if domain:
        print(
            f"domain metrics vs test images: FID {domain['fid']:.2f}, KID "
            f"{1e3 * domain['kid']:.2f}e-3, IS {domain['inception_score']:.2f}, precision "
            f"{domain['precision']:.3f}, recall {domain['recall']:.3f}, density "
            f"{domain['density']:.3f}, coverage {domain['coverage']:.3f}, classes "
            f"{domain['classes_covered']}/10 (KL to uniform {domain['class_kl']:.3f})"
        )
    if evaluation.get("conditional"):
        print(class_accuracy_line(evaluation["conditional"]))
    elif evaluation.get("domain_unavailable"):
        print(f"no domain metrics: {evaluation['domain_unavailable']}")
    print(
        f"memorisation: {memo['fraction_below_test_p1']:.1%} of samples are closer to the "
        "training set than the 1st percentile of test images (about 1% without copying)"
    )
    line = likelihood_line(evaluation)
    if line:
        print(line.strip())


def _writes_into_runs(command: Callable[[argparse.Namespace], int]):
    """A command that writes into the runs it is given (``run_dir`` or ``run_dirs``): it
    holds their locks while it runs, taken before any of its checks."""
    from advnets.runs.rundir import RunDir

    @functools.wraps(command)
    def holding_locks(args: argparse.Namespace) -> int:
        paths = args.run_dirs if hasattr(args, "run_dirs") else [args.run_dir]
        paths = [path for path in paths if path is not None]  # none: a shipped generator's
        with contextlib.ExitStack() as held:
            for path in {Path(p).resolve(): p for p in paths}.values():  # each run once
                held.enter_context(RunDir(path).writing(f"advnets {args.command}"))
            return command(args)

    return holding_locks


def _open_runs(
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


@_writes_into_runs
def cmd_evaluate(args: argparse.Namespace) -> int:
    from advnets.evaluation.runs import evaluate_run

    [(run, _, _)], dataset = _open_runs([args.run_dir], args)
    evaluation = evaluate_run(
        run, args.checkpoint, dataset, iw_samples=args.iw_samples, iw_images=args.iw_images
    )
    if args.json:
        print(json.dumps(evaluation, indent=2))
    else:
        _print_evaluation(evaluation)
    return 0


@_writes_into_runs
def cmd_anomaly(args: argparse.Namespace) -> int:
    from advnets.evaluation.anomaly import run_anomaly
    from advnets.figures.anomaly import save_reconstructions

    [(run, _, _)], _ = _open_runs([args.run_dir], args, load_data=False)
    if args.against is not None and args.held_out is not None:
        raise ConfigError("--class and --against are two protocols: give one of them.")
    record, autoencoder, images, image_shape = run_anomaly(
        run, args.checkpoint, args.held_out, args.data_dir, args.against
    )
    name = "anomaly" if args.against is None else f"anomaly-{record['against']}"
    picture = save_reconstructions(
        run.figures / f"{name}.png",
        autoencoder,
        images,
        record["best"],
        record["worst"],
        image_shape,
    )
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    without = record["trained_without"]
    trained = "trained on every class" if without is None else f"trained without class {without}"
    if args.against is None:
        anomaly = f"class {record['held_out']} ({record['n_anomalous']} test images)"
        normal = f"the other {record['n_normal']}"
    else:
        anomaly = f"{record['n_anomalous']} test images of {args.against}"
        normal = f"{record['n_normal']} {record['dataset']} test images"
    print(
        f"AUROC {record['auroc']:.4f}: {anomaly} against {normal}, by reconstruction error "
        f"(mean {record['mean_anomalous']:.1f} vs {record['mean_normal']:.1f}; "
        f"{record['checkpoint']} checkpoint, epoch {record['epoch']}, {trained})"
    )
    for name, value in (record["auroc_by_class"] or {}).items():
        print(f"  {name}: AUROC {value:.4f}")
    print(f"best and worst reconstructions: {picture}")
    return 0


@_writes_into_runs
def cmd_figures(args: argparse.Namespace) -> int:
    from advnets.figures.run_figures import Drawing, paper_figures, write_figures

    drawing = Drawing(
        args.rows, args.columns, args.steps, args.spherical, not args.no_gif, args.seed
    )
    if args.pretrained is not None:
        from advnets.config import DataConfig
        from advnets.data.registry import load_dataset
        from advnets.evaluation.pretrained import load_pretrained

        generator, _ = load_pretrained(args.pretrained)
        folder = Path(args.out or f"figures-{args.pretrained}")
        dataset = load_dataset(DataConfig(data_dir=args.data_dir))
        paths = paper_figures(generator, dataset, folder, drawing)
    else:
        [(run, _, _)], dataset = _open_runs([args.run_dir], args)
        paths = write_figures(run, dataset, drawing)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def cmd_pretrained(args: argparse.Namespace) -> int:
    from advnets.evaluation.pretrained import SHIPPED, card, describe

    if args.json:
        print(json.dumps({name: card(name) for name in SHIPPED}, indent=2))
    else:
        for name in SHIPPED:
            print(describe(name))
    return 0


@_writes_into_runs
def cmd_report(args: argparse.Namespace) -> int:
    from advnets.evaluation.runs import ceiling_scores, ensure_evaluation
    from advnets.evaluation.translation import current_translation
    from advnets.figures.report import write_report, write_translation_report
    from advnets.figures.run_figures import write_figures

    [(run, _, _)], dataset = _open_runs([args.run_dir], args, translators=None)
    if dataset.other is not None:  # CycleGAN's: its translations, not samples
        summary = current_translation(run) or _translate(run, dataset)
        print(f"wrote {write_translation_report(run, summary)}")
        return 0
    evaluation = ensure_evaluation(run, dataset)
    figures = write_figures(run, dataset)
    reference = None if args.no_ceiling else ceiling_scores(dataset)
    print(f"wrote {write_report(run, evaluation, figures, reference)}")
    return 0


def _recipe_names(opened: list, shipped: list[str]) -> list[str]:
    """Each row's recipe for Table 1's means: a shipped generator its own; a run (as
    _open_runs gives it) its model family where every family has one recipe and nothing is
    shipped, else the names of the runs that share its settings up to the seed."""
    from advnets.runs.rundir import recipe

    keys = [recipe(config) for _, config, _ in opened]
    families = [config.model.family for _, config, _ in opened]
    if len(set(keys)) == len(set(families)) and not shipped:
        return families
    members: dict[str, list[str]] = {}
    for key, (run, _, _) in zip(keys, opened, strict=True):
        members.setdefault(key, []).append(run.path.name)
    return [", ".join(members[key]) for key in keys] + [f"shipped {name}" for name in shipped]


@_writes_into_runs
def cmd_table1(args: argparse.Namespace) -> int:
    from advnets.config import DataConfig
    from advnets.data.registry import load_dataset
    from advnets.evaluation import pretrained
    from advnets.evaluation.runs import ceiling_scores, ensure_evaluation
    from advnets.evaluation.table1 import table1_rows, to_csv, to_markdown
    from advnets.files import atomic_write_text
    from advnets.runs.rundir import RunDirError

    shipped = args.pretrained or []
    if not args.run_dirs and not shipped:
        raise ConfigError("table1 needs run directories, --pretrained NAME, or both.")
    for name in shipped:
        pretrained.shipped(name)  # an unknown name: one sentence, before any work
    if args.run_dirs:
        opened, dataset = _open_runs(args.run_dirs, args)
    else:
        opened, dataset = [], load_dataset(DataConfig(data_dir=args.data_dir))
    for run, config, _ in opened:
        if config.data.dataset != "mnist":
            raise RunDirError(
                f"Table 1's MNIST row needs MNIST runs; {run.path} was trained on "
                f"{config.data.dataset!r}."
            )
    runs = []
    for run, config, _ in opened:
        evaluation = ensure_evaluation(run, dataset)
        label = f"advnets {run.path.name} (seed {config.seed}, epoch {evaluation['epoch']})"
        runs.append((label, evaluation))
    for name in shipped:  # the card holds the same test scores as a run's evaluation
        card = pretrained.card(name)
        made = f"{card['preset']}, seed {card['seed']}, epoch {card['epoch']}"
        label = f"advnets {name}, shipped ({made})"
        scores = {key: card[key] for key in ("parzen", "domain", "memorisation")}
        runs.append((label, {"family": card["model"]["family"], **scores}))
    recipes = _recipe_names(opened, shipped)
    rows = table1_rows(runs, None if args.no_ceiling else ceiling_scores(dataset), recipes)
    print(to_csv(rows) if args.format == "csv" else to_markdown(rows), end="")
    if args.csv:
        atomic_write_text(args.csv, to_csv(rows))
    if args.markdown:
        atomic_write_text(args.markdown, to_markdown(rows))
    return 0


def cmd_parzen(args: argparse.Namespace) -> int:
    from advnets.arrays import read_npy
    from advnets.config import DataConfig
    from advnets.data.registry import load_dataset
    from advnets.evaluation.parzen import validate_samples
    from advnets.evaluation.runs import score_samples

    path = Path(args.samples)
    if not path.is_file():
        raise ConfigError(f"{path} does not exist.")
    array = read_npy(path)
    dataset = load_dataset(DataConfig(data_dir=args.data_dir))
    samples = validate_samples(array, dim=dataset.dim, name=str(path))
    _print_parzen(score_samples(samples, dataset), args.json, {"file": str(path)})
    return 0


def cmd_toy(args: argparse.Namespace) -> int:
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
    out = args.out or Path("runs") / f"toy-{args.experiment}-{time.strftime('%Y%m%d-%H%M%S')}"
    if args.experiment == "divergences":
        return _toy_divergences(args, out)
    if args.samples is not None:
        raise ValueError(f"--samples is an option of `toy divergences`, not of {args.experiment}.")
    two_d = args.experiment in ("ring", "grid")
    for flag in ("remedy", "preset"):
        if getattr(args, flag) is not None and not two_d:
            raise ValueError(f"--{flag} is an option of `toy ring` and `toy grid`.")
    if args.experiment == "saturation":
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
    from advnets.experiments import lab

    trained = ("mixture", "loss", "k", "lr", "epochs")
    given = [f"--{flag}" for flag in trained if getattr(args, flag) not in (None, False)]
    if given or args.set:
        options = ", ".join(given + ["--set"] * bool(args.set))
        raise ValueError(f"toy divergences trains nothing: {options} do not apply to it.")
    samples = lab.DIVERGENCE_SAMPLES if args.samples is None else args.samples
    summary = lab.run_divergences(out, samples, args.seed or 0)
    print(json.dumps(summary, indent=2) if args.json else lab.describe_divergences(summary))
    return 0


def _print_toy(summary: dict) -> None:
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
            f"covered, {summary['high_quality_fraction']:.1%} high-quality samples, mode KL "
            f"{summary['mode_kl']:.3f}\nfigures: {summary['run_dir']}/figures "
            "(coverage.png, coverage.gif)"
        )


@_writes_into_runs
def cmd_arithmetic(args: argparse.Namespace) -> int:
    """Latent arithmetic (advnets.evaluation.arithmetic) on an unconditional run; the style
    analogy (one z, every class) on a conditional one. Writes RUN/arithmetic.json and
    RUN/figures/arithmetic.png."""
    from advnets.data.registry import data_image_shape
    from advnets.evaluation import arithmetic
    from advnets.evaluation.runs import load_generator
    from advnets.figures.grid import save_grid
    from advnets.runs.rundir import RunDir
    from advnets.sampling import generate_by_class

    run = RunDir(args.run_dir)
    generator, config, _ = load_generator(run, "best")
    run.figures.mkdir(exist_ok=True)
    out, shape = run.figures / "arithmetic.png", data_image_shape(config.data)
    if getattr(generator, "num_classes", 0):  # the style analogy: fix z, change y
        images = generate_by_class(generator, args.rows, args.seed)
        save_grid(out, images.numpy(), shape, generator.num_classes, scale=3)
        summary = {"kind": "style analogy", "rows": args.rows, "classes": generator.num_classes}
    else:
        if config.data.dataset != "mnist":  # no classes: bright - dark, on any images
            found = arithmetic.attribute_shift(generator, args.samples, args.seed)
            print(
                f"{args.run_dir} was trained on {config.data.dataset}: no classifier reads its "
                "images, so the samples are grouped by brightness alone, not by class and "
                f"{args.attribute}."
            )
        else:
            first, second = args.digits
            found = arithmetic.latent_arithmetic(
                generator, args.attribute, first, second, args.samples, args.seed
            )
        cells, columns = arithmetic.figure_rows(found)
        save_grid(out, cells.numpy(), shape, columns, scale=3)
        summary = {"kind": "latent arithmetic", **found["summary"]}
    _record(run, "arithmetic", summary, args.json, _arithmetic_words)
    print(f"figure: {out}")
    return 0


def _arithmetic_words(summary: dict) -> str:
    """What advnets arithmetic found, in a few lines."""
    if summary["kind"] == "style analogy":
        return (
            f"style analogy: {summary['rows']} noise vectors (rows), each decoded as every one "
            f"of the {summary['classes']} classes (columns)"
        )
    if summary["attribute"] == "brightness":
        return (
            f"{summary['equation']} (group means of {summary['samples']:,} samples; rows of "
            "the figure: z, z plus, z minus):\n"
            f"  brightness of the groups' samples: {summary['group_attribute'][0]:.3f} "
            f"(brightest quarter), {summary['group_attribute'][1]:.3f} (darkest)\n"
            f"  brightness of the results: {summary['base_attribute']:.3f} (z), "
            f"{summary['plus_attribute']:.3f} (plus; {summary['share_brighter']:.0%} brighter), "
            f"{summary['minus_attribute']:.3f} (minus; {summary['share_darker']:.0%} darker)"
        )
    low, high = min(summary["group_attribute"]), max(summary["group_attribute"])
    return (
        f"{summary['equation']} (group means of {summary['samples']:,} samples):\n"
        f"  {summary['attribute']} of the groups' samples: "
        + ", ".join(f"{v:.3f}" for v in summary["group_attribute"])
        + f" (range {low:.3f} .. {high:.3f})\n"
        f"  {summary['attribute']} of the results: {summary['result_attribute']:.3f}; "
        f"classes read: {summary['result_classes']} "
        f"({summary['result_share_of_second_class']:.0%} the intended class)"
    )


def _unconditional_players(path: str, needs: str):
    """The run at ``path``, its best G and D and its config, refused in one sentence (saying
    what the command ``needs``) for a family without a D of images alone or a conditional
    one."""
    from advnets.evaluation.runs import load_players
    from advnets.models.registry import family
    from advnets.runs.rundir import RunDir

    run = RunDir(path)
    generator, discriminator, config, _ = load_players(run, "best")
    if discriminator is None or getattr(generator, "num_classes", 0):
        kind = "has no discriminator" if discriminator is None else "is conditional"
        raise ConfigError(f"{path} ({config.model.family}) {kind}: {needs}.")
    if family(config.model.family).encoder is not None:
        raise ConfigError(f"{path} ({config.model.family}) has a D of pairs (x, z): {needs}.")
    return run, generator, discriminator, config


@_writes_into_runs
def cmd_inpaint(args: argparse.Namespace) -> int:
    """Complete test images with a hidden region by the simple fills and by the run's method:
    G's latent search for a GAN run, the network for a context-encoder run, and the method of
    the ``--compare`` run beside it (advnets.evaluation.inpainting); writes RUN/inpaint.json
    and RUN/figures/inpaint.png."""
    from advnets.data.registry import load_dataset
    from advnets.evaluation import inpainting
    from advnets.figures.grid import save_grid

    paths = [args.run_dir, *([args.compare] if args.compare else [])]
    found = [_inpainting_method(path, args) for path in paths]
    (run, config, _), methods = found[0], {name: method for _, _, (name, method) in found}
    if len(methods) < len(found):
        raise ConfigError(
            f"--compare {args.compare} completes images as {args.run_dir} does; compare a "
            "context-encoder run with a GAN run."
        )
    if any(other.data != config.data for _, other, _ in found[1:]):
        raise ConfigError(
            f"--compare {args.compare} was trained on other data than {args.run_dir}."
        )
    dataset = load_dataset(config.data)
    if dataset.image_shape is None:
        raise ConfigError(f"{args.run_dir} was trained on points, not images: nothing to inpaint.")
    hidden = inpainting.make_mask(args.mask, dataset.image_shape[-1], args.seed)
    scores, rows = inpainting.inpaint_test_images(methods, dataset, hidden, args.n)
    run.figures.mkdir(exist_ok=True)
    out = save_grid(
        run.figures / "inpaint.png", rows.numpy(), dataset.image_shape, min(10, args.n), scale=3
    )
    summary = {
        "mask": args.mask,
        "images": args.n,
        "runs": {name: str(path) for path, (_, _, (name, _)) in zip(paths, found, strict=True)},
        "scores": scores,
    }
    if inpainting.LATENT_SEARCH in methods:
        summary.update(restarts=args.restarts, steps=args.steps)
    _record(run, "inpaint", summary, args.json, _inpainting_words)
    shown = ", ".join(name for name in scores if name not in ("masked", "original"))
    print(f"figure: {out} (rows: masked, {shown}, original)")
    return 0


def _inference_methods(path: str, requested: str | None) -> list[str]:
    """The ways ``advnets infer`` finds codes on the run at ``path`` (both where it learned an
    encoder, else the latent search), read from its config before any work; refused in one
    sentence for a run whose G has no codes to infer or a method it lacks."""
    from advnets.config import AUTOENCODER_FAMILIES
    from advnets.models.registry import family
    from advnets.runs.rundir import RunDir

    name = RunDir(path).load_config().model.family
    chosen = family(name)
    if name in AUTOENCODER_FAMILIES:
        raise ConfigError(
            f"{path} is a {name} run: its own encoder reconstructs (advnets anomaly scores it); "
            "infer finds the codes of a GAN's G."
        )
    if name == "mlp-toy":
        raise ConfigError(f"{path} is a theory-lab run on points: infer finds codes of images.")
    if chosen.game in ("conditional", "auxiliary-classifier"):
        raise ConfigError(
            f"{path} ({name}) is conditional: its G needs a class beside each code; infer finds "
            "the codes of an unconditional G."
        )
    available = ["encoder", "optimisation"] if chosen.encoder else ["optimisation"]
    wanted = {None: available, "both": ["encoder", "optimisation"]}.get(requested, [requested])
    if "encoder" in wanted and chosen.encoder is None:
        raise ConfigError(
            f"{path} ({name}) learned no encoder (the bigan family does): use "
            "--method optimisation to invert its G by latent search."
        )
    return wanted


@_writes_into_runs
def cmd_infer(args: argparse.Namespace) -> int:
    """Codes of test images by the run's encoder and by searching G's latent space, their
    reconstructions and the encoder's features (advnets.evaluation.inference); writes
    RUN/infer.json and RUN/figures/infer.png."""
    from advnets.data.registry import load_dataset
    from advnets.evaluation import inference
    from advnets.evaluation.latent_search import SearchSettings
    from advnets.evaluation.runs import load_encoder, load_generator
    from advnets.figures.grid import save_grid
    from advnets.runs.rundir import RunDir

    methods = _inference_methods(args.run_dir, args.method)
    run = RunDir(args.run_dir)
    generator, config, meta = load_generator(run, "best")
    encoder = load_encoder(run, "best")
    dataset = load_dataset(config.data)
    settings = SearchSettings(args.restarts, args.steps)
    scores, rows = inference.reconstruction_scores(
        methods, generator, encoder, dataset, args.n, settings, args.seed
    )
    summary = {
        "checkpoint": meta["checkpoint"],
        "images": min(args.n, len(dataset.test)),
        "restarts": args.restarts,
        "steps": args.steps,
        "reconstruction": scores,
    }
    if "encoder" in methods and dataset.labels is not None:
        summary["features"] = inference.feature_scores(encoder, dataset, args.labelled)
    run.figures.mkdir(exist_ok=True)
    out = save_grid(
        run.figures / "infer.png", rows.numpy(), dataset.image_shape, min(10, args.n), scale=3
    )
    _record(run, "infer", summary, args.json, _inference_words)
    print(f"figure: {out} (rows: originals, then G(z) of {', '.join(methods)})")
    return 0


def _inference_words(summary: dict) -> str:
    lines = [f"{summary['images']} test images reconstructed as G(z):"]
    for name, score in summary["reconstruction"].items():
        parts = [f"pixel MSE {score['mse']:.4f}"] if "mse" in score else []
        if "classifier_accuracy" in score:
            parts.append(f"classifier accuracy {score['classifier_accuracy']:.3f}")
        if "seconds" in score:
            parts.append(f"{score['seconds']:.3f} s")
        lines.append(f"  {name}: " + ", ".join(parts))
    if "features" in summary:
        features = summary["features"]
        lines.append(
            f"features, {features['labelled_train_images']:,} labelled training images, "
            f"{features['test_images']:,} test images:"
        )
        for name, score in features["scores"].items():
            lines.append(
                f"  {name}: 1-NN accuracy {score['nearest_neighbour_accuracy']:.3f}, "
                f"linear probe {score['linear_probe_accuracy']:.3f}"
            )
    return "\n".join(lines)


def _inpainting_method(path: str, args: argparse.Namespace):
    """The run at ``path``, its config, and its completion method by name: the context
    encoder's network, or G's latent search judged by D (refused, before any work, where D
    takes the search's images in groups that -n x --restarts do not fill)."""
    from advnets.evaluation import inpainting
    from advnets.models.context_encoder import CompletionSampler
    from advnets.models.ssgan import SemiSupervisedDiscriminator

    run, generator, discriminator, config = _unconditional_players(
        path, "inpainting searches the codes of an unconditional G, judged by its D"
    )
    if isinstance(generator, CompletionSampler):
        return run, config, (inpainting.CONTEXT_ENCODER, inpainting.context_encoder(generator.net))
    if isinstance(discriminator, SemiSupervisedDiscriminator):
        raise ConfigError(
            f"{path} ({config.model.family}) has a K+1-class D, not one logit of real "
            "or fake: inpainting's search needs the paper's D."
        )
    _check_minibatch_groups(
        discriminator,
        args.n * args.restarts,
        f"-n {args.n} x --restarts {args.restarts} = {args.n * args.restarts} images",
        "choose -n and --restarts whose product is a multiple of {group} (e.g. --restarts {group})",
    )
    settings = inpainting.SearchSettings(args.restarts, args.steps)
    method = inpainting.latent_search(generator, discriminator, settings, args.seed)
    return run, config, (inpainting.LATENT_SEARCH, method)


def _check_minibatch_groups(discriminator, rows: int, what: str, remedy: str) -> None:
    """Refuse, in one sentence naming the option to change (``remedy``, with ``{group}`` for
    the group's size), a batch of ``rows`` images for a D that compares groups of samples
    (model.discriminator_minibatch_std) it does not fill."""
    group = getattr(discriminator, "minibatch_std", 0)
    if group and rows % group:
        raise ConfigError(
            f"{what} go through D at once, but this run's D compares groups of {group} "
            f"(model.discriminator_minibatch_std = {group}): {remedy.format(group=group)}."
        )


@_writes_into_runs
def cmd_semisupervised(args: argparse.Namespace) -> int:
    """A linear classifier on D's features from a few labels, against pixels and a network
    trained on the labels alone (advnets.evaluation.semisupervised); semisupervised.json."""
    from advnets.data.registry import load_dataset
    from advnets.evaluation.semisupervised import classifier_error, semi_supervised_scores
    from advnets.models.ssgan import SemiSupervisedDiscriminator

    run, _, discriminator, config = _unconditional_players(
        args.run_dir, "the features must come from a D that learned without labels"
    )
    dataset = load_dataset(config.data)
    if dataset.labels is None:
        raise ConfigError(f"{config.data.dataset} has no labels to learn classes from.")
    classes = len(dataset.labels.class_names)
    _check_minibatch_groups(
        discriminator,
        args.per_class * classes,
        f"--per-class {args.per_class} gives {args.per_class * classes} labelled images, which",
        f"choose --per-class so that {classes} x it is a multiple of {{group}} (e.g. "
        "--per-class {group})",
    )
    summary = semi_supervised_scores(discriminator, dataset, args.per_class, args.draws, args.seed)
    if isinstance(discriminator, SemiSupervisedDiscriminator):  # a classifier itself
        summary["k_plus_one_d"] = {
            "labelled_per_class": config.data.labelled_per_class,
            "label_draw_seed": config.data.label_draw_seed,
            "test_error": classifier_error(discriminator, dataset.test, dataset.labels.test),
        }
    _record(run, "semisupervised", summary, args.json, _semisupervised_words)
    return 0


def _semisupervised_words(summary: dict) -> str:
    lines = [
        f"test error with {summary['labelled_per_class']} labelled images per class, "
        f"{summary['draws']} draws:"
    ]
    for name, errors in summary["test_error"].items():
        shown = ", ".join(f"{e:.3f}" for e in errors)
        lines.append(f"  {name:15s} {summary['mean_test_error'][name]:.3f}  ({shown})")
    own = summary.get("k_plus_one_d")
    if own:
        lines.append(
            f"  {'K+1-class D':15s} {own['test_error']:.3f}  (its own classes, trained with "
            f"{own['labelled_per_class']} labels per class of draw {own['label_draw_seed']})"
        )
    return "\n".join(lines)


@_writes_into_runs
def cmd_translate(args: argparse.Namespace) -> int:
    """CycleGAN's translations of the test images, both ways, judged by label preservation and
    the cycle reconstruction error (advnets.evaluation.translation); writes
    RUN/translate.json and RUN/figures/translate.png."""
    [(run, _, _)], dataset = _open_runs([args.run_dir], args, translators=True)
    summary = _translate(run, dataset, args.n)
    print(_translation_words(summary) if not args.json else json.dumps(summary, indent=2))
    print(f"figure: {run.figures / 'translate.png'} (rows: A, G(A), F(G(A)), B, F(B), G(F(B)))")
    return 0


def _translate(run, dataset, n: int | None = None) -> dict:
    """Score the translations of the run's last checkpoint on the first ``n`` test images of
    each domain (all by default); write translate.json and figures/translate.png."""
    from advnets.evaluation.runs import load_players
    from advnets.evaluation.translation import FIGURE_ROWS, translation_file, translation_scores
    from advnets.figures.grid import save_grid
    from advnets.files import atomic_write_text
    from advnets.runs.checkpoint import check_data

    generators, _, _, meta = load_players(run, "last", translator=True)
    check_data(meta, dataset.sha256, run.path)
    scores, rows = translation_scores(generators, dataset, n)
    state = meta["state"]
    summary = {
        "checkpoint": meta["checkpoint"],
        "epoch": state["epoch"],
        "step": state["g_updates"],
        **scores,
    }
    run.figures.mkdir(exist_ok=True)
    columns = len(rows) // FIGURE_ROWS
    save_grid(run.figures / "translate.png", rows.numpy(), dataset.image_shape, columns, scale=3)
    atomic_write_text(translation_file(run), json.dumps(summary, indent=2) + "\n")
    return summary


def _translation_words(summary: dict) -> str:
    """What advnets translate found, in a few lines."""
    lines = [
        f"{summary['test_images']['a']:,} test images of A, {summary['test_images']['b']:,} of "
        f"B ({summary['checkpoint']} checkpoint, epoch {summary['epoch']}):"
    ]
    for key, name in (("a_to_b", "A -> B -> A (G, then F)"), ("b_to_a", "B -> A -> B (F, then G)")):
        scores = summary[key]
        line = f"  {name}: cycle L1 {scores['cycle_l1']:.4f}, MSE {scores['cycle_mse']:.4f}"
        if "label_preservation" in scores:
            line += (
                f"; labels kept {scores['label_preservation']:.1%} (untranslated "
                f"{scores['untranslated_accuracy']:.1%})"
            )
        lines.append(line)
    if summary["label_preservation_unavailable"]:
        lines.append(f"  label preservation: {summary['label_preservation_unavailable']}")
    return "\n".join(lines)


def _record(run, name: str, summary: dict, as_json: bool, words: Callable[[dict], str]) -> None:
    """Write what a command found to RUN/<name>.json (atomically) and print it, as JSON or
    in ``words``."""
    from advnets.files import atomic_write_text

    atomic_write_text(run.path / f"{name}.json", json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2) if as_json else words(summary))


def _inpainting_words(summary: dict) -> str:
    lines = [f"{summary['images']} test images, mask {summary['mask']}:"]
    for name, score in summary["scores"].items():
        parts = []
        if "mse" in score:
            parts.append(f"hidden-pixel MSE {score['mse']:.4f} (PSNR {score['psnr_db']:.1f} dB)")
        if "classifier_accuracy" in score:
            parts.append(f"classifier accuracy {score['classifier_accuracy']:.2f}")
        lines.append(f"  {name}: " + ", ".join(parts))
    return "\n".join(lines)


def _digit_pair(text: str) -> tuple[int, int]:
    """ "7,1" as (7, 1): the class whose attribute is moved, and the class it is moved to."""
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) < 10 for p in parts):
        raise argparse.ArgumentTypeError(f"expected two digits like 7,1, got {text!r}")
    return int(parts[0]), int(parts[1])


def cmd_explain(args: argparse.Namespace) -> int:
    from advnets.explain import transposed_conv

    summary = transposed_conv.explain(args.out or Path("runs") / f"explain-{args.topic}")
    print(json.dumps(summary, indent=2) if args.json else transposed_conv.describe(summary))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (the usage itself is one --help away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help.\n")


def _bounded(low: int, high: int) -> Callable[[str], int]:
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


def _seeds(text: str) -> list[int]:
    """An argparse type: the seeds of ``train --seeds`` (advnets.training.seeds)."""
    from advnets.training.seeds import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).rstrip(".")) from None


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", metavar="DIR", help="dataset cache directory")
    p.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="accept a run that has not finished training (its best checkpoint so far)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
        type=_seeds,
        metavar="A-B|A,B,...",
        help="train one copy per seed together on one device, each into --out/seed-N, an "
        f"ordinary run directory (e.g. 0-7 or 0,3,5; at most {limits.MAX_SEEDS}; the paper's "
        "mlp-maxout model with the simultaneous update and sgd only)",
    )
    p.set_defaults(func=cmd_train)

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
        type=_bounded(1, limits.MAX_SAMPLES),
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
    p.add_argument(
        "--seed", type=_bounded(0, limits.MAX_SEED), default=0, help="noise seed (default 0)"
    )
    p.add_argument(
        "--checkpoint",
        default="best",
        choices=["best", "last"],
        help="which checkpoint (default best)",
    )
    p.add_argument(
        "--scale",
        type=_bounded(1, limits.MAX_SCALE),
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

    p = sub.add_parser(
        "evaluate",
        help="score a run on the test set: Parzen, domain metrics, memorisation "
        "(writes evaluation.json)",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.add_argument(
        "--iw-samples",
        type=_bounded(1, limits.MAX_SAMPLES),
        default=5000,
        help="VAE runs: importance samples per test image of the log-likelihood (default "
        "5,000, Burda et al. 2016; 34 min for all 10,000 images on one CPU core)",
    )
    p.add_argument(
        "--iw-images",
        type=_bounded(1, limits.MAX_SAMPLES),
        default=None,
        help="VAE runs: score the likelihood on the first N test images (default all)",
    )
    _add_run_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "anomaly",
        help="an autoencoder run as an anomaly detector: AUROC of one class of its data "
        "against the others, or of another image set against its data, by reconstruction "
        "error (writes anomaly.json or anomaly-NAME.json, and a figure)",
        description="Scores the test images of the run's data by its reconstruction error and "
        "reports the AUROC of one class (by default the one the run was trained without, "
        "data.exclude_class) against the others; with --against, of another set's test "
        "images against the test images of the classes the run was trained on.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.add_argument(
        "--class",
        dest="held_out",
        type=_bounded(0, 9),
        default=None,
        help="the class scored as the anomaly (default: the run's data.exclude_class)",
    )
    p.add_argument(
        "--against",
        metavar="SET",
        help="score this set's test images as the anomalies instead: mnist, fashion-mnist, or "
        "a folder of PNG/JPEG images (its test split, at the run's image size)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON object")
    _add_run_options(p)
    p.set_defaults(func=cmd_anomaly)

    p = sub.add_parser(
        "figures",
        help="the paper's Figures 2 and 3, memorisation and class plots, into RUN_DIR/figures",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("run_dir", metavar="RUN_DIR", nargs="?")
    source.add_argument(
        "--pretrained",
        metavar="NAME",
        help="Figures 2 and 3 of a generator shipped with advnets (`advnets pretrained`) "
        "instead of a run's, into --out",
    )
    p.add_argument("--out", metavar="DIR", help="--pretrained: the folder (default figures-NAME)")
    grid = _bounded(1, limits.MAX_GRID)
    p.add_argument("--rows", type=grid, default=8, help="rows of both figures (default 8)")
    p.add_argument("--columns", type=grid, default=6, help="Figure 2: samples per row (default 6)")
    p.add_argument(
        "--steps",
        type=_bounded(2, limits.MAX_GRID),
        default=10,
        help="Figure 3: images per path (default 10)",
    )
    p.add_argument(
        "--spherical", action="store_true", help="Figure 3: spherical instead of linear paths"
    )
    p.add_argument("--no-gif", action="store_true", help="Figure 3: no animated GIF")
    p.add_argument(
        "--seed",
        type=_bounded(0, limits.MAX_SEED),
        default=0,
        help="noise seed (default 0; not cherry-picked)",
    )
    _add_run_options(p)
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser(
        "pretrained",
        help="the generators shipped with advnets, one line each, with their test scores",
    )
    p.add_argument("--json", action="store_true", help="print their model cards as JSON")
    p.set_defaults(func=cmd_pretrained)

    p = sub.add_parser("report", help="write RUN_DIR/report.html, one self-contained page")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument(
        "--no-ceiling", action="store_true", help="skip scoring up to 10,000 real training images"
    )
    _add_run_options(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "table1", help="Table 1's MNIST row: the paper's numbers beside your runs (seeds)"
    )
    p.add_argument("run_dirs", metavar="RUN_DIR", nargs="*")
    p.add_argument(
        "--pretrained",
        metavar="NAME",
        action="append",
        help="also a shipped generator's row, from its model card (repeatable; "
        "`advnets pretrained` lists them)",
    )
    p.add_argument("--format", choices=["markdown", "csv"], default="markdown")
    p.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    p.add_argument(
        "--no-ceiling", action="store_true", help="skip scoring up to 10,000 real training images"
    )
    _add_run_options(p)
    p.set_defaults(func=cmd_table1)

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
        type=_bounded(2, limits.MAX_SAMPLES),
        help="divergences: Monte Carlo samples of each distribution (default 100,000)",
    )
    p.add_argument(
        "--remedy",
        choices=list(REMEDIES),
        help="ring, grid: a remedy for mode collapse (default none): pack2, pack3, pack4: D "
        "judges packs of 2, 3, 4 samples (PacGAN, Lin et al. 2018); minibatch-std: D also sees "
        "the spread of groups of 4 samples (Karras et al. 2018); unrolled5: each G step against "
        "D advanced 5 steps, first order (Metz et al. 2017); pack4-std: packs of 4 whose D also "
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
    p.add_argument("--mixture", action="store_true", help="1d: two Gaussians instead of one")
    p.add_argument("--loss", choices=["non_saturating", "minimax"], help="generator loss")
    p.add_argument("--k", type=int, help="D steps per G step (Algorithm 1)")
    p.add_argument("--lr", type=float, help="learning rate of both networks")
    p.add_argument("--epochs", type=int)
    p.add_argument(
        "--seed",
        type=_bounded(0, limits.MAX_SEED),
        help="the run's seed (divergences: of the Monte Carlo samples; default 0)",
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any setting of the toy preset")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_toy)

    p = sub.add_parser(
        "arithmetic",
        help="vector arithmetic in the latent space (thick 7 - thin 7 + thin 1), or a "
        "conditional run's style analogy",
        description="Unconditional MNIST runs: average the codes of samples grouped by the "
        "class the shipped classifier reads and by an attribute, add and subtract them, decode "
        "(Radford et al. 2016). Runs on other images (a folder of your own): bright minus "
        "dark codes added to and subtracted from fresh codes. Conditional runs: one noise "
        "vector per row, every class. Writes RUN_DIR/arithmetic.json and "
        "RUN_DIR/figures/arithmetic.png.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--attribute", choices=["thickness", "slant"], default="thickness")
    p.add_argument(
        "--digits",
        type=_digit_pair,
        default=(7, 1),
        metavar="A,B",
        help="high-A - low-A + low-B (default 7,1: thick 7 - thin 7 + thin 1)",
    )
    p.add_argument(
        "--samples",
        type=_bounded(100, limits.MAX_SAMPLES),
        default=5000,
        help="samples drawn to form the groups (default 5,000)",
    )
    p.add_argument(
        "--rows", type=_bounded(1, limits.MAX_GRID), default=8, help="style analogy: rows"
    )
    p.add_argument("--seed", type=_bounded(0, limits.MAX_SEED), default=0, help="noise seed")
    p.add_argument("--json", action="store_true", help="print the measurements as JSON")
    p.set_defaults(func=cmd_arithmetic)

    p = sub.add_parser(
        "inpaint",
        help="complete test images with a hidden region: G's latent search or a context "
        "encoder vs simple fills",
        description="For a GAN run, search G's latent space for codes whose images match the "
        "visible pixels while D takes them for real (Yeh et al. 2017); for a context-encoder "
        "run, predict the hidden pixels with its network (Pathak et al. 2016); beside the mean "
        "image and the nearest training image, and the --compare run's method; scored on the "
        "hidden pixels and by the classifier. Writes RUN_DIR/inpaint.json and "
        "RUN_DIR/figures/inpaint.png.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument(
        "--mask",
        default="center",
        metavar="center|left|right|top|bottom|random:P|FILE.png",
        help="the hidden pixels (default center; a PNG: black = hidden)",
    )
    p.add_argument("-n", type=_bounded(1, 10_000), default=100, help="test images (default 100)")
    p.add_argument(
        "--restarts", type=_bounded(1, 64), default=4, help="latent search: random starts per image"
    )
    p.add_argument(
        "--steps", type=_bounded(1, 100_000), default=300, help="latent search: Adam steps (300)"
    )
    p.add_argument("--seed", type=_bounded(0, limits.MAX_SEED), default=0, help="search seed")
    p.add_argument(
        "--compare",
        metavar="RUN2",
        help="a run of the other kind (a GAN run beside a context-encoder run, or the reverse) "
        "whose method is scored beside RUN_DIR's on the same images; results go to RUN_DIR",
    )
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.set_defaults(func=cmd_inpaint)

    p = sub.add_parser(
        "translate",
        help="a CycleGAN run's translations both ways: label preservation, cycle error",
        description="Translate the test images of both domains with a CycleGAN run's last "
        "checkpoint (G: A -> B, F: B -> A) and back; score label preservation (the classifier "
        "of the target domain reads the source image's class; mnist-digits only) and the "
        "cycle reconstruction error (mean L1 and MSE per pixel). Writes RUN_DIR/translate.json "
        "and RUN_DIR/figures/translate.png (rows: A, G(A), F(G(A)), B, F(B), G(F(B))).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument(
        "-n",
        type=_bounded(1, limits.MAX_SAMPLES),
        default=None,
        help="score the first N test images of each domain (default: all)",
    )
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    _add_run_options(p)
    p.set_defaults(func=cmd_translate)

    p = sub.add_parser(
        "infer",
        help="codes of test images by the run's encoder (BiGAN) and by searching G's latent "
        "space: reconstructions and features",
        description="Find the codes of test images two ways: the encoder E(x) learned with G "
        "(bigan runs) and the latent search z* = argmin ||G(z) - x||^2 (any unconditional G). "
        "Reports each reconstruction G(z)'s pixel MSE, the MNIST classifier's accuracy on it "
        "and the seconds taken, and, for an encoder, the 1-nearest-neighbour and linear-probe "
        "test accuracy of E(x) against raw pixels. Writes RUN_DIR/infer.json and "
        "RUN_DIR/figures/infer.png (rows: originals, G(E(x)), G(z*)).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument(
        "--method",
        choices=["encoder", "optimisation", "both"],
        help="how codes are found (default: both where the run learned an encoder, else "
        "optimisation)",
    )
    p.add_argument(
        "-n", type=_bounded(1, 10_000), default=100, help="test images reconstructed (default 100)"
    )
    p.add_argument("--restarts", type=_bounded(1, 64), default=4, help="random starts per image")
    p.add_argument(
        "--steps", type=_bounded(1, 100_000), default=300, help="Adam steps (default 300)"
    )
    p.add_argument(
        "--labelled",
        type=_bounded(1, 100_000),
        default=10_000,
        help="first training images whose labels the feature probes use (default 10000)",
    )
    p.add_argument("--seed", type=_bounded(0, limits.MAX_SEED), default=0, help="search seed")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.set_defaults(func=cmd_infer)

    p = sub.add_parser(
        "semisupervised",
        help="classify with D's features from a few labels, against pixels and a network "
        "trained on those labels alone",
        description="A linear classifier on the run's D features from PER_CLASS labelled "
        "training images of each class, against the same classifier on pixels and a 784-500 "
        "network trained on the labelled images alone; test error over several draws. "
        "Writes RUN_DIR/semisupervised.json.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--per-class", type=_bounded(1, 5000), default=10, help="labels per class")
    p.add_argument("--draws", type=_bounded(1, 100), default=3, help="draws of the labels")
    p.add_argument("--seed", type=_bounded(0, limits.MAX_SEED), default=0, help="first draw's seed")
    p.add_argument("--json", action="store_true", help="print the errors as JSON")
    p.set_defaults(func=cmd_semisupervised)

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
    from advnets.training import distributed

    args = build_parser().parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
