"""Vector arithmetic in the latent space (Radford et al. 2016, Section 6.3): average the codes
z of samples that share an attribute, add and subtract the averages, and decode.

"thick 7 − thin 7 + thin 1" should decode to a thick 1: the difference of the first two
averages isolates thickness, and adding it to thin 1s keeps their class. Samples are grouped
by the class the shipped MNIST classifier reads and by a measured attribute:

- ``thickness``: the ink of a digit, its mean pixel value (a thicker stroke of the same
  digit covers more pixels);
- ``slant``: the shear of its ink, cov(x, y) / var(y) over the ink-weighted pixel
  coordinates (y pointing up): positive leans right, like italics.

A group is the samples of a class whose attribute lies in the top (``high``) or bottom
(``low``) quarter of that class. Every result states the class the classifier reads and the
attribute it measures, beside the groups', so the claim can be checked, not only looked at.

Images no classifier knows (a folder of the user's own) have no classes to group by:
:func:`attribute_shift` takes the brightness (the same mean pixel value) of all the samples,
and adds the difference of the brightest and the darkest quarter's mean codes to fresh codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from advnets.evaluation.classifier import load_classifier
from advnets.evaluation.metrics import embed_images
from advnets.sampling import eval_mode

SHARE = 0.25  # a group: the top or bottom quarter of a class by the attribute
VARIANTS = 8  # results decoded around the arithmetic's code, as Radford et al. show
VARIANT_NOISE = 0.25  # their spread: uniform noise of this half-width added to the code


def thickness(images: torch.Tensor, side: int = 28) -> torch.Tensor:
    """The mean pixel value of each flat image (its ink)."""
    return images.mean(dim=1)


def slant(images: torch.Tensor, side: int = 28) -> torch.Tensor:
    """cov(x, y) / var(y) of each image's ink-weighted pixel coordinates, y pointing up."""
    ink = images.reshape(-1, side, side).clamp(min=0) + 1e-8
    axis = torch.arange(side, dtype=images.dtype)
    rows, cols = torch.meshgrid(axis, axis, indexing="ij")
    y, x = -rows, cols
    weight = ink / ink.sum(dim=(1, 2), keepdim=True)
    mean_x, mean_y = (weight * x).sum(dim=(1, 2)), (weight * y).sum(dim=(1, 2))
    dx, dy = x - mean_x[:, None, None], y - mean_y[:, None, None]
    return (weight * dx * dy).sum(dim=(1, 2)) / (weight * dy * dy).sum(dim=(1, 2))


ATTRIBUTES = {"thickness": thickness, "slant": slant}


@dataclass(frozen=True)
class Group:
    """Samples of one class at one end of the attribute."""

    label: int
    end: str  # "high" or "low"
    indices: torch.Tensor  # into the drawn samples

    def name(self, attribute: str) -> str:
        words = {"thickness": ("thick", "thin"), "slant": ("right-leaning", "left-leaning")}
        return f"{words[attribute][self.end == 'low']} {self.label}"


def group(labels: torch.Tensor, values: torch.Tensor, label: int, end: str) -> Group:
    """The top or bottom :data:`SHARE` of the samples read as ``label`` by ``values``."""
    members = (labels == label).nonzero().squeeze(1)
    count = int(len(members) * SHARE)
    if count < 2:
        raise ValueError(
            f"only {len(members)} of the samples are read as {label}s: too few to average "
            "the top and bottom quarters; draw more samples (--samples)."
        )
    order = values[members].argsort(descending=end == "high")
    return Group(label, end, members[order[:count]])


