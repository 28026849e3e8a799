"""The domain-feature metrics on real MNIST: where the ideal lies, and what collapse looks like.

    python benchmarks/metrics_sanity.py [--n 10000]
    python benchmarks/metrics_sanity.py --fashion-folder FOLDER   # Fashion-MNIST's clothes

Scores against the 10,000 test images: held-out validation images (the ideal a
generator can hope for: fresh digits), training images of one digit class
drawn with repetition (a generator collapsed onto one mode), exact copies of
training images (what the memorisation check must catch), and uniform noise. Prints the shipped
classifier's test accuracy first, and one Markdown table. With ``--fashion-folder`` (the
folder ``benchmarks/fashion_folder.py`` writes) the same for Fashion-MNIST's images in the
shipped clothes classifier's features, the folder split 80/10/10 % as ``data.dataset: folder``
splits it; the one class is then trousers.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from advnets.config import DataConfig
from advnets.data.registry import load_dataset
from advnets.evaluation.classifier import FASHION_WEIGHTS_FILE, WEIGHTS_FILE, load_classifier
from advnets.evaluation.metrics import domain_metrics, embed_images
from advnets.evaluation.neighbours import memorisation_check, nearest_train_distances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="images per scored set")
    parser.add_argument("--fashion-folder", help="score Fashion-MNIST's images in this folder")
    args = parser.parse_args()
    if args.fashion_folder is None:
        config, weights = DataConfig(dataset="mnist"), WEIGHTS_FILE
    else:
        config = DataConfig(dataset="folder", folder=args.fashion_folder, image_size=28, channels=1)
        weights = FASHION_WEIGHTS_FILE
    data = load_dataset(config)
    classifier = load_classifier("cpu", weights)
    train_x, valid_x, test_x = (x.numpy() for x in (data.train, data.valid, data.test))
    train_y, test_y = data.labels.train.numpy(), data.labels.test.numpy()
    rng = np.random.default_rng(0)
    test = embed_images(test_x[: args.n], "test images", classifier)
    accuracy = float((test.probs.argmax(1).numpy() == test_y[: args.n]).mean())
    print(f"shipped classifier: test accuracy {accuracy:.4f}")
    ones = np.flatnonzero(train_y == 1)
    sets = {
        "held-out validation images": valid_x[: args.n],
        f"one class ({data.labels.class_names[1]})": train_x[rng.choice(ones, args.n)],
        "copies of training images": train_x[: args.n],
        "uniform noise": rng.random((args.n, 784), dtype=np.float32),
    }
    train = torch.from_numpy(train_x)
    test_distances = nearest_train_distances(torch.from_numpy(test_x[: args.n]), train)
    print(
        "| images | FID | KID×1e3 | IS | precision | recall | density | coverage | classes "
        "| class KL | closer than test p1 | seconds |"
    )
    print("|" + "---|" * 12)
    for name, images in sets.items():
        start = time.perf_counter()
        m = domain_metrics(images, test, classifier=classifier)
        memo = memorisation_check(torch.from_numpy(images), train, test_distances)
        print(
            f"| {name} | {m.fid:.2f} | {1e3 * m.kid:.2f} | {m.inception_score:.2f} "
            f"| {m.precision:.3f} | {m.recall:.3f} | {m.density:.3f} | {m.coverage:.3f} "
            f"| {m.classes_covered} | {m.class_kl:.3f} | {memo.fraction_below_test_p1:.3f} "
            f"| {time.perf_counter() - start:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
