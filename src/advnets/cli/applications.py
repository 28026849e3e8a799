"""What a trained model is used for beyond sampling: latent ``arithmetic``, ``inpaint``,
``infer`` (learned inference), ``semisupervised`` and CycleGAN's ``translate``."""

from __future__ import annotations

import argparse
import json

from advnets import limits
from advnets.cli.arguments import (
    add_run_options,
    add_search_options,
    add_seed_option,
    bounded,
    digit_pair,
)
from advnets.cli.given_runs import open_runs, record, writes_into_runs
from advnets.config import ConfigError


@writes_into_runs
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
    record(run, "arithmetic", summary, args.json, _arithmetic_words)
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


@writes_into_runs
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
    record(run, "inpaint", summary, args.json, _inpainting_words)
    shown = ", ".join(name for name in scores if name not in ("masked", "original"))
    print(f"figure: {out} (rows: masked, {shown}, original)")
    return 0


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


def _inpainting_words(summary: dict) -> str:
    """What advnets inpaint found, in a few lines."""
    lines = [f"{summary['images']} test images, mask {summary['mask']}:"]
    for name, score in summary["scores"].items():
        parts = []
        if "mse" in score:
            parts.append(f"hidden-pixel MSE {score['mse']:.4f} (PSNR {score['psnr_db']:.1f} dB)")
        if "classifier_accuracy" in score:
            parts.append(f"classifier accuracy {score['classifier_accuracy']:.2f}")
        lines.append(f"  {name}: " + ", ".join(parts))
    return "\n".join(lines)


@writes_into_runs
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
    record(run, "infer", summary, args.json, _inference_words)
    print(f"figure: {out} (rows: originals, then G(z) of {', '.join(methods)})")
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


def _inference_words(summary: dict) -> str:
    """What advnets infer found, in a few lines."""
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


@writes_into_runs
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
    record(run, "semisupervised", summary, args.json, _semisupervised_words)
    return 0


def _semisupervised_words(summary: dict) -> str:
    """What advnets semisupervised found, in a few lines."""
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


@writes_into_runs
def cmd_translate(args: argparse.Namespace) -> int:
    """CycleGAN's translations of the test images, both ways, judged by label preservation and
    the cycle reconstruction error (advnets.evaluation.translation); writes
    RUN/translate.json and RUN/figures/translate.png."""
    [(run, _, _)], dataset = open_runs([args.run_dir], args, translators=True)
    summary = translate_run(run, dataset, args.n)
    print(_translation_words(summary) if not args.json else json.dumps(summary, indent=2))
    print(f"figure: {run.figures / 'translate.png'} (rows: A, G(A), F(G(A)), B, F(B), G(F(B)))")
    return 0


def translate_run(run, dataset, n: int | None = None) -> dict:
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


def add_commands(sub) -> None:
    """Add this module's subcommands to ``sub``."""
    _add_arithmetic(sub)
    _add_inpaint(sub)
    _add_infer(sub)
    _add_semisupervised(sub)
    _add_translate(sub)


def _add_arithmetic(sub) -> None:
    """``advnets arithmetic``: its arguments."""
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
        type=digit_pair,
        default=(7, 1),
        metavar="A,B",
        help="high-A - low-A + low-B (default 7,1: thick 7 - thin 7 + thin 1)",
    )
    p.add_argument(
        "--samples",
        type=bounded(100, limits.MAX_SAMPLES),
        default=5000,
        help="samples drawn to form the groups (default 5,000)",
    )
    p.add_argument(
        "--rows", type=bounded(1, limits.MAX_GRID), default=8, help="style analogy: rows"
    )
    add_seed_option(p, "noise seed")
    p.add_argument("--json", action="store_true", help="print the measurements as JSON")
    p.set_defaults(func=cmd_arithmetic)


def _add_inpaint(sub) -> None:
    """``advnets inpaint``: its arguments."""
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
    p.add_argument("-n", type=bounded(1, 10_000), default=100, help="test images (default 100)")
    add_search_options(p)
    p.add_argument(
        "--compare",
        metavar="RUN2",
        help="a run of the other kind (a GAN run beside a context-encoder run, or the reverse) "
        "whose method is scored beside RUN_DIR's on the same images; results go to RUN_DIR",
    )
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.set_defaults(func=cmd_inpaint)


def _add_infer(sub) -> None:
    """``advnets infer``: its arguments."""
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
        "-n", type=bounded(1, 10_000), default=100, help="test images reconstructed (default 100)"
    )
    add_search_options(p)
    p.add_argument(
        "--labelled",
        type=bounded(1, 100_000),
        default=10_000,
        help="first training images whose labels the feature probes use (default 10000)",
    )
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.set_defaults(func=cmd_infer)


def _add_semisupervised(sub) -> None:
    """``advnets semisupervised``: its arguments."""
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
    p.add_argument("--per-class", type=bounded(1, 5000), default=10, help="labels per class")
    p.add_argument("--draws", type=bounded(1, 100), default=3, help="draws of the labels")
    add_seed_option(p, "the first draw's seed")
    p.add_argument("--json", action="store_true", help="print the errors as JSON")
    p.set_defaults(func=cmd_semisupervised)


def _add_translate(sub) -> None:
    """``advnets translate``: its arguments."""
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
        type=bounded(1, limits.MAX_SAMPLES),
        default=None,
        help="score the first N test images of each domain (default: all)",
    )
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    add_run_options(p)
    p.set_defaults(func=cmd_translate)
