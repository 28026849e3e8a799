"""Training throughput of a preset on a CUDA GPU: op by op against CUDA graphs, fp32 and bf16.

    python benchmarks/gpu_throughput.py [--presets mnist-paper mnist-quick] [--steps 3000]

Each row drives ``Trainer.train_minibatch`` (the loop's own update: schedules, phases,
statistics summed on the device, a NaN check every 100 minibatches) on synthetic
MNIST-shaped data held on the GPU, after 50 warm-up minibatches, and waits for the GPU
before reading the clock. FLOPs per image are the necessary work
(``advnets.games.gan.update_flops_per_image``); the GEMM peak is an 8192² product in the
same precision (fp32 without TF32, as training runs), measured in the same process.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator

import torch
from common import synthetic_mnist, timing_config

from advnets.runs.rundir import RunDir
from advnets.training.loop import Trainer
from advnets.training.throughput import gemm_gflops

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
WARMUP = 50


@contextlib.contextmanager
def warm_trainer(preset: str, precision: str, graphs: bool = True) -> Iterator[Trainer]:
    """A trainer of ``preset`` on the GPU, prepared and past ``WARMUP`` minibatches (its
    graphs captured), in a temporary run directory; its synthetic data on the GPU."""
    overrides = (f"training.cuda_graphs={str(graphs).lower()}",)
    config = timing_config(preset, precision, overrides, device="cuda")
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, synthetic_mnist(), RunDir(tmp))
        trainer.prepare()
        for i in range(WARMUP):
            trainer.train_minibatch(minibatch(trainer, i))
        torch.cuda.synchronize()
        yield trainer


def minibatch(trainer: Trainer, i: int) -> torch.Tensor:
    """The i-th minibatch of the trainer's data, cycling."""
    m = trainer.config.training.batch_size
    start = i % trainer.batches_per_epoch * m
    return trainer.train_data[start : start + m]


def timed_rate(trainer: Trainer, steps: int, step) -> float:
    """Images/s of ``steps`` calls of ``step(i)``, the GPU waited for at both ends."""
    torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    torch.cuda.synchronize()
    return steps * trainer.config.training.batch_size / (time.perf_counter() - start)


def training_rate(preset: str, precision: str, graphs: bool, steps: int) -> tuple[float, float]:
    """(images/s, FLOPs per image) of ``steps`` minibatches of ``preset`` on the GPU."""
    with warm_trainer(preset, precision, graphs) as trainer:
        rate = timed_rate(trainer, steps, lambda i: trainer.train_minibatch(minibatch(trainer, i)))
        return rate, trainer.game.flops_per_image()


def replay_rate(preset: str, precision: str, steps: int) -> float:
    """Images/s of the captured graphs replayed back to back, without the loop around them
    (schedules, minibatch copies, statistics): the GPU's own pace for this update."""
    with warm_trainer(preset, precision) as trainer:
        graphs = [captured.graph for captured in trainer._graphs._captured.values()]
        return timed_rate(trainer, steps, lambda i: [graph.replay() for graph in graphs])


def kernel_profile(preset: str, precision: str, steps: int = 20) -> None:
    """The CUDA kernels of one op-by-op update: how many, their GPU time, the costliest."""
    from torch.profiler import ProfilerActivity, profile

    with warm_trainer(preset, precision, graphs=False) as trainer:
        m = trainer.config.training.batch_size
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for i in range(steps):
                trainer.train_minibatch(minibatch(trainer, i))
            torch.cuda.synchronize()
    kernels = [
        (e.name, e.time_range.elapsed_us()) for e in prof.events() if e.device_type.name == "CUDA"
    ] or [(k.name, k.duration) for e in prof.events() for k in e.kernels]
    busy = sum(us for _, us in kernels) / steps
    print(
        f"{preset} {precision}, op by op: {len(kernels) / steps:.0f} kernels per update, "
        f"{busy:.0f} us of GPU time per update (a ceiling of {m / busy * 1e6:,.0f} images/s "
        "back to back)"
    )
    totals: dict[str, list[float]] = {}
    for name, us in kernels:
        totals.setdefault(name[:90], []).append(us)
    top = sorted(totals.items(), key=lambda item: -sum(item[1]))[:12]
    for name, times in top:
        print(f"  {sum(times) / steps:7.1f} us/update  {len(times) / steps:4.1f}x  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["mnist-paper", "mnist-quick"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=DTYPES)
    parser.add_argument("--steps", type=int, default=3000, help="timed minibatches per row")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("this benchmark needs a CUDA GPU.")
    torch.backends.cuda.matmul.allow_tf32 = False
    peaks = {p: gemm_gflops(8192, 10, DTYPES[p], "cuda") for p in args.precisions}
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(
        "| preset | precision | update | images/s | MFLOP/image | GFLOP/s achieved "
        "| GEMM GFLOP/s (same precision) | fraction of GEMM |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for preset in args.presets:
        for precision in args.precisions:
            for graphs in (False, True):
                rate, flops = training_rate(preset, precision, graphs, args.steps)
                achieved = rate * flops / 1e9
                print(
                    f"| {preset} | {precision} | {'CUDA graphs' if graphs else 'op by op'} | "
                    f"{rate:,.0f} | {flops / 1e6:.2f} | {achieved:,.0f} | "
                    f"{peaks[precision]:,.0f} | {achieved / peaks[precision]:.1%} |",
                    flush=True,
                )
            replayed = replay_rate(preset, precision, args.steps)
            print(
                f"| {preset} | {precision} | graph replays alone | {replayed:,.0f} | | | | |",
                flush=True,
            )
    for preset in args.presets:
        kernel_profile(preset, "fp32")


if __name__ == "__main__":
    main()
