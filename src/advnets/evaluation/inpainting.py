"""Inpainting with a trained G: the paper's future-work item "all conditionals p(x_S | x_not S)"
answered by searching G's latent space (Yeh et al. 2017, "Semantic image inpainting with
deep generative models").

For an image y with hidden pixels M (1 = hidden), find the code whose image agrees with y
where y is visible and that D takes for real:

    z* = argmin_z  ‖(1 − M) ⊙ (G(z) − y)‖₁  +  λ · log(1 − D(G(z)))        (their Eq. 4–5)

with λ = 0.003 (theirs), several random restarts (the best kept), z kept in the prior's
support, and Adam (``evaluation.latent_search``). The completion is y where visible and G(z*)
where hidden (they blend the seam with Poisson editing; here the pixels are copied, stated).
Two simple fills are the yardsticks: the mean training image, and the training image nearest
on the visible pixels. A second learned method is a context encoder (Pathak et al. 2016): a
network trained to predict the hidden region from the visible pixels
(``models.context_encoder``). Each is judged on the hidden pixels (mean squared error, PSNR)
and by the shipped classifier's accuracy on the completed digits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from advnets.evaluation.latent_search import SearchSettings, search_latent_codes
from advnets.evaluation.metrics import classifier_accuracy, has_domain_features
from advnets.evaluation.neighbours import nearest_neighbours
from advnets.models.context_encoder import complete
from advnets.sampling import eval_mode

PRIOR_WEIGHT = 0.003  # λ of Yeh et al. 2017
SHAPES = ("center", "left", "right", "top", "bottom")


class MaskError(ValueError):
    """A mask that cannot be used (one sentence)."""


def make_mask(spec: str, side: int = 28, seed: int = 0) -> torch.Tensor:
    """The hidden pixels (1 = hidden) of a mask spec, flat (side²,): a named region
    (``center``: the middle half of each side; ``left``, ``right``, ``top``, ``bottom``:
    that half), ``random:P`` (each pixel hidden with probability P, seeded), or a PNG file
    of the image's size (black = hidden, white = kept)."""
    hidden = torch.zeros(side, side)
    half, quarter = side // 2, side // 4
    if spec == "center":
        hidden[quarter : side - quarter, quarter : side - quarter] = 1
    elif spec in ("left", "right", "top", "bottom"):
        region = {
            "left": (slice(None), slice(0, half)),
            "right": (slice(None), slice(half, None)),
            "top": (slice(0, half), slice(None)),
            "bottom": (slice(half, None), slice(None)),
        }[spec]
        hidden[region] = 1
    elif spec.startswith("random:"):
        share = _share(spec)
        rng = torch.Generator().manual_seed(seed)
        hidden = (torch.rand(side, side, generator=rng) < share).float()
    else:
        hidden = _mask_file(Path(spec), side)
    count = int(hidden.sum())
    if count in (0, side * side):
        what = "nothing" if count == 0 else "every pixel"
        raise MaskError(f"the mask {spec!r} hides {what}: there is nothing to inpaint.")
    return hidden.reshape(-1)


def _share(spec: str) -> float:
    try:
        share = float(spec.split(":", 1)[1])
    except ValueError:
        share = math.nan
    if not 0 < share < 1:
        raise MaskError(f"the mask {spec!r} needs a share of hidden pixels between 0 and 1.")
    return share


def _mask_file(path: Path, side: int) -> torch.Tensor:
    if not path.is_file():
        raise MaskError(
            f"the mask {str(path)!r} is neither {', '.join(SHAPES)}, random:P nor a PNG file."
        )
    try:
        with Image.open(path) as image:
            grey = np.asarray(image.convert("L"), dtype=np.float32)
    except OSError as error:
        raise MaskError(f"the mask file {path} is not a readable image ({error}).") from None
    if grey.shape != (side, side):
        raise MaskError(
            f"the mask file {path} is {grey.shape[1]}x{grey.shape[0]} pixels; the images are "
            f"{side}x{side}."
        )
    return torch.from_numpy((grey < 128).astype(np.float32))