def latent_arithmetic(
    generator: torch.nn.Module,
    attribute: str,
    first: int,
    second: int,
    samples: int,
    seed: int,
    classifier=None,
) -> dict:
    """high ``first`` − low ``first`` + low ``second`` in the codes of ``samples`` draws;
    returns the groups, the result's decoded images and every measurement."""
    measure = ATTRIBUTES[attribute]
    classifier = classifier or load_classifier()
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad(), eval_mode(generator):
        z = generator.sample_noise(samples, rng)
        images = generator(z)
        labels = embed_images(images, "samples", classifier).probs.argmax(1)
        values = measure(images)
        groups = [
            group(labels, values, first, "high"),
            group(labels, values, first, "low"),
            group(labels, values, second, "low"),
        ]
        means = [z[g.indices].mean(dim=0) for g in groups]
        code = means[0] - means[1] + means[2]
        spread = torch.rand(VARIANTS - 1, z.shape[1], generator=rng) * 2 - 1
        codes = torch.cat([code[None], code + VARIANT_NOISE * spread])
        results = generator(codes)
        averages = generator(torch.stack(means))
        result_labels = embed_images(results, "results", classifier).probs.argmax(1)
    return {
        "groups": groups,
        "examples": [images[g.indices[:3]] for g in groups],
        "averages": averages,
        "results": results,
        "summary": {
            "attribute": attribute,
            "equation": (
                f"{groups[0].name(attribute)} − {groups[1].name(attribute)} + "
                f"{groups[2].name(attribute)}"
            ),
            "samples": samples,
            "group_sizes": [len(g.indices) for g in groups],
            "group_attribute": [values[g.indices].mean().item() for g in groups],
            "average_decoded_attribute": measure(averages).tolist(),
            "result_attribute": measure(results).mean().item(),
            "result_classes": result_labels.tolist(),
            "result_share_of_second_class": result_labels.eq(second).float().mean().item(),
        },
    }


def attribute_shift(generator: torch.nn.Module, samples: int, seed: int) -> dict:
    """bright − dark without classes: the mean code of the brightest :data:`SHARE` of
    ``samples`` draws minus that of the darkest, added to and subtracted from
    :data:`VARIANTS` fresh codes. Returns the decoded rows (the codes, plus, minus) and the
    brightness of each, so that the direction can be checked, not only looked at."""
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad(), eval_mode(generator):
        z = generator.sample_noise(samples, rng)
        values = thickness(generator(z))
        count = int(samples * SHARE)
        if count < 2:
            raise ValueError(f"{samples} samples are too few to average quarters; draw more.")
        order = values.argsort(descending=True)
        brightest, darkest = order[:count], order[-count:]
        direction = z[brightest].mean(dim=0) - z[darkest].mean(dim=0)
        codes = generator.sample_noise(VARIANTS, rng)
        rows = [generator(codes), generator(codes + direction), generator(codes - direction)]
    base, brighter, darker = (thickness(row) for row in rows)
    return {
        "rows": rows,
        "summary": {
            "attribute": "brightness",
            "equation": "z + (bright − dark), z − (bright − dark)",
            "samples": samples,
            "group_attribute": [values[brightest].mean().item(), values[darkest].mean().item()],
            "base_attribute": base.mean().item(),
            "plus_attribute": brighter.mean().item(),
            "minus_attribute": darker.mean().item(),
            "share_brighter": (brighter > base).float().mean().item(),
            "share_darker": (darker < base).float().mean().item(),
        },
    }


def figure_rows(found: dict) -> tuple[torch.Tensor, int]:
    """The cells of the arithmetic's figure, row by row. For :func:`latent_arithmetic`: each
    group's three examples and the decoding of its average code (then blank), and a last row
    of the results; for :func:`attribute_shift`: its rows z, z plus, z minus. Returns the flat
    images and the number of columns."""
    columns = VARIANTS
    if "rows" in found:  # attribute_shift's
        return torch.cat(found["rows"]), columns
    blank = torch.ones(found["results"].shape[1])  # white, like the grid's padding
    cells = []
    for examples, average in zip(found["examples"], found["averages"], strict=True):
        row = [*examples, average]
        cells += row + [blank] * (columns - len(row))
    cells += list(found["results"])
    return torch.stack(cells), columns
