"""Drawing samples from a trained generator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Run ``module`` in evaluation mode, restoring its training flag afterwards."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@torch.no_grad()
def generate(
    generator: torch.nn.Module,
    n: int,
    seed: int,
    batch_size: int = 1000,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """n samples x = G(z) on ``device``, z ~ p_z drawn from a private RNG seeded with ``seed``.

    The global RNG is left untouched, so sampling in the middle of training
    never changes what training does next. The noise is the same on every device;
    samples left on the generator's device (``device`` = its device) skip a copy.
    """
    rng = torch.Generator().manual_seed(seed)
    with eval_mode(generator):
        chunks = [
            generator(generator.sample_noise(min(batch_size, n - start), rng))
            for start in range(0, n, batch_size)
        ]
    if not chunks:
        return torch.empty(0, generator.data_dim, device=device)
    return torch.cat(chunks).to(device)


@torch.no_grad()
def generate_by_class(generator: torch.nn.Module, rows: int, seed: int) -> torch.Tensor:
    """A conditional generator's samples, one column per class: row r holds G(z_r | y) for
    every class y with the same z_r (the style of one sample carried to every class).
    Returns (rows · classes, D), row after row."""
    classes = generator.num_classes
    noise = generator.sample_noise(rows, torch.Generator().manual_seed(seed))
    labels = torch.arange(classes, device=noise.device).repeat(rows)
    with eval_mode(generator):
        return generator(noise.repeat_interleave(classes, dim=0), labels).cpu()


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, spherical: bool = False):
    """``steps`` points from z0 to z1 (both included), shape (steps, dim).

    Linear, z(t) = (1 − t)·z0 + t·z1, as in Figure 3 of the paper; or spherical
    (slerp), z(t) = sin((1 − t)ω)/sin ω·z0 + sin(tω)/sin ω·z1 with ω the angle
    between z0 and z1, which keeps the norm of Gaussian noise typical along the path.
    """
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, got {steps}.")
    t = torch.linspace(0, 1, steps, dtype=z0.dtype).unsqueeze(1)
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp(min=1e-12)
    omega = torch.arccos(cos.clamp(-1, 1))
    if not spherical or float(omega.sin().abs()) < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / omega.sin()


@torch.no_grad()
def interpolation_samples(
    generator: torch.nn.Module, rows: int, steps: int, seed: int, spherical: bool = False
) -> torch.Tensor:
    """G(z) along ``rows`` paths between random noise pairs, row after row: (rows·steps, D)."""
    rng = torch.Generator().manual_seed(seed)
    ends = generator.sample_noise(2 * rows, rng)
    noise = torch.cat(
        [interpolate(ends[2 * r], ends[2 * r + 1], steps, spherical) for r in range(rows)]
    )
    with eval_mode(generator):
        return generator(noise)
