"""Parameter counts, forward cost and CPU training speed of each family's networks.

    python benchmarks/network_sizes.py [--threads 1 2] [--batch 100] [--steps 10]
        [--repeats 5] [--channels-last]

One update is what a GAN game does per minibatch of m real images: G(z) on m
latent codes; D on the real and on the (detached) fake images and backward
through D (the D step); D on the fake images again and backward through D into
G (the G step). No optimiser step: the networks' cost only. The images are
random (speed does not depend on content), shaped as each G produces them.
Each rate is the best of ``--repeats`` rounds, each timing ``--steps`` updates
of every pair in turn after warm-up, at each thread count; the best fp32 GEMM
rate of the rounds shows how much of the CPU the run had. ``--channels-last``
stores the convolutional networks' weights and images channels-last (N, H, W, C
in memory), which the CPU's convolutions run faster on. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits, cross_entropy

from advnets.models import count_parameters
from advnets.models.conditional import ConditionalMaxoutDiscriminator, ConditionalMLPGenerator
from advnets.models.dcgan import DCGANDiscriminator, DCGANGenerator
from advnets.models.mlp import MaxoutDiscriminator, MLPGenerator
from advnets.training.throughput import gemm_gflops


@dataclass
class Networks:
    name: str
    generator: nn.Module
    discriminator: nn.Module
    classes: int = 0  # labels for G and D: 0 none; > 0 as input (cGAN) or D's class head (AC-GAN)
    auxiliary: bool = False  # AC-GAN: D returns (logit, class logits)


def families() -> list[Networks]:
    rows = [Networks("paper MLP (G 1200-1200, maxout D)", MLPGenerator(), MaxoutDiscriminator())]
    rows.append(
        Networks(
            "cGAN (Mirza & Osindero)",
            ConditionalMLPGenerator(),
            ConditionalMaxoutDiscriminator(),
            classes=10,
        )
    )
    for shape in ((1, 28, 28), (3, 28, 28), (1, 32, 32), (3, 32, 32)):
        rows.append(Networks("DCGAN", DCGANGenerator(shape), DCGANDiscriminator(shape)))
    for base in (16, 64):
        rows.append(
            Networks(
                f"DCGAN, base_channels {base}",
                DCGANGenerator(base_channels=base),
                DCGANDiscriminator(base_channels=base),
            )
        )
    rows.append(
        Networks(
            "AC-GAN (DCGAN, 10 classes)",
            DCGANGenerator(num_classes=10),
            DCGANDiscriminator(num_classes=10),
            classes=10,
            auxiliary=True,
        )
    )
    return rows


def out_shape(generator: nn.Module) -> tuple[int, ...]:
    """One sample's shape: the protocol's ``out_shape``, or the paper MLP's ``data_dim``."""
    return getattr(generator, "out_shape", None) or (generator.data_dim,)


def latent(generator: nn.Module, m: int) -> torch.Tensor:
    """m latent codes: the protocol's ``sample_latent``, or the paper MLP's ``sample_noise``."""
    sample = getattr(generator, "sample_latent", None) or generator.sample_noise
    return sample(m)


def forward_macs(net: Networks) -> tuple[float, float]:
    """Multiply-adds of one forward pass per image of (G, D), counted by hooks on the
    linear and (transposed) convolution layers."""
    counts: dict[nn.Module, int] = {}

    def hook(module, inputs, output):
        n = output.shape[0]
        if isinstance(module, nn.Linear):
            macs = module.in_features * module.out_features
        elif isinstance(module, nn.Conv2d):
            macs = output[0].numel() * module.in_channels * module.weight[0, 0].numel()
        else:  # transposed convolution: every input value meets every output channel's kernel
            macs = inputs[0][0].numel() * module.out_channels * module.weight[0, 0].numel()
        counts[module] = counts.get(module, 0) + macs * n

    handles = [
        m.register_forward_hook(hook)
        for module in (net.generator, net.discriminator)
        for m in module.modules()
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d)
    ]
    m = 4
    c = torch.arange(m) % net.classes if net.classes else None
    with torch.no_grad():
        x = generate(net, latent(net.generator, m), c)
        before = sum(counts.values())
        discriminate(net, x, c)
    for handle in handles:
        handle.remove()
    total = sum(counts.values())
    return before / m, (total - before) / m


