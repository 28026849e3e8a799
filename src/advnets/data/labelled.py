"""A few labelled images drawn from a labelled training split: the labelled subset of
semi-supervised learning (the K+1-class GAN's training, the linear probes of a D's
features)."""

from __future__ import annotations

import torch


def labelled_draw(labels: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Indices of ``per_class`` random training images of each class, the same for the same
    ``seed``."""
    rng = torch.Generator().manual_seed(seed)
    chosen = []
    for label in labels.unique().tolist():
        members = (labels == label).nonzero().squeeze(1)
        if len(members) < per_class:
            raise ValueError(
                f"class {label} has {len(members)} training images, fewer than {per_class}."
            )
        chosen.append(members[torch.randperm(len(members), generator=rng)[:per_class]])
    return torch.cat(chosen)
