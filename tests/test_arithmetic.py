"""Vector arithmetic in the latent space: groups by class and attribute, and what their
averages add up to (advnets.evaluation.arithmetic)."""

from __future__ import annotations

import pytest
import torch

from advnets.evaluation import arithmetic


class LinearDigits(torch.nn.Module):
    """A stand-in generator whose code is linear in both attributes: z[0] > 0 draws a 7 and
    z[0] < 0 a 1 (stamped in the first pixel), z[1] sets the stroke's thickness."""

    data_dim = 784

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, 2, generator=generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        images = torch.zeros(len(z), 784)
        images[:, 1:200] = torch.sigmoid(z[:, 1:2])  # more ink for a larger z[1]
        images[:, 0] = torch.where(z[:, 0] > 0, 0.7, 0.1)
        return images


def read_the_stamp(images, name, classifier=None):
    from advnets.evaluation.classifier import Embedding

    classes = (torch.as_tensor(images)[:, 0] * 10).round().long()
    return Embedding(torch.zeros(len(classes), 16), torch.nn.functional.one_hot(classes, 10))


def test_thick_7_minus_thin_7_plus_thin_1_is_a_thick_1(monkeypatch) -> None:
    monkeypatch.setattr(arithmetic, "embed_images", read_the_stamp)
    found = arithmetic.latent_arithmetic(
        LinearDigits(), "thickness", 7, 1, 2000, seed=0, classifier=0
    )
    summary = found["summary"]
    assert summary["equation"] == "thick 7 − thin 7 + thin 1"
    thick_7, thin_7, thin_1 = summary["group_attribute"]
    assert thick_7 > thin_7 and summary["result_attribute"] > thin_1  # the attribute moved
    assert summary["result_share_of_second_class"] == 1.0  # and the class stayed
    assert summary["group_sizes"] == [len(g.indices) for g in found["groups"]]
    cells, columns = arithmetic.figure_rows(found)
    assert (columns, cells.shape) == (8, (4 * 8, 784))


def test_slant_is_positive_for_a_stroke_leaning_right() -> None:
    image = torch.zeros(28, 28)
    for row in range(4, 24):  # from bottom left to top right (row 0 is the top)
        image[row, 27 - row] = 1.0
    mirrored = image.flip(1)
    values = arithmetic.slant(torch.stack([image.ravel(), mirrored.ravel()]))
    assert values[0] > 0.9 and values[1] < -0.9


def test_too_few_samples_of_a_class_is_one_sentence() -> None:
    labels, values = torch.tensor([7, 7, 1, 1, 1]), torch.rand(5)
    with pytest.raises(ValueError, match="only 2 of the samples are read as 7s"):
        arithmetic.group(labels, values, 7, "high")


def test_arithmetic_on_a_missing_run_is_one_sentence(tmp_path, capsys) -> None:
    from advnets.cli import main

    assert main(["arithmetic", str(tmp_path / "none")]) != 0
    assert "there is no run directory at" in capsys.readouterr().err


def test_without_classes_bright_minus_dark_brightens_every_code() -> None:
    """Images no classifier reads (a folder run): the brightness direction, added to fresh
    codes, brightens them, and subtracted, darkens them."""
    found = arithmetic.attribute_shift(LinearDigits(), 2000, seed=0)
    summary = found["summary"]
    bright, dark = summary["group_attribute"]
    assert bright > dark
    assert summary["plus_attribute"] > summary["base_attribute"] > summary["minus_attribute"]
    assert summary["share_brighter"] == 1.0 and summary["share_darker"] == 1.0
    assert [row.shape for row in found["rows"]] == [(8, 784)] * 3
    cells, columns = arithmetic.figure_rows(found)
    assert (columns, cells.shape) == (8, (3 * 8, 784))
