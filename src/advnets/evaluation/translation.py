"""Judging CycleGAN's translations (Zhu et al. 2017) on the test images of both domains.

Two measures, each in both directions, A -> B by G and B -> A by F:

- **label preservation**: the share of test images whose translation a classifier of the
  target domain reads as the source image's class (the paper's FCN-score on Cityscapes
  labels -> photo, Section 5.1.1, in the form a digit pair allows). For mnist-digits the
  shipped MNIST classifier reads domain A and the shipped classifier of the up-sampled 8x8
  digits domain B (``advnets.evaluation.classifier``). Beside it, the same classifier's
  accuracy on the untranslated source images, how far the domains lie apart to that
  classifier; no classifier knows a folder's images, so a folder-pair run has none.
- **cycle reconstruction error**: the mean absolute and the mean squared difference per
  pixel between F(G(a)) and a, and between G(F(b)) and b (pixels in [0, 1]).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from advnets.data.datasets import Dataset
from advnets.evaluation.classifier import (
    DIGITS_WEIGHTS_FILE,
    WEIGHTS_FILE,
    MNISTClassifier,
    embed,
    load_classifier,
)
from advnets.runs import checkpoint as ckpt
from advnets.runs.rundir import RunDir
from advnets.sampling import eval_mode

TRANSLATE_BATCH = 500  # images per pass through a generator
# the shipped classifiers of domain A and of domain B, by two-domain data set
LABEL_CLASSIFIERS = {"mnist-digits": (WEIGHTS_FILE, DIGITS_WEIGHTS_FILE)}
FIGURE_COLUMNS = 10  # images per row of the figure
FIGURE_ROWS = 6  # A, G(a), F(G(a)), B, F(b), G(F(b))


@torch.no_grad()
def translate(network: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """``network`` applied to flat images in batches, on its device; the results on the CPU."""
    device = next(network.parameters()).device
    with eval_mode(network):
        parts = [
            network(images[i : i + TRANSLATE_BATCH].to(device)).cpu()
            for i in range(0, len(images), TRANSLATE_BATCH)
        ]
    return torch.cat(parts) if parts else images.clone()


def read_accuracy(classifier: MNISTClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of ``images`` that ``classifier`` reads as their ``labels``."""
    read = embed(classifier, images).probs.argmax(1).cpu()
    return float((read == labels).float().mean())


def direction_scores(
    forward: torch.nn.Module,
    backward: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor | None,
    classifier: MNISTClassifier | None,
) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """The scores of translating ``images`` by ``forward`` and back by ``backward``, with the
    translations and the reconstructions."""
    translated = translate(forward, images)
    back = translate(backward, translated)
    difference = back - images
    scores = {
        "cycle_l1": float(difference.abs().mean()),
        "cycle_mse": float(difference.square().mean()),
    }
    if classifier is not None and labels is not None:
        scores["label_preservation"] = read_accuracy(classifier, translated, labels)
        scores["untranslated_accuracy"] = read_accuracy(classifier, images, labels)
    return scores, translated, back


def translation_scores(
    generators: torch.nn.Module, dataset: Dataset, n: int | None = None
) -> tuple[dict, torch.Tensor]:
    """The scores of both directions on the first ``n`` test images of each domain (all by
    default), JSON-ready, and the figure's rows (flat images): A's originals, G(a), F(G(a)),
    B's originals, F(b), G(F(b))."""
    files = LABEL_CLASSIFIERS.get(dataset.name)
    classifiers = (None, None) if files is None else tuple(load_classifier("cpu", f) for f in files)
    a, b = dataset.test[:n], dataset.other.test[:n]
    labels_a = None if dataset.labels is None else dataset.labels.test[:n]
    labels_b = None if dataset.other.labels is None else dataset.other.labels.test[:n]
    a_to_b, fake_b, back_a = direction_scores(
        generators.ab, generators.ba, a, labels_a, classifiers[1]
    )
    b_to_a, fake_a, back_b = direction_scores(
        generators.ba, generators.ab, b, labels_b, classifiers[0]
    )
    unavailable = None
    if files is None:
        unavailable = (
            f"no shipped classifier reads the images of {dataset.name}; the cycle error alone "
            "judges its translations."
        )
    summary = {
        "dataset": dataset.name,
        "test_images": {"a": len(a), "b": len(b)},
        "a_to_b": a_to_b,
        "b_to_a": b_to_a,
        "label_preservation_unavailable": unavailable,
    }
    return summary, figure_rows((a, fake_b, back_a), (b, fake_a, back_b))


def figure_rows(from_a: tuple[torch.Tensor, ...], from_b: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The rows of a translation figure, as many columns as both domains fill (at most
    FIGURE_COLUMNS): A's originals, G(a), F(G(a)), then B's, F(b), G(F(b))."""
    k = min(FIGURE_COLUMNS, len(from_a[0]), len(from_b[0]))
    return torch.cat([images[:k] for images in (*from_a, *from_b)])


def translation_rows(generators: torch.nn.Module, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The figure's rows for the first images of ``a`` (domain A) and ``b`` (domain B)."""
    a, b = a[:FIGURE_COLUMNS], b[:FIGURE_COLUMNS]
    fake_b, fake_a = translate(generators.ab, a), translate(generators.ba, b)
    back_a, back_b = translate(generators.ba, fake_b), translate(generators.ab, fake_a)
    return figure_rows((a, fake_b, back_a), (b, fake_a, back_b))


def translation_file(run: RunDir) -> Path:
    """Where ``advnets translate`` writes a run's scores."""
    return run.path / "translate.json"


def current_translation(run: RunDir) -> dict | None:
    """translate.json if it scores the run's last checkpoint as it is now (and its figure is
    there), else None."""
    path, figure = translation_file(run), run.figures / "translate.png"
    if not (path.is_file() and figure.is_file()):
        return None
    record = json.loads(path.read_text())
    state = ckpt.read_state(run.checkpoint("last"))["state"]
    return record if record.get("step") == state["g_updates"] else None
