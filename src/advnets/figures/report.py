"""One self-contained HTML page per run: config, curves, figures and metrics.

Every image is embedded as a data URI and the page has no script and no
external resource, so ``report.html`` can be mailed, archived or opened
offline and shows the same thing everywhere.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

from advnets import __version__
from advnets.files import atomic_write_text
from advnets.runs.logs import read_metrics
from advnets.runs.rundir import RunDir

PAPER_PARZEN = "225 ± 2"  # Table 1, adversarial nets, MNIST
PAPER_BASELINES = "DBN 138 ± 2 · Stacked CAE 121 ± 1.6 · Deep GSN 214 ± 1.1"

# (key in evaluation["domain"], label, direction, decimals)
DOMAIN_ROWS = [
    ("fid", "FID (classifier features)", "lower is better", 2),
    ("kid", "KID ×10³", "lower is better", 2),
    ("inception_score", "classifier Inception Score", "higher is better, at most 10", 2),
    ("precision", "precision (k = 3)", "higher is better", 3),
    ("recall", "recall (k = 3)", "higher is better", 3),
    ("density", "density (k = 5)", "≈ 1 for real data", 3),
    ("coverage", "coverage (k = 5)", "higher is better", 3),
    ("classes_covered", "digit classes covered", "10 is ideal", 0),
    ("class_kl", "KL(class histogram ‖ uniform)", "0 is ideal", 3),
]

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222;
       padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; white-space: nowrap; }
td:first-child, th:first-child, td:last-child, th:last-child { text-align: left; }
td:first-child { white-space: normal; }
td.prose { white-space: normal; text-align: left; }
th { background: #f3f3f3; }
figure { display: inline-block; margin: 0.5em 1em 1em 0; vertical-align: top; }
figcaption { font-size: 0.9em; color: #555; max-width: 520px; }
img { max-width: 100%; image-rendering: pixelated; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.muted { color: #666; }
"""


