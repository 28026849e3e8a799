"""The domain-feature metrics on real MNIST: where the ideal lies, and what collapse looks like.

    python benchmarks/metrics_sanity.py [--n 10000]

Scores against the 10,000 test images: held-out validation images (the ideal a
generator can hope for: fresh digits), training images of one digit class
drawn with repetition (a generator collapsed onto one mode), exact copies of
training images (what the memorisation check must catch), and uniform noise. Prints the shipped
classifier's test accuracy first, and one Markdown table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from advnets.data.mnist import load_mnist
from advnets.evaluation.metrics import domain_metrics, embed_images
from advnets.evaluation.neighbours import memorisation_check, nearest_train_distances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="images per scored set")
    args = parser.parse_args()
    splits = load_mnist()
    rng = np.random.default_rng(0)
    test = embed_images(splits.test_x, "test images")
    accuracy = float((test.probs.argmax(1).numpy() == splits.test_y).mean())
    print(f"shipped classifier: test accuracy {accuracy:.4f}")
    ones = np.flatnonzero(splits.train_y == 1)
    sets = {
        "held-out validation images": splits.valid_x[: args.n],
        "one digit class (1)": splits.train_x[rng.choice(ones, args.n)],
        "copies of training images": splits.train_x[: args.n],
        "uniform noise": rng.random((args.n, 784), dtype=np.float32),
    }
    train = torch.from_numpy(splits.train_x)
    test_distances = nearest_train_distances(torch.from_numpy(splits.test_x[: args.n]), train)
    print(
        "| images | FID | KID×1e3 | IS | precision | recall | density | coverage | classes "
        "| class KL | closer than test p1 | seconds |"
    )
    print("|" + "---|" * 12)
    for name, images in sets.items():
        start = time.perf_counter()
        m = domain_metrics(images, test)
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
