"""Train the classifier of scikit-learn's 8x8 digits, up-sampled to 28x28, shipped in advnets.

    python scripts/train_digits_classifier.py [--epochs 40] [--seed 0] [--threads 2]

The MNIST classifier's network and recipe (``scripts/train_mnist_classifier.py``: random
shifts of up to 2 pixels, Adam with a cosine decay) on the 1,437 training images of the
digits' fixed split (``advnets.data.digits``: values / 16, bilinear up-sampling to 28x28).
It judges CycleGAN's translations into the digits domain (``advnets translate``). Writes
``src/advnets/evaluation/digits_classifier.safetensors`` and the card
``digits_classifier.json`` and prints the SHA-256 to put into
``advnets.evaluation.classifier.DIGITS_WEIGHTS_SHA256``. The test split (180 images) is
used once, at the end, to report accuracy; nothing is chosen on it.
"""

from __future__ import annotations

import time

import torch
from train_mnist_classifier import accuracy, arguments, fit, seeded_model, ship

from advnets.data.digits import digits_sha256, digits_splits
from advnets.evaluation.classifier import DIGITS_CARD_FILE, DIGITS_WEIGHTS_FILE


def main() -> None:
    args = arguments(epochs=40, batch_size=64)
    model = seeded_model(args)
    (x, y), valid, test = (
        (torch.from_numpy(images), torch.from_numpy(labels)) for images, labels in digits_splits()
    )
    started = time.time()
    valid_accuracy = fit(model, x, y, valid, args)
    card = {
        "train_images": len(x),
        "valid_accuracy": valid_accuracy,
        "test_accuracy": accuracy(model, *test),
        "test_images": len(test[0]),
        "settings": vars(args),
        "data_sha256": digits_sha256(),
        "train_seconds": round(time.time() - started, 1),
    }
    files = (DIGITS_WEIGHTS_FILE, DIGITS_CARD_FILE)
    ship(model, files, card, "scripts/train_digits_classifier.py")


if __name__ == "__main__":
    main()