def _data_uri(path: Path) -> str:
    mime = "image/gif" if path.suffix == ".gif" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _figure(path: Path | None, caption: str, width: int | None = None) -> str:
    if path is None or not path.is_file():
        return ""
    style = f' style="width:{width}px"' if width else ""
    return (
        f'<figure><img src="{_data_uri(path)}" alt="{html.escape(caption)}"{style}>'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _number(value, decimals: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{decimals}f}"


def _metrics_table(evaluation: dict, reference: dict | None) -> str:
    parzen = evaluation["parzen"]
    ceiling = reference["parzen"] if reference else None
    paper = PAPER_PARZEN if evaluation.get("dataset", "mnist") == "mnist" else "—"
    real = f"{ceiling['n_samples']:,} training images" if ceiling else "training images"
    rows = [
        f"<tr><th>metric</th><th>this run</th><th>{real}</th><th>paper</th><th>reading</th></tr>",
        f"<tr><td>Parzen log-likelihood, test (nats)</td>"
        f"<td>{parzen['test_ll']:.1f} ± {parzen['test_se']:.1f}</td>"
        f"<td>{_number(ceiling and ceiling['test_ll'], 1)}</td><td>{paper}</td>"
        f"<td>higher is better; σ = {parzen['sigma']:.3f}</td></tr>",
    ]
    domain, missing = evaluation.get("domain"), evaluation.get("domain_unavailable")
    if missing:
        missing_cell = f'<td colspan=4 class="prose">{html.escape(missing)}</td>'
        rows.append(f"<tr><td>domain metrics</td>{missing_cell}</tr>")
    if domain:
        ref_domain = reference and reference.get("domain")
        for key, label, reading, decimals in DOMAIN_ROWS:
            scale = 1e3 if key == "kid" else 1.0
            ours = _number(domain[key] * scale, decimals)
            ref = _number(ref_domain[key] * scale, decimals) if ref_domain else "—"
            rows.append(
                f"<tr><td>{label}</td><td>{ours}</td><td>{ref}</td><td>—</td>"
                f"<td>{reading}</td></tr>"
            )
    memo = evaluation["memorisation"]
    rows.append(
        "<tr><td>samples closer to the training set than the 1st percentile of test images</td>"
        f"<td>{memo['fraction_below_test_p1']:.1%}</td><td>—</td><td>—</td>"
        "<td>≈ 1% without copying</td></tr>"
    )
    return "<table>" + "\n".join(rows) + "</table>"


def _metrics_note(evaluation: dict) -> str:
    """What the metrics table compares with, and on what samples."""
    parzen = evaluation["parzen"]
    same = (
        f"every score uses the same {parzen['n_samples']:,} samples (noise seed "
        f"{evaluation['seed']}) against the {parzen['n_test']:,} test images."
    )
    dataset = evaluation.get("dataset", "mnist")
    if dataset == "fashion-mnist":
        same = f"domain metrics use the features of the shipped Fashion-MNIST classifier; {same}"
    if dataset != "mnist":
        return f'<p class="muted">{html.escape(dataset)}: {same}</p>'
    return (
        f'<p class="muted">Paper baselines (Table 1, MNIST): {PAPER_BASELINES}. Domain metrics '
        f"use the features of the shipped MNIST classifier; {same}</p>"
    )


def _by_class_caption(evaluation: dict) -> str:
    """The caption of a conditional run's class-by-column figure, with its class accuracy."""
    caption = (
        "G(z | y): one column per class y, one noise vector z per row (the style of a row "
        "carried to every class)."
    )
    conditional = evaluation.get("conditional")
    if conditional:
        per_class = ", ".join(f"{a:.2f}" for a in conditional["per_class_accuracy"])
        caption += (
            f" Class accuracy {conditional['accuracy']:.2f} (per class: {per_class}); per-class "
            "FID: " + ", ".join(f"{f:.1f}" for f in conditional["per_class_fid"]) + "."
        )
    return caption


def _pre(title: str, text: str) -> str:
    return f"<h2>{title}</h2><pre>{html.escape(text)}</pre>"


def write_report(
    run: RunDir, evaluation: dict, figures: dict[str, Path], reference: dict | None
) -> Path:
    """Write RUN_DIR/report.html from the run's files, its evaluation and its figures.

    ``reference`` holds the scores of up to 10,000 real training images (all a smaller set
    has; the ceiling row of Table 1), or None to leave that column empty.
    """
    info = run.load_info()
    memo = evaluation["memorisation"]
    body = [
        _heading(run, info, evaluation),
        "<h2>Metrics on the test set</h2>",
        _metrics_table(evaluation, reference),
        _metrics_note(evaluation),
        "<h2>Training</h2>",
        _training_time(run),
        _figure(
            figures.get("curves"),
            "Losses, discriminator outputs and validation scores over training.",
        ),
        "<h2>Figures of the paper</h2>",
        _figure(
            figures.get("figure2"),
            "Figure 2: random samples (not cherry-picked); the framed rightmost column is the "
            "nearest training image of the sample beside it.",
        ),
        _figure(
            figures.get("figure3"),
            "Figure 3: digits along straight lines between two noise vectors, one per row.",
        ),
        _figure(figures.get("figure3_gif"), "Figure 3, animated: every path at once."),
        _figure(
            figures.get("figure3_other"),
            "The same end points joined the other way (spherical against linear, or the "
            "reverse): a spherical path keeps the norm of the noise typical along the way.",
        ),
        "<h2>Memorisation and coverage</h2>",
        _figure(
            figures.get("memorisation"),
            f"Distance to the nearest training image: {memo['fraction_below_test_p1']:.1%} of "
            f"samples are closer than the closest 1% of test images (median "
            f"{memo['sample_median']:.2f} vs {memo['test_median']:.2f}).",
        ),
        _figure(figures.get("classes"), "Digit classes the classifier sees in the samples."),
        _figure(figures.get("by_class"), _by_class_caption(evaluation)),
        _figure(figures.get("samples"), "The sample grid of the last epoch.", width=300),
        _figure(
            figures.get("arithmetic"),
            "advnets arithmetic: three samples of each group and the decoding of its mean "
            "code, then the results (the numbers are in arithmetic.json); or, for a "
            "conditional run, one noise vector per row written as every class.",
        ),
        _figure(
            figures.get("inpaint"),
            "advnets inpaint: masked test digits, the mean-image and nearest-neighbour "
            "completions, those of G's latent search or the context encoder (and of the "
            "--compare run), and the originals (scores in inpaint.json).",
        ),
        _figure(
            figures.get("infer"),
            "advnets infer: test digits, then their reconstructions G(E(x)) by the encoder "
            "(BiGAN runs) and G(z*) by searching the latent space (scores in infer.json).",
        ),
        _figure(
            figures.get("anomaly"),
            "advnets anomaly: the best and the worst reconstructed test images, each above "
            "its reconstruction (AUROC in anomaly.json).",
        ),
        *_records(run, info),
    ]
    return _write_page(run, body)


def _heading(run: RunDir, info: dict, scored: dict) -> str:
    """The page's title and the line saying which run and checkpoint it shows."""
    return (
        f"<h1>{_title(run)}</h1>"
        f'<p class="muted">advnets {__version__} · seed {info.get("seed", "?")} · '
        f"created {html.escape(str(info.get('created', '?')))} · checkpoint "
        f"<b>{scored['checkpoint']}</b> at epoch {scored['epoch']} "
        f"(step {scored['step']}) · data SHA-256 "
        f"<code>{html.escape(str(info.get('data_sha256', '?'))[:16])}…</code></p>"
    )


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def _training_time(run: RunDir) -> str:
    """How long the training took, over all its sittings (the last reading of the training
    clock in metrics.jsonl), and the machine's pace where it last started; empty for a run
    logged before the clock was."""
    records = read_metrics(run.metrics)  # none for a run without metrics.jsonl
    read = [r for r in records if "train_cpu_seconds" in r]
    if not read:
        return ""
    last = read[-1]
    text = (
        f"Trained to step {last['step']} in {_duration(last['train_seconds'])} of wall time, "
        f"{_duration(last['train_cpu_seconds'])} of CPU time of the training process "
        "(every sitting of a resumed run counted, evaluation during training included)"
    )
    machine = [r for r in records if r.get("kind") == "machine"]
    if machine:
        text += (
            f"; where it last started, fp32 matrix products ran at "
            f"{machine[-1]['gemm_gflops']:.0f} GFLOP/s ({machine[-1]['threads']} CPU "
            f"thread{'s' if machine[-1]['threads'] > 1 else ''})"
        )
    return f'<p class="muted">{html.escape(text)}.</p>'


def _title(run: RunDir) -> str:
    return f"advnets run report: {html.escape(run.path.name)}"


def _records(run: RunDir, info: dict) -> list[str]:
    """The resolved config and the run record, as the page ends."""
    return [
        _pre("Resolved config (config.yaml)", run.config_file.read_text()),
        _pre("Run record (run.json)", json.dumps(info, indent=2)),
    ]


def _write_page(run: RunDir, body: list[str]) -> Path:
    """RUN_DIR/report.html of the non-empty parts of ``body``."""
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_title(run)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body></html>\n"
    )
    return atomic_write_text(run.report, page)


