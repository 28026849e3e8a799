"""Table 1 of the paper, MNIST row, beside this project's runs and the metrics it misses.

The paper reports Parzen-window log-likelihoods (nats) with the standard error
over test images. Across runs with different seeds we report the mean and the
standard deviation over seeds as well as the mean of the paper's standard
error: the spread over seeds is the honest uncertainty of a training recipe.
Runs of several model families (a GAN beside an autoencoder or a VAE) each get
their own row, and a mean over seeds per family that has more than one run. A
VAE's row also shows its test ELBO and importance-weighted log-likelihood, which
bound a Bernoulli likelihood and are not on the Parzen scale.
"""

from __future__ import annotations

import csv
import io
import math
import statistics

PAPER_ROWS = [  # Goodfellow et al. (2014), Table 1, MNIST column
    ("DBN (paper)", 138.0, 2.0),
    ("Stacked CAE (paper)", 121.0, 1.6),
    ("Deep GSN (paper)", 214.0, 1.1),
    ("Adversarial nets (paper)", 225.0, 2.0),
]
# the published rows of other families, shown when a run of that family is in the table
FAMILY_PAPER_ROWS = {
    "cgan-mlp": ("Conditional adversarial net (Mirza & Osindero 2014)", 132.0, 1.8),
}

# (column header, key in the domain metrics, scale, decimals)
DOMAIN_COLUMNS = [
    ("FID", "fid", 1.0, 2),
    ("KID×10³", "kid", 1e3, 2),
    ("IS", "inception_score", 1.0, 2),
    ("precision", "precision", 1.0, 3),
    ("recall", "recall", 1.0, 3),
    ("density", "density", 1.0, 3),
    ("coverage", "coverage", 1.0, 3),
    ("classes", "classes_covered", 1.0, 1),
    ("class KL", "class_kl", 1.0, 3),
]
# (column header, key in a VAE's likelihood record): its bounds on log p(x) (nats)
LIKELIHOOD_COLUMNS = [("VAE ELBO", "test_elbo"), ("VAE IW LL", "test_ll")]
HEADERS = [
    "model",
    "Parzen LL (nats)",
    "± s.e. (test images)",
    "± std (seeds)",
    *[column[0] for column in DOMAIN_COLUMNS],
    "memorised",
    *[column[0] for column in LIKELIHOOD_COLUMNS],
]
AVERAGED = [key for _, key, _, _ in DOMAIN_COLUMNS] + ["memorised"]
AVERAGED += [f"likelihood_{key}" for _, key in LIKELIHOOD_COLUMNS]


def _row(name: str, ll: float, se: float | None, std: float | None, scores: dict | None) -> dict:
    row: dict = {"model": name, "ll": ll, "se": se, "std": std, "memorised": None}
    domain = (scores or {}).get("domain") or {}
    for _, key, scale, _ in DOMAIN_COLUMNS:
        row[key] = domain[key] * scale if key in domain else None
    memo = (scores or {}).get("memorisation")
    if memo:
        row["memorised"] = memo["fraction_below_test_p1"]
    bounds = (scores or {}).get("likelihood") or {}
    for _, key in LIKELIHOOD_COLUMNS:
        row[f"likelihood_{key}"] = bounds.get(key)
    return row


def _mean_row(name: str, runs: list[tuple[str, dict]], rows: list[dict]) -> dict:
    """The mean over the seeds of one family (runs and their rows): Parzen mean, mean s.e.,
    std over seeds; every other column averaged where every run has it."""
    evaluations = [ev for _, ev in runs]
    lls = [ev["parzen"]["test_ll"] for ev in evaluations]
    mean = _row(
        f"{name}, mean over {len(runs)} seeds",
        statistics.fmean(lls),
        statistics.fmean(ev["parzen"]["test_se"] for ev in evaluations),
        statistics.stdev(lls),
        None,
    )
    for key in AVERAGED:
        values = [row[key] for row in rows if row[key] is not None]
        mean[key] = statistics.fmean(values) if len(values) == len(runs) else None
    return mean


def table1_rows(
    runs: list[tuple[str, dict]],
    ceiling: dict | None = None,
    recipes: list[str] | None = None,
) -> list[dict]:
    """Rows: the paper's, one per run, a mean over seeds per recipe (if it has more than one
    run), the ceiling.

    ``runs`` pairs a label with a run's evaluation (``evaluation.json``); ``recipes`` names
    each run's recipe (runs of one recipe differ only in their seed), by default its model
    family; ``ceiling`` holds the scores of up to 10,000 real training images (all a smaller
    set has).
    """
    if recipes is None:  # evaluations from before families were recorded: the paper's
        recipes = [ev.get("family", "mlp-maxout") for _, ev in runs]
    families = dict.fromkeys(ev.get("family", "mlp-maxout") for _, ev in runs)
    groups: dict[str, list[tuple[str, dict]]] = {}
    for recipe, (label, ev) in zip(recipes, runs, strict=True):
        groups.setdefault(recipe, []).append((label, ev))
    published = PAPER_ROWS + [FAMILY_PAPER_ROWS[f] for f in families if f in FAMILY_PAPER_ROWS]
    rows = [_row(name, ll, se, None, None) for name, ll, se in published]
    for recipe, members in groups.items():
        own = [
            _row(label, ev["parzen"]["test_ll"], ev["parzen"]["test_se"], None, ev)
            for label, ev in members
        ]
        rows += own
        if len(members) > 1:
            name = "advnets" if len(groups) == 1 else f"advnets {recipe}"
            rows.append(_mean_row(name, members, own))
    if ceiling is not None:
        parzen = ceiling["parzen"]
        rows.append(
            _row(
                f"{parzen['n_samples']:,} training images (ceiling)",
                parzen["test_ll"],
                parzen["test_se"],
                None,
                ceiling,
            )
        )
    return rows


def _cells(row: dict, decimals: bool = True) -> list[str]:
    def fmt(value, places: int) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return ""
        return f"{value:.{places}f}" if decimals else repr(value)

    return [
        row["model"],
        fmt(row["ll"], 1),
        fmt(row["se"], 1),
        fmt(row["std"], 1),
        *[fmt(row[key], places) for _, key, _, places in DOMAIN_COLUMNS],
        fmt(None if row["memorised"] is None else 100 * row["memorised"], 1)
        + ("%" if decimals and row["memorised"] is not None else ""),
        *[fmt(row[f"likelihood_{key}"], 1) for _, key in LIKELIHOOD_COLUMNS],
    ]


def to_markdown(rows: list[dict]) -> str:
    """A Markdown table; empty cells where a row has no such number."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict]) -> str:
    """CSV with full precision (memorised in percent)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADERS)
    writer.writerows(_cells(row, decimals=False) for row in rows)
    return buffer.getvalue()
