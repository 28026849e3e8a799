"""Train the MNIST classifier that ships inside advnets as the domain feature extractor.

    python scripts/train_mnist_classifier.py [--epochs 8] [--seed 0] [--threads 2]

Deterministic on the CPU for a given seed and thread count. Trains on the 50,000
training images with random shifts of up to 2 pixels (generated digits are not
always centred), Adam with a cosine learning-rate decay, then writes
``src/advnets/evaluation/mnist_classifier.safetensors`` and the card
``mnist_classifier.json`` (accuracies, settings, data checksum) and prints the
SHA-256 to put into ``advnets.evaluation.classifier.WEIGHTS_SHA256``. The test
split is used once, at the end, to report accuracy; nothing is chosen on it.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
from safetensors.torch import save as save_safetensors
from torch.nn import functional as F

from advnets.data.mnist import load_mnist
from advnets.evaluation.classifier import CARD_FILE, WEIGHTS_FILE, MNISTClassifier
from advnets.files import atomic_write_bytes, atomic_write_text, sha256_bytes

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "src" / "advnets" / "evaluation"


def shift(images: torch.Tensor, max_shift: int, rng: torch.Generator) -> torch.Tensor:
    """Translate each 28x28 image by its own random integer offset in [-max_shift, max_shift]."""
    n = len(images)
    padded = F.pad(images.reshape(n, 28, 28), (max_shift,) * 4)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), generator=rng)
    rows = (dy[:, None] + torch.arange(28))[:, :, None]
    cols = (dx[:, None] + torch.arange(28))[:, None, :]
    return padded[torch.arange(n)[:, None, None], rows, cols].reshape(n, 784)


@torch.no_grad()
def accuracy(model: MNISTClassifier, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    correct = sum(
        int((model(x[i : i + 2000]).argmax(1) == y[i : i + 2000]).sum())
        for i in range(0, len(x), 2000)
    )
    model.train()
    return correct / len(x)


def arguments(
    epochs: int, batch_size: int, parser: argparse.ArgumentParser | None = None
) -> argparse.Namespace:
    """The command line of a classifier's training (the defaults differ by data set), on top
    of ``parser``'s own options if given."""
    parser = parser or argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--max-shift", type=int, default=2)
    return parser.parse_args()


def seeded_model(args: argparse.Namespace) -> MNISTClassifier:
    """The classifier, initialised from the seeded global RNG on ``args.threads`` threads."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return MNISTClassifier()


def fit(
    model: MNISTClassifier,
    x: torch.Tensor,
    y: torch.Tensor,
    valid: tuple[torch.Tensor, torch.Tensor],
    args: argparse.Namespace,
) -> float:
    """Train ``model`` on shifted images (Adam, cosine decay), then set its feature scale;
    the last validation accuracy."""
    rng = torch.Generator().manual_seed(args.seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * math.ceil(len(x) / args.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps))
    )
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(x), generator=rng)
        for start in range(0, len(x), args.batch_size):
            batch = order[start : start + args.batch_size]
            loss = F.cross_entropy(model(shift(x[batch], args.max_shift, rng)), y[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
        valid_accuracy = accuracy(model, *valid)
        print(
            f"epoch {epoch}: last loss {loss.item():.4f}, valid accuracy {valid_accuracy:.4f}",
            flush=True,
        )
    with torch.no_grad():
        model.eval()
        features = torch.cat([model.features(x[i : i + 2000]) for i in range(0, len(x), 2000)])
        model.feature_scale.fill_(features.square().mean().rsqrt())
        model.train()
    return valid_accuracy


def ship(model: MNISTClassifier, files: tuple[str, str], card: dict, script: str) -> None:
    """Write the weights and the card (``files``: their names in the package) and print it."""
    blob = save_safetensors({k: v.contiguous() for k, v in model.state_dict().items()})
    atomic_write_bytes(PACKAGE_DIR / files[0], blob)
    args = card["settings"]
    card = {
        "architecture": MNISTClassifier.__doc__.splitlines()[0],
        "parameters": sum(p.numel() for p in model.parameters()),
        "feature_scale": model.feature_scale.item(),
        **card,
        "torch_version": torch.__version__,
        "weights_sha256": sha256_bytes(blob),
        "command": f"python {script} "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in args.items()),
    }
    atomic_write_text(PACKAGE_DIR / files[1], json.dumps(card, indent=2) + "\n")
    print(json.dumps(card, indent=2))


def main() -> None:
    args = arguments(epochs=8, batch_size=128)
    model = seeded_model(args)
    splits = load_mnist()
    x, y = torch.from_numpy(splits.train_x), torch.from_numpy(splits.train_y)
    started = time.time()
    valid = (torch.from_numpy(splits.valid_x), torch.from_numpy(splits.valid_y))
    valid_accuracy = fit(model, x, y, valid, args)
    test = accuracy(model, torch.from_numpy(splits.test_x), torch.from_numpy(splits.test_y))
    card = {
        "train_images": len(x),
        "valid_accuracy": valid_accuracy,
        "test_accuracy": test,
        "settings": vars(args),
        "data_sha256": splits.sha256,
        "train_seconds": round(time.time() - started, 1),
    }
    ship(model, (WEIGHTS_FILE, CARD_FILE), card, "scripts/train_mnist_classifier.py")


if __name__ == "__main__":
    main()
