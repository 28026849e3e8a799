"""Drawing samples from a trained generator."""

from __future__ import annotations

import torch


@torch.no_grad()
def generate(generator: torch.nn.Module, n: int, seed: int, batch_size: int = 1000) -> torch.Tensor:
    """n samples x = G(z), z ~ p_z drawn from a private RNG seeded with ``seed``.

    The global RNG is left untouched, so sampling in the middle of training
    never changes what training does next.
    """
    rng = torch.Generator().manual_seed(seed)
    was_training = generator.training
    generator.eval()
    try:
        chunks = [
            generator(generator.sample_noise(min(batch_size, n - start), rng))
            for start in range(0, n, batch_size)
        ]
    finally:
        generator.train(was_training)
    return torch.cat(chunks) if chunks else torch.empty(0, generator.data_dim)
