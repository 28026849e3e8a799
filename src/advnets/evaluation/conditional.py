"""Per-class scores of a conditional generator: does G(z | y) draw class y, and how well?

- **Conditional accuracy**: the share of samples drawn for class y that the shipped
  classifier reads as y, overall and per class (1 is perfect; a G that ignores y scores
  about the share of its favourite class, 0.1 for ten classes).
- **Per-class FID**: the Fréchet distance, in the classifier's features, between the
  samples of class y and the test images of class y (how well each class is drawn, not
  only whether it is the right one).
"""

from __future__ import annotations

import torch

from advnets.data.datasets import Dataset
from advnets.evaluation.metrics import (
    Embedding,
    domain_classifier,
    embed_images,
    frechet_distance,
)
from advnets.sampling import generate

SAMPLES_PER_CLASS = 1000  # as many as the test set has of each digit


def conditional_scores(
    generator: torch.nn.Module,
    dataset: Dataset,
    seed: int,
    test: Embedding | None = None,
    per_class: int = SAMPLES_PER_CLASS,
) -> dict:
    """Conditional accuracy and per-class FID of ``generator`` (a ClassSampler) against the
    test images of ``dataset``, ``per_class`` samples of each class (noise seed ``seed + y``);
    ``test``: the classifier's embedding of the test images, if already made."""
    classifier = domain_classifier(dataset)
    if test is None:
        test = embed_images(dataset.test, "test images", classifier)
    accuracy, fid = [], []
    try:
        for label in range(generator.num_classes):
            generator.fixed_class = label
            samples = embed_images(
                generate(generator, per_class, seed + label), "samples", classifier
            )
            accuracy.append(samples.probs.argmax(1).eq(label).float().mean().item())
            real = test.features[dataset.labels.test == label]
            fid.append(frechet_distance(real, samples.features))
    finally:
        generator.fixed_class = None
    return {
        "accuracy": sum(accuracy) / len(accuracy),
        "per_class_accuracy": accuracy,
        "per_class_fid": fid,
        "samples_per_class": per_class,
    }
