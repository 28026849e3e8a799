"""How closely a bf16-autocast update follows the fp32 one, gradient by gradient.

    python benchmarks/bf16_agreement.py [--run RUN_DIR] [--batches 20]

For the paper's model, freshly initialised and (with ``--run``) at a trained
run's last checkpoint, both losses of the simultaneous update are computed on
the same minibatches of MNIST with the same noise and dropout masks, once in
fp32 and once under bf16 autocast (``training.precision=bf16``). Printed per
network: the cosine between the two gradients and the norm of their difference
relative to the fp32 gradient's, medians over ``--batches`` minibatches; and
for scale, the same two numbers between the fp32 gradients of consecutive
minibatches (the noise SGD lives with anyway).
"""

from __future__ import annotations

import argparse
import statistics

import torch
from common import timing_config

from advnets.data.registry import load_dataset
from advnets.games.losses import discriminator_loss, generator_loss
from advnets.models import build_models
from advnets.models.mlp import logit_of_mean_pixel
from advnets.runs import checkpoint as ckpt


def gradients(generator, discriminator, real, z, seed: int, bf16: bool) -> list[torch.Tensor]:
    """[∇θd of the D loss, ∇θg of the G loss], flattened, for one minibatch."""
    torch.manual_seed(seed)  # the same dropout masks in both precisions
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        fake = generator(z)
        logits = discriminator(torch.cat([real, fake.float()])).float()
    real_logits, fake_logits = logits[: len(real)], logits[len(real) :]
    d_loss = discriminator_loss(real_logits, fake_logits)
    g_loss = generator_loss("non_saturating")(fake_logits)
    d_grads = torch.autograd.grad(d_loss, list(discriminator.parameters()), retain_graph=True)
    g_grads = torch.autograd.grad(g_loss, list(generator.parameters()))
    return [torch.cat([g.flatten() for g in grads]) for grads in (d_grads, g_grads)]


def compare(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """(cosine, ‖b − a‖ / ‖a‖)."""
    cosine = torch.nn.functional.cosine_similarity(a, b, dim=0)
    return float(cosine), float((b - a).norm() / a.norm())


def medians(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(c for c, _ in pairs), statistics.median(r for _, r in pairs)


def agreement(generator, discriminator, data, batches: int) -> list[tuple[float, ...]]:
    """Per network (D, G): medians of (cosine, relative difference) fp32 vs bf16 on the
    same minibatch, then fp32 vs fp32 on consecutive minibatches."""
    rng = torch.Generator().manual_seed(0)
    precision: list[list[tuple[float, float]]] = [[], []]
    sampling: list[list[tuple[float, float]]] = [[], []]
    previous = None
    for i in range(batches):
        real = data.train[i * 100 : (i + 1) * 100]
        z = generator.sample_noise(100, rng)
        exact = gradients(generator, discriminator, real, z, i, bf16=False)
        rounded = gradients(generator, discriminator, real, z, i, bf16=True)
        for network in range(2):
            precision[network].append(compare(exact[network], rounded[network]))
            if previous is not None:
                sampling[network].append(compare(previous[network], exact[network]))
        previous = exact
    return [(*medians(precision[n]), *medians(sampling[n])) for n in range(2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a mnist-paper run directory (its last checkpoint)")
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    config = timing_config("mnist-paper")
    data = load_dataset(config.data)
    torch.manual_seed(0)
    generator, discriminator = build_models(config.model, 784, logit_of_mean_pixel(data.train))
    states = [("initialisation", None)] + ([("trained", args.run)] if args.run else [])
    print(
        "| weights | network | cosine(fp32, bf16) | ‖bf16 − fp32‖ / ‖fp32‖ "
        "| cosine, next minibatch (fp32) | relative difference, next minibatch |"
    )
    print("|---|---|---|---|---|---|")
    for name, run in states:
        if run is not None:
            tensors, _ = ckpt.load_checkpoint(f"{run}/checkpoints/last.safetensors")
            ckpt.load_module("generator", generator, tensors)
            ckpt.load_module("discriminator", discriminator, tensors)
        rows = agreement(generator, discriminator, data, args.batches)
        for network, values in zip(("D", "G"), rows, strict=True):
            print(f"| {name} | {network} | " + " | ".join(f"{v:.3f}" for v in values) + " |")


if __name__ == "__main__":
    main()
