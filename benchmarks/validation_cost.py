"""The cost of one validation during training, part by part, against the training it interrupts.

    python benchmarks/validation_cost.py [--device cpu|cuda] [--synthetic] [--threads N]
        [--steps 300] [--repeats 3]

Runs what the ``Validation`` callback runs every ``evaluation.every_epochs`` epochs of the
mnist-paper preset (``advnets.experiments.callbacks``), on the training device: 10,000
samples drawn from the generator, the validation Parzen estimate over 1,000 validation
images, and the domain metrics of the samples' embedding against the 10,000 validation
images' (that reference is prepared once per run, timed apart). Training time comes from
the same process: ``--steps`` minibatch updates of the preset on the same device, scaled
to the epochs between two validations. Data: MNIST as ``advnets train`` loads it, or random
MNIST-shaped images (``--synthetic``; only Parzen's speed depends a little on content).
Prints a Markdown table: part, median seconds of ``--repeats``, share of the epochs between
two validations (5).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch
from common import synthetic_mnist, timing_config

from advnets.data.registry import load_dataset
from advnets.evaluation.classifier import embed, load_classifier
from advnets.evaluation.metrics import (
    Reference,
    class_histogram,
    compare_embeddings,
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    manifold_metrics,
)
from advnets.evaluation.parzen import parzen_protocol
from advnets.experiments.callbacks import VALID_NOISE_SEED
from advnets.runs.rundir import RunDir
from advnets.sampling import generate
from advnets.training.loop import Trainer

PRESET = "mnist-paper"


def timed(work: Callable[[], Any], device: torch.device, repeats: int) -> tuple[float, Any]:
    """Median wall-clock seconds of ``work`` over ``repeats`` runs (CUDA synchronised), and
    its last result."""
    seconds = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        result = work()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def epoch_seconds(trainer: Trainer, steps: int) -> float:
    """Seconds of one training epoch, from ``steps`` timed minibatch updates (on a GPU
    replayed as CUDA graphs, as ``advnets train`` runs them)."""
    trainer.prepare()
    m = trainer.config.training.batch_size
    batches = [trainer.train_data[i * m : (i + 1) * m] for i in range(trainer.batches_per_epoch)]
    for x in batches[:20]:  # warm-up
        trainer.train_minibatch(x)
    seconds, _ = timed(
        lambda: [trainer.train_minibatch(batches[i % len(batches)]) for i in range(steps)],
        trainer.device,
        1,
    )
    return seconds / steps * trainer.batches_per_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="default: cpu")
    parser.add_argument(
        "--synthetic", action="store_true", help="random images instead of MNIST (default: MNIST)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--steps", type=int, default=300, help="timed minibatch updates")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each part (median)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = timing_config(PRESET, device=args.device)
    dataset = synthetic_mnist(50000, n_valid=10000) if args.synthetic else load_dataset(config.data)
    every, n = config.evaluation.every_epochs, config.evaluation.samples
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, dataset, RunDir(tmp))
        epoch = epoch_seconds(trainer, args.steps)
    device, repeats = trainer.device, args.repeats
    classifier = load_classifier(device)
    valid = dataset.valid[: config.evaluation.valid_images].to(device)

    def prepare() -> Reference:
        """The reference as the callback prepares it: on the CPU, moved to the device once,
        and its KID terms, at the first validation."""
        prepared = Reference.of(embed(load_classifier(), dataset.valid)).to(device)
        prepared.kid_terms(n, 0)
        return prepared

    once, reference = timed(prepare, device, 1)
    real = reference.embedding
    parts: list[tuple[str, float]] = []

    def part(name: str, work: Callable[[], Any]) -> Any:
        seconds, result = timed(work, device, repeats)
        parts.append((name, seconds))
        return result

    samples = part(
        "generate 10,000 samples",
        lambda: generate(trainer.sampler(), n, VALID_NOISE_SEED, device=device),
    )
    part(
        "Parzen (10 sigmas x 1,000 images)",
        lambda: parzen_protocol(samples, valid, n_valid=len(valid)),
    )
    fake = part("embed the samples (classifier)", lambda: embed(classifier, samples))
    part(
        "k-NN: precision, recall, density, coverage",
        lambda: manifold_metrics(real.features, fake.features, reference.knn),
    )
    part(
        "KID (100 subsets of 1,000; real terms kept)",
        lambda: kernel_inception_distance(
            real.features, fake.features, real_terms=reference.kid_terms(n, 0)
        ),
    )
    part("FID", lambda: frechet_distance(real.features, fake.features))
    part(
        "IS and class histogram", lambda: (inception_score(fake.probs), class_histogram(fake.probs))
    )

    def validation() -> None:
        """The whole of one validation, as the callback runs it."""
        drawn = generate(trainer.sampler(), n, VALID_NOISE_SEED, device=device)
        parzen_protocol(drawn, valid, n_valid=len(valid))
        compare_embeddings(reference, embed(classifier, drawn))

    total, _ = timed(validation, device, repeats)
    training = every * epoch
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"{PRESET} on {name} ({torch.get_num_threads()} threads): one epoch {epoch:.2f} s, "
        f"validation every {every} epochs = {training:.1f} s of training; "
        f"{'synthetic data' if args.synthetic else 'MNIST'}"
    )
    print(f"| part | seconds | share of {every} epochs |")
    print("|---|---|---|")
    for label, seconds in [*parts, ("one validation (as the callback runs it)", total)]:
        print(f"| {label} | {seconds:.3f} | {seconds / training:.2%} |")
    print(f"| once per run: the reference (embedding, k-NN, KID terms) | {once:.3f} | - |")


if __name__ == "__main__":
    main()
