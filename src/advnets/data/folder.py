"""A folder of the user's own images (PNG or JPEG, any size) as an :class:`ImageSet`.

Layout: either every image directly in the folder (an unlabelled set), or one
sub-folder per class, each holding that class's images (labelled; the classes
are the sub-folders in sorted order, two at least). Names beginning with a dot
are skipped; every other file must be a ``.png``, ``.jpg`` or ``.jpeg`` image.

Each image is turned upright (its EXIF orientation), converted to grey or RGB
as the caller states (a transparent image is laid over a white background, so that
the colours hidden under transparent pixels, which are often arbitrary, never show; 16-bit
grey keeps its high byte), and its largest centred square is cropped and resized to ``size`` x
``size`` pixels with a Lanczos filter. Files are read in sorted order.

Decoding thousands of images takes a while, so the result is cached as
``<key>.npz`` in the ``image-folders/`` folder of the data directory (see
:mod:`advnets.data.decoded`), ``key`` being the SHA-256 of this recipe, the size,
the channels, and each file's path in the folder and SHA-256: any change to the
files gives a new key, never a stale set.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from advnets import limits
from advnets.data.decoded import Arrays, load_arrays, save_arrays
from advnets.data.imageset import CHANNELS, ImageSet
from advnets.data.sources import data_directory
from advnets.files import sha256_file

log = logging.getLogger(__name__)

EXTENSIONS = (".png", ".jpg", ".jpeg")
FORMATS = ("PNG", "JPEG")  # the only decoders Pillow may use
MODES = {1: "L", 3: "RGB"}
CACHE_FOLDER = "image-folders"
RECIPE = "exif upright, transparency over white, grey or RGB, centre square, Lanczos resize: v2"
BACKGROUND = (255, 255, 255)  # what transparent pixels show


class ImageFolderError(ValueError):
    """An image folder that cannot be read as an image set; the message names the file."""


def _visible(folder: Path) -> list[Path]:
    """The entries of ``folder`` whose names do not begin with a dot, sorted."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _images(folder: Path, entries: list[Path], top: Path) -> list[Path]:
    """``entries`` of ``folder``, checked to be image files."""
    for entry in entries:
        if entry.is_dir():
            raise ImageFolderError(
                f"{top}: the class sub-folder {folder.name}/ holds a sub-folder, {entry.name}/; "
                "class sub-folders must hold images only."
            )
        if entry.suffix.lower() not in EXTENSIONS:
            raise ImageFolderError(
                f"{entry} is not a PNG or JPEG file (image folders hold .png, .jpg and .jpeg "
                "files only)."
            )
    return entries


def list_images(folder: Path) -> tuple[list[Path], np.ndarray | None, tuple[str, ...]]:
    """The image files of ``folder`` in order, their labels (None if unlabelled) and the
    class names; ImageFolderError, naming the folder and the file, for any other layout."""
    if not folder.is_dir():
        raise ImageFolderError(f"{folder} is not a folder.")
    entries = _visible(folder)
    if not entries:
        raise ImageFolderError(
            f"{folder} is empty: put PNG or JPEG images in it, or one sub-folder of them per class."
        )
    folders = [p for p in entries if p.is_dir()]
    if not folders:
        return _images(folder, entries, folder), None, ()
    if len(folders) < len(entries):
        loose = next(p for p in entries if not p.is_dir())
        raise ImageFolderError(
            f"{folder} mixes files and sub-folders ({loose.name} beside {folders[0].name}/): "
            "put every image directly in it, or every image in one sub-folder per class."
        )
    if len(folders) == 1:
        raise ImageFolderError(
            f"{folder} holds one class sub-folder, {folders[0].name}/: labels need two classes "
            f"at least; for an unlabelled set put the images directly in {folder}."
        )
    files: list[Path] = []
    labels: list[int] = []
    for label, sub in enumerate(folders):
        inner = _images(sub, _visible(sub), folder)
        if not inner:
            raise ImageFolderError(f"{sub} is empty: each class sub-folder needs an image.")
        files += inner
        labels += [label] * len(inner)
    return files, np.array(labels, dtype=np.int64), tuple(p.name for p in folders)