def search_latent(
    generator: torch.nn.Module,
    discriminator: torch.nn.Module,
    images: torch.Tensor,
    hidden: torch.Tensor,
    settings: SearchSettings,
    seed: int = 0,
) -> torch.Tensor:
    """G(z*) for each image (see the module docstring), the best of the restarts."""
    visible = 1 - hidden

    def inpainting_loss(fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-image contextual loss (L1 on the visible pixels) + λ · log(1 − D(G(z)))."""
        contextual = ((fake - target).abs() * visible).sum(dim=1)
        prior = -F.softplus(discriminator(fake).reshape(-1))  # log(1 − D) = −softplus(logit)
        return contextual + PRIOR_WEIGHT * prior

    with eval_mode(discriminator):
        codes = search_latent_codes(generator, inpainting_loss, images, settings, seed)
    with torch.no_grad(), eval_mode(generator):
        return generator(codes)


def simple_fills(images: torch.Tensor, hidden: torch.Tensor, train: torch.Tensor) -> dict:
    """The yardsticks: the mean training image, and each image's nearest training image on
    its visible pixels."""
    nearest = nearest_neighbours(images * (1 - hidden), train * (1 - hidden)).indices[:, 0]
    return {"mean image": train.mean(dim=0).expand_as(images), "nearest neighbour": train[nearest]}


def hidden_error(completed: torch.Tensor, originals: torch.Tensor, hidden: torch.Tensor) -> dict:
    """Mean squared error over the hidden pixels, and its PSNR (pixels in [0, 1])."""
    mse = (((completed - originals) * hidden) ** 2).sum() / (hidden.sum() * len(originals))
    return {"mse": mse.item(), "psnr_db": 10 * math.log10(1 / max(mse.item(), 1e-12))}


# a completion method: (images (N, values), hidden values (values,), 1 = hidden) -> the fill
Method = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LATENT_SEARCH = "GAN latent search"
CONTEXT_ENCODER = "context encoder"


def latent_search(
    generator: torch.nn.Module,
    discriminator: torch.nn.Module,
    settings: SearchSettings,
    seed: int = 0,
) -> Method:
    """G's latent search (:func:`search_latent`) as a completion method."""
    return lambda images, hidden: search_latent(
        generator, discriminator, images, hidden, settings, seed
    )


def context_encoder(network: torch.nn.Module) -> Method:
    """A trained context encoder (Pathak et al. 2016, ``models.context_encoder``) as a
    completion method: its prediction of each image from the visible pixels, in evaluation
    mode."""

    def fill(images: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        pixels = hidden.reshape(-1, hidden.numel() // network.shape[0])[0]  # one channel's
        with torch.no_grad(), eval_mode(network):
            return network(images, pixels.expand(len(images), -1))

    return fill


def inpaint_test_images(
    methods: dict[str, Method], dataset, hidden: torch.Tensor, n: int
) -> tuple[dict, torch.Tensor]:
    """The first ``n`` test images with the pixels ``hidden`` (one side², the same for every
    channel) completed by the simple fills and each of ``methods``: their scores
    (hidden-pixel error, and the classifier's accuracy where one is shipped, also on the
    masked and original images), and the rows of the figure (masked, each method in that
    order, original; up to 10 images each)."""
    hidden = hidden.repeat(dataset.channels)
    images = dataset.test[:n]
    fills = simple_fills(images, hidden, dataset.train)
    fills.update({name: method(images, hidden) for name, method in methods.items()})
    completed = {name: complete(images, hidden, fill) for name, fill in fills.items()}
    scores = {name: hidden_error(done, images, hidden) for name, done in completed.items()}
    masked = complete(images, hidden, torch.full_like(images, 0.5))  # hidden pixels grey
    if has_domain_features(dataset):
        labels = dataset.labels.test[:n]
        for name, done in [("masked", masked), *completed.items(), ("original", images)]:
            scores.setdefault(name, {})["classifier_accuracy"] = classifier_accuracy(
                done, labels, name, dataset
            )
    shown = min(10, n)
    rows = [masked[:shown], *(done[:shown] for done in completed.values()), images[:shown]]
    return scores, torch.cat(rows)
