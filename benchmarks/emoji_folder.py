"""A real folder of colour images to try `dcgan-folder` on: Noto's 3,786 emoji at 64x64.

    python benchmarks/emoji_folder.py OUT_FOLDER [--data-dir DIR]
    advnets train dcgan-folder-quick --set data.folder=OUT_FOLDER --out runs/emoji

The images are the 64x64 PNG files of the npm package ``emoji-datasource-google`` 16.0.0
(Google's Noto emoji, Apache License 2.0): faces, people, animals, food, objects and flags,
in colour on a transparent background (which the folder reader lays over white). The
package's tarball is fetched once from the npm registry into the data directory, its
SHA-256 checked before use, and only the files ``package/img/google/64/*.png`` are copied
out of it, by name, into OUT_FOLDER (nothing in the archive chooses where a file goes).
"""

from __future__ import annotations

import argparse
import re
import sys
import tarfile
from pathlib import Path

from advnets.data.sources import RemoteFile, data_directory, fetch_required
from advnets.files import atomic_write_bytes

TARBALL = RemoteFile(
    name="emoji-datasource-google-16.0.0.tgz",
    sha256="fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438",
    urls=(
        "https://registry.npmjs.org/emoji-datasource-google/-/emoji-datasource-google-16.0.0.tgz",
    ),
)
MEMBER = re.compile(r"package/img/google/64/([0-9a-f-]+\.png)")
EXPECTED_IMAGES = 3786


def extract_images(tarball: Path, folder: Path) -> int:
    """Copy the 64x64 PNG members of ``tarball`` into ``folder``; the number copied."""
    folder.mkdir(parents=True, exist_ok=True)
    copied = 0
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive:
            match = MEMBER.fullmatch(member.name)
            if match is None or not member.isfile():
                continue
            data = archive.extractfile(member).read()
            atomic_write_bytes(folder / match.group(1), data)
            copied += 1
    return copied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the PNG files go (created)")
    parser.add_argument("--data-dir", help="dataset cache directory (advnets' default)")
    args = parser.parse_args()
    tarball = fetch_required("Noto's emoji", TARBALL, data_directory(args.data_dir))
    copied = extract_images(tarball, args.folder)
    if copied != EXPECTED_IMAGES:
        sys.exit(f"{tarball} held {copied} 64x64 emoji images, expected {EXPECTED_IMAGES}.")
    print(f"{copied} images in {args.folder}")


if __name__ == "__main__":
    main()