def _translation_table(summary: dict) -> str:
    """CycleGAN's scores (translate.json), one row per direction."""
    rows = [
        "<tr><th>direction</th><th>labels kept</th><th>untranslated</th>"
        "<th>cycle L1</th><th>cycle MSE</th></tr>"
    ]
    for key, name in (("a_to_b", "A → B (G), back by F"), ("b_to_a", "B → A (F), back by G")):
        scores = summary[key]
        kept, plain = scores.get("label_preservation"), scores.get("untranslated_accuracy")
        rows.append(
            f"<tr><td>{name}</td><td>{_number(kept, 3)}</td><td>{_number(plain, 3)}</td>"
            f"<td>{scores['cycle_l1']:.4f}</td><td>{scores['cycle_mse']:.4f}</td></tr>"
        )
    return "<table>" + "\n".join(rows) + "</table>"


def _translation_note(summary: dict) -> str:
    images = summary["test_images"]
    missing = summary.get("label_preservation_unavailable")
    kept = (
        html.escape(missing)
        if missing
        else "Labels kept: the share of translations the target domain's classifier reads as "
        "the source image's class; untranslated: that classifier on the source images as they "
        "are."
    )
    return (
        f'<p class="muted">{images["a"]:,} test images of A and {images["b"]:,} of B. {kept} '
        "Cycle error: mean per pixel between an image and its reconstruction. The Parzen "
        "protocol, the domain metrics and the memorisation check score samples, which a "
        "translator does not draw: they do not apply to this run.</p>"
    )


def write_translation_report(run: RunDir, summary: dict) -> Path:
    """Write RUN_DIR/report.html of a CycleGAN run from its files and its translation scores
    (translate.json, ``summary``)."""
    info = run.load_info()
    body = [
        _heading(run, info, summary),
        "<h2>Translations of the test images</h2>",
        _translation_table(summary),
        _translation_note(summary),
        _figure(
            run.figures / "translate.png",
            "advnets translate: test images of A, G(A), F(G(A)); of B, F(B), G(F(B)).",
        ),
        "<h2>Training</h2>",
        _training_time(run),
        _figure(run.curves, "Losses over training."),
        _figure(
            run.samples / "latest.png",
            "The translations of validation images after the last epoch.",
            width=300,
        ),
        *_records(run, info),
    ]
    return _write_page(run, body)
