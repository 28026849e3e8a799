"""Sample grids: many small images tiled into one PNG."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from advnets.files import atomic_write_bytes


def tile_images(
    images: np.ndarray,
    image_shape: tuple[int, int] = (28, 28),
    columns: int | None = None,
    padding: int = 2,
) -> np.ndarray:
    """Tile flat images (N x H*W, values in [0, 1]) into one uint8 (rows, cols) array.

    Images are laid out row by row on a white background with ``padding`` pixels between them.
    """
    images = np.asarray(images, dtype=np.float32)
    count = images.shape[0]
    height, width = image_shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.ones(
        (rows * (height + padding) + padding, columns * (width + padding) + padding), np.float32
    )
    for index, image in enumerate(images.reshape(count, height, width)):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        canvas[top : top + height, left : left + width] = image
    return (np.clip(canvas, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def png_bytes(pixels: np.ndarray, scale: int = 1) -> bytes:
    """Encode a uint8 grey (H, W) or RGB (H, W, 3) image as PNG, enlarged ``scale`` times."""
    image = Image.fromarray(pixels)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def save_grid(
    path: str | os.PathLike,
    images: np.ndarray,
    image_shape: tuple[int, int] = (28, 28),
    columns: int | None = None,
    scale: int = 1,
) -> Path:
    """Write a grid of flat images in [0, 1] to a PNG file (atomically)."""
    return atomic_write_bytes(path, png_bytes(tile_images(images, image_shape, columns), scale))