def _over_white(image: Image.Image) -> Image.Image:
    """``image`` laid over BACKGROUND by its alpha, as RGB; images without transparency as
    they are (a palette or grey image with a transparent entry counts as transparent)."""
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return image
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _upright(image: Image.Image, channels: int) -> Image.Image:
    """``image`` turned by its EXIF orientation, laid over white where it is transparent,
    and converted to grey ("L") or RGB."""
    image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I;16") or image.mode == "I":  # 16-bit grey: keep the high byte
        high = np.asarray(image).astype(np.uint32) >> 8
        image = Image.fromarray(np.minimum(high, 255).astype(np.uint8))
    return _over_white(image).convert(MODES[channels])


def decode_image(path: Path, size: int, channels: int) -> np.ndarray:
    """The image at ``path`` as uint8 (channels, size, size): upright, centre square, resized."""
    try:
        with Image.open(path, formats=FORMATS) as opened:
            image = _upright(opened, channels)
            square = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageFolderError(f"{path} is not a readable PNG or JPEG image ({err}).") from err
    pixels = np.asarray(square, dtype=np.uint8)
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def cache_key(folder: Path, files: list[Path], size: int, channels: int) -> str:
    """SHA-256 of the recipe, ``size``, ``channels``, and each file's path and SHA-256."""
    digest = hashlib.sha256(f"{RECIPE}\n{size}\n{channels}\n".encode())
    for path in files:
        digest.update(f"{path.relative_to(folder).as_posix()}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()


def _check_cached(arrays: Arrays, shape: tuple[int, ...]) -> None:
    """Raise ValueError unless a cache entry holds uint8 images of ``shape`` (its key fixes the
    files, hence the labels and class names, which the folder's listing gives again)."""
    images = arrays["images"]
    if images.shape != shape or images.dtype != np.uint8:
        raise ValueError(f"its images are {images.dtype} {images.shape}, expected uint8 {shape}")


def _check_request(folder: Path, size: int, channels: int) -> None:
    if channels not in CHANNELS:
        raise ValueError(f"channels = {channels} for {folder}: use 1 (grey) or 3 (RGB).")
    limits.check_range(f"the image size for {folder}", size, 1, limits.MAX_IMAGE_SIDE)


def read_image_folder(
    path: str | os.PathLike, size: int, channels: int, data_dir: str | os.PathLike | None = None
) -> ImageSet:
    """The images of the folder ``path`` as uint8 (N, ``channels``, ``size``, ``size``),
    labelled if it holds one sub-folder per class (see the module's docstring).

    The decoded set is cached in the ``image-folders/`` folder of ``data_dir`` (default:
    :func:`advnets.data.sources.default_data_dir`). Raises ImageFolderError, one sentence
    naming the folder and the file, for an empty folder, a file that is not a readable PNG
    or JPEG, a single class sub-folder, or files beside class sub-folders.
    """
    folder = Path(path).expanduser().resolve()
    _check_request(folder, size, channels)
    files, labels, class_names = list_images(folder)
    limits.check_range(f"the number of images in {folder}", len(files), 1, limits.MAX_SAMPLES)
    shape = (len(files), channels, size, size)
    limits.check_memory(f"{len(files):,} images of {channels}x{size}x{size}", int(np.prod(shape)))
    key = cache_key(folder, files, size, channels)
    npz = data_directory(data_dir) / CACHE_FOLDER / f"{key}.npz"
    found = load_arrays(npz, lambda arrays, meta: _check_cached(arrays, shape))
    if found is not None:
        log.info("loaded image folder %s from decoded cache %s", folder, npz)
        images = found[0]["images"]
    else:
        log.info("decoding %d images in %s", len(files), folder)
        images = np.empty(shape, dtype=np.uint8)
        for i, file in enumerate(files):
            images[i] = decode_image(file, size, channels)
        save_arrays(npz, {"images": images}, {"folder": str(folder), "size": size})
    kind = "grey" if channels == 1 else "RGB"
    source = f"image folder {folder} ({len(files):,} images, {kind}, centre {size}x{size})"
    return ImageSet(folder.name, images, labels, class_names, source)
