"""Commands that score and picture trained runs: ``evaluate``, ``parzen``, ``table1``,
``report``, ``figures`` and ``anomaly``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from advnets import limits
from advnets.cli.applications import translate_run
from advnets.cli.arguments import add_run_options, add_seed_option, bounded
from advnets.cli.given_runs import open_runs, writes_into_runs
from advnets.config import ConfigError


def _print_parzen(result, as_json: bool, extra: dict | None = None) -> None:
    """A Parzen score in one line beside the paper's, or as JSON with ``extra``."""
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


@writes_into_runs
def cmd_evaluate(args: argparse.Namespace) -> int:
    """The test scores of a run's checkpoint (advnets.evaluation.runs); evaluation.json."""
    from advnets.evaluation.runs import evaluate_run

    [(run, _, _)], dataset = open_runs([args.run_dir], args)
    evaluation = evaluate_run(
        run, args.checkpoint, dataset, iw_samples=args.iw_samples, iw_images=args.iw_images
    )
    if args.json:
        print(json.dumps(evaluation, indent=2))
    else:
        _print_evaluation(evaluation)
    return 0


def cmd_parzen(args: argparse.Namespace) -> int:
    """The paper's Parzen protocol on any sample file, checked before scoring."""
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


def _recipe_names(opened: list, shipped: list[str]) -> list[str]:
    """Each row's recipe for Table 1's means, runs (as open_runs gives them) first, then the
    shipped generators: a run's model family where every family has one recipe and nothing
    is shipped, else the names of the rows that share its settings up to the seed. A shipped
    generator whose card records its run's config joins the runs of that recipe (seed 0
    shipped beside seeds 1 and 2 of the same command); one without, its own. One seed twice
    in a recipe is refused: a mean over seeds counts each once."""
    from advnets.evaluation import pretrained
    from advnets.runs.rundir import recipe

    # per row: its recipe, its seed (None: unknown), its name in an error and in a row label
    rows = [(recipe(c), c.seed, str(run.path), run.path.name) for run, c, _ in opened]
    for name in shipped:
        config, label = pretrained.trained_config(name), f"shipped {name}"
        if config is None:
            rows.append((label, None, label, label))
        else:
            rows.append((recipe(config), config.seed, label, label))
    seen: dict[tuple[str, int], str] = {}
    for key, seed, where, _ in rows:
        if seed is not None and (key, seed) in seen:
            raise ConfigError(
                f"{seen[key, seed]} and {where} are both seed {seed} of one recipe; a mean "
                "over seeds counts each seed once, so give only one of them."
            )
        seen[key, seed] = where
    families = [config.model.family for _, config, _ in opened]
    if len({key for key, *_ in rows}) == len(set(families)) and not shipped:
        return families
    members: dict[str, list[str]] = {}
    for key, _, _, label in rows:
        members.setdefault(key, []).append(label)
    return [", ".join(members[key]) for key, *_ in rows]


@writes_into_runs
def cmd_table1(args: argparse.Namespace) -> int:
    """Table 1's MNIST row: the paper's rows, each run's and shipped generator's test scores,
    the means of each recipe over seeds, and the ceiling of real images."""
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
        opened, dataset = open_runs(args.run_dirs, args)
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


@writes_into_runs
def cmd_report(args: argparse.Namespace) -> int:
    """RUN/report.html: scores, curves, the paper's figures and the run's records on one page
    (a CycleGAN run's: its translations)."""
    from advnets.evaluation.runs import ceiling_scores, ensure_evaluation
    from advnets.evaluation.translation import current_translation
    from advnets.figures.report import write_report, write_translation_report
    from advnets.figures.run_figures import write_figures

    [(run, _, _)], dataset = open_runs([args.run_dir], args, translators=None)
    if dataset.other is not None:  # CycleGAN's: its translations, not samples
        summary = current_translation(run) or translate_run(run, dataset)
        print(f"wrote {write_translation_report(run, summary)}")
        return 0
    evaluation = ensure_evaluation(run, dataset)
    figures = write_figures(run, dataset)
    reference = None if args.no_ceiling else ceiling_scores(dataset)
    print(f"wrote {write_report(run, evaluation, figures, reference)}")
    return 0


@writes_into_runs
def cmd_figures(args: argparse.Namespace) -> int:
    """The paper's Figures 2 and 3 and the run's other figures, or Figures 2 and 3 of a
    shipped generator."""
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
        [(run, _, _)], dataset = open_runs([args.run_dir], args)
        paths = write_figures(run, dataset, drawing)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


@writes_into_runs
def cmd_anomaly(args: argparse.Namespace) -> int:
    """An autoencoder's reconstruction error as an anomaly score: AUROC of a held-out class
    or of another image set (advnets.evaluation.anomaly), with a figure."""
    from advnets.evaluation.anomaly import run_anomaly
    from advnets.figures.anomaly import save_reconstructions

    [(run, _, _)], _ = open_runs([args.run_dir], args, load_data=False)
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


def add_commands(sub) -> None:
    """Add this module's subcommands to ``sub``."""
    _add_evaluate(sub)
    _add_parzen(sub)
    _add_table1(sub)
    _add_report(sub)
    _add_figures(sub)
    _add_anomaly(sub)


def _add_evaluate(sub) -> None:
    """``advnets evaluate``: its arguments."""
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
        type=bounded(1, limits.MAX_SAMPLES),
        default=5000,
        help="VAE runs: importance samples per test image of the log-likelihood (default "
        "5,000, Burda et al. 2016; 34 min for all 10,000 images on one CPU core)",
    )
    p.add_argument(
        "--iw-images",
        type=bounded(1, limits.MAX_SAMPLES),
        default=None,
        help="VAE runs: score the likelihood on the first N test images (default all)",
    )
    add_run_options(p)
    p.set_defaults(func=cmd_evaluate)


def _add_parzen(sub) -> None:
    """``advnets parzen``: its arguments."""
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


def _add_table1(sub) -> None:
    """``advnets table1``: its arguments."""
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
    add_run_options(p, ceiling=True)
    p.set_defaults(func=cmd_table1)


def _add_report(sub) -> None:
    """``advnets report``: its arguments."""
    p = sub.add_parser("report", help="write RUN_DIR/report.html, one self-contained page")
    p.add_argument("run_dir", metavar="RUN_DIR")
    add_run_options(p, ceiling=True)
    p.set_defaults(func=cmd_report)


def _add_figures(sub) -> None:
    """``advnets figures``: its arguments."""
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
    grid = bounded(1, limits.MAX_GRID)
    p.add_argument("--rows", type=grid, default=8, help="rows of both figures (default 8)")
    p.add_argument("--columns", type=grid, default=6, help="Figure 2: samples per row (default 6)")
    p.add_argument(
        "--steps",
        type=bounded(2, limits.MAX_GRID),
        default=10,
        help="Figure 3: images per path (default 10)",
    )
    p.add_argument(
        "--spherical", action="store_true", help="Figure 3: spherical instead of linear paths"
    )
    p.add_argument("--no-gif", action="store_true", help="Figure 3: no animated GIF")
    add_seed_option(p, "noise seed, not cherry-picked")
    add_run_options(p)
    p.set_defaults(func=cmd_figures)


def _add_anomaly(sub) -> None:
    """``advnets anomaly``: its arguments."""
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
        type=bounded(0, 9),
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
    add_run_options(p)
    p.set_defaults(func=cmd_anomaly)