def generate(net: Networks, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    return net.generator(z, c) if net.classes else net.generator(z)


def discriminate(net: Networks, x: torch.Tensor, c: torch.Tensor | None):
    if net.classes and not net.auxiliary:
        return net.discriminator(x, c)
    return net.discriminator(x)


def loss(net: Networks, x: torch.Tensor, c: torch.Tensor | None, real: bool) -> torch.Tensor:
    """The real/fake cross-entropy, plus AC-GAN's class log-likelihood."""
    out = discriminate(net, x, c)
    logit = out[0] if net.auxiliary else out
    target = torch.full_like(logit, float(real))
    value = binary_cross_entropy_with_logits(logit, target)
    return value + cross_entropy(out[1], c) if net.auxiliary else value


def update_step(net: Networks, m: int, channels_last: bool) -> Callable[[], None]:
    """One D step and one G step on a minibatch of m random images."""
    real = torch.rand(m, *out_shape(net.generator))
    if channels_last and real.dim() == 4:
        real = real.contiguous(memory_format=torch.channels_last)
        net.generator.to(memory_format=torch.channels_last)
        net.discriminator.to(memory_format=torch.channels_last)
    c = torch.arange(m) % net.classes if net.classes else None

    def step() -> None:
        fake = generate(net, latent(net.generator, m), c)
        net.discriminator.zero_grad()
        (loss(net, real, c, True) + loss(net, fake.detach(), c, False)).backward()
        net.generator.zero_grad()
        loss(net, fake, c, True).backward()

    return step


def best_rates(
    nets: list[Networks], m: int, steps: int, repeats: int, channels_last: bool
) -> tuple[list[float], float]:
    """(images/s of each network pair, GEMM GFLOP/s): the best of ``repeats`` rounds, each
    timing every pair in turn, so that a change in the machine's load hits every pair."""
    updates = [update_step(net, m, channels_last) for net in nets]
    for update in updates:
        for _ in range(3):
            update()
    best, gemm = [float("inf")] * len(nets), 0.0
    for _ in range(repeats):
        gemm = max(gemm, gemm_gflops())
        for i, update in enumerate(updates):
            start = time.perf_counter()
            for _ in range(steps):
                update()
            best[i] = min(best[i], time.perf_counter() - start)
    return [steps * m / seconds for seconds in best], gemm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="CPU threads")
    parser.add_argument("--batch", type=int, default=100, help="images per minibatch")
    parser.add_argument("--steps", type=int, default=10, help="updates per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="rounds; the best counts")
    parser.add_argument(
        "--channels-last", action="store_true", help="convolutional networks channels-last"
    )
    args = parser.parse_args()
    torch.manual_seed(0)
    nets = families()
    rates, gemm = [], {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        rate, gemm[threads] = best_rates(
            nets, args.batch, args.steps, args.repeats, args.channels_last
        )
        rates.append(rate)
    rows = []
    for i, net in enumerate(nets):
        g_macs, d_macs = forward_macs(net)
        shape = "×".join(map(str, out_shape(net.generator)))
        rows.append(
            f"| {net.name} | {shape} | {count_parameters(net.generator):,} | "
            f"{count_parameters(net.discriminator):,} | {2 * g_macs / 1e6:.1f} | "
            f"{2 * d_macs / 1e6:.1f} | " + " | ".join(f"{r[i]:,.0f}" for r in rates) + " |"
        )
    threads = " | ".join(f"images/s, {t} thread{'s' * (t > 1)}" for t in args.threads)
    print(
        f"| networks | sample | G parameters | D parameters | G MFLOP | D MFLOP | {threads} |\n"
        "|---|---|--:|--:|--:|--:|" + "--:|" * len(args.threads)
    )
    print("\n".join(rows))
    print(
        f"\nMFLOP: one forward pass per image. Batch {args.batch}; one update = D step + G step "
        f"(no optimiser step){'; channels-last' * args.channels_last}. Best fp32 GEMM beside it: "
        + ", ".join(f"{gflops:.0f} GFLOP/s with {t} thread(s)" for t, gflops in gemm.items())
        + "."
    )


if __name__ == "__main__":
    main()
