"""Semi-supervised learning from a trained D's features (advnets.evaluation.semisupervised)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from advnets.data.datasets import Labels
from advnets.evaluation import semisupervised


class ReadsTheClass(nn.Module):
    """A stand-in D whose last hidden layer holds the class, stamped in the first pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Identity()
        self.output = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.hidden(x[:, :4] * 10)).squeeze(-1)


def stamped(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise images whose first 4 pixels say the class (one of 4) faintly."""
    rng = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 4
    images = torch.rand(n, 784, generator=rng)
    images[:, :4] = 0.05 * nn.functional.one_hot(labels, 4)
    return images, labels


def test_features_are_what_the_output_layer_reads_in_evaluation_mode() -> None:
    images, _ = stamped(1200, 0)
    features = semisupervised.discriminator_features(ReadsTheClass().train(), images)
    assert features.shape == (1200, 4) and torch.allclose(features, images[:, :4] * 10)


def test_each_draw_labels_the_same_number_of_every_class() -> None:
    labels = torch.arange(100) % 4
    chosen = semisupervised.labelled_draw(labels, 5, seed=1)
    assert torch.bincount(labels[chosen]).tolist() == [5, 5, 5, 5]
    assert not torch.equal(chosen, semisupervised.labelled_draw(labels, 5, seed=2))
    with pytest.raises(ValueError, match="fewer than 30"):
        semisupervised.labelled_draw(labels, 30, seed=1)


def test_features_that_hold_the_class_beat_pixels_that_bury_it(monkeypatch) -> None:
    from conftest import make_dataset

    monkeypatch.setattr(semisupervised, "SUPERVISED_STEPS", 20)
    (train, train_labels), (test, test_labels) = stamped(400, 1), stamped(100, 2)
    base = make_dataset()
    dataset = dataclasses.replace(
        base,
        train=train,
        test=test,
        labels=Labels(train_labels, test_labels[:100], test_labels, tuple("abcd")),
    )
    scores = semisupervised.semi_supervised_scores(ReadsTheClass(), dataset, per_class=3, draws=2)
    errors = scores["mean_test_error"]
    assert errors["D features"] == 0.0 and errors["pixels"] > 0.3
    assert len(scores["test_error"]["supervised MLP"]) == 2
