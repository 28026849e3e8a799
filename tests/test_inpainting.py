"""Inpainting by searching G's latent space (advnets.evaluation.inpainting)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from advnets.evaluation import inpainting


@pytest.mark.parametrize(
    ("spec", "hidden_rows", "hidden_cols"),
    [("center", range(7, 21), range(7, 21)), ("left", range(28), range(14)),
     ("bottom", range(14, 28), range(28))],
)  # fmt: skip
def test_named_masks_hide_their_region(spec, hidden_rows, hidden_cols) -> None:
    mask = inpainting.make_mask(spec).reshape(28, 28)
    expected = torch.zeros(28, 28)
    expected[np.ix_(list(hidden_rows), list(hidden_cols))] = 1
    assert torch.equal(mask, expected)


def test_random_and_file_masks(tmp_path) -> None:
    random = inpainting.make_mask("random:0.3", seed=1)
    assert 0.25 < random.mean() < 0.35 and torch.equal(
        random, inpainting.make_mask("random:0.3", seed=1)
    )
    pixels = np.full((28, 28), 255, np.uint8)
    pixels[:5] = 0  # black: hidden
    Image.fromarray(pixels).save(tmp_path / "mask.png")
    assert inpainting.make_mask(str(tmp_path / "mask.png")).sum() == 5 * 28


@pytest.mark.parametrize(
    ("spec", "words"),
    [("random:0", "between 0 and 1"), ("random:x", "between 0 and 1"),
     ("nowhere.png", "neither center"), ("all-black", "neither center")],
)  # fmt: skip
def test_unusable_masks_are_one_sentence(spec, words) -> None:
    with pytest.raises(inpainting.MaskError, match=words):
        inpainting.make_mask(spec)


def test_masks_that_hide_nothing_or_everything_or_do_not_fit_are_refused(tmp_path) -> None:
    for value, words in ((255, "hides nothing"), (0, "hides every pixel")):
        Image.fromarray(np.full((28, 28), value, np.uint8)).save(tmp_path / "m.png")
        with pytest.raises(inpainting.MaskError, match=words):
            inpainting.make_mask(str(tmp_path / "m.png"))
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(inpainting.MaskError, match="32x32 pixels; the images are 28x28"):
        inpainting.make_mask(str(tmp_path / "big.png"))


class LinearG(torch.nn.Module):
    """A stand-in G that is linear in 8-d Gaussian noise: every image is in its range."""

    noise = "gaussian"

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(
            torch.randn(8, 784, generator=torch.Generator().manual_seed(0))
        )

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, 8, generator=generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.weight


class IndifferentD(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x))


def test_the_search_recovers_hidden_pixels_that_the_visible_ones_determine() -> None:
    generator = LinearG()
    truth = generator(torch.randn(3, 8, generator=torch.Generator().manual_seed(5))).detach()
    hidden = inpainting.make_mask("center")
    settings = inpainting.SearchSettings(restarts=2, steps=400, lr=0.05)
    found = inpainting.search_latent(generator, IndifferentD(), truth, hidden, settings)
    completed = inpainting.complete(truth, hidden, found)
    start = inpainting.complete(truth, hidden, torch.zeros_like(truth))
    error = inpainting.hidden_error(completed, truth, hidden)["mse"]
    assert error < 0.01 * inpainting.hidden_error(start, truth, hidden)["mse"]


def test_the_nearest_fill_matches_on_the_visible_pixels_only() -> None:
    train = torch.zeros(3, 784)
    train[1, :100] = 1.0  # like the query where visible
    train[2, 300:400] = 1.0  # like the query only where hidden
    query = torch.zeros(1, 784)
    query[0, :100] = 1.0
    query[0, 300:400] = 1.0
    hidden = torch.zeros(784)
    hidden[300:400] = 1
    fills = inpainting.simple_fills(query, hidden, train)
    assert torch.equal(fills["nearest neighbour"][0], train[1])
    assert torch.allclose(fills["mean image"][0], train.mean(0))
