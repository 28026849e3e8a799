"""Sample grids: many small images tiled into one PNG."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from advnets import limits
from advnets.data.datasets import ImageShape, shape_channels
from advnets.files import atomic_write_bytes

PADDING = 2  # pixels between the images of a grid and around it


def grid_geometry(
    count: int, image_shape: ImageShape, columns: int | None = None, padding: int = PADDING
) -> tuple[int, int, int]:
    """Columns of a grid of ``count`` images (square-ish unless given), and its height and
    width in pixels."""
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    height, width = image_shape[-2:]
    return columns, rows * (height + padding) + padding, columns * (width + padding) + padding


def check_picture(
    count: int, image_shape: ImageShape, columns: int | None = None, scale: int = 1
) -> None:
    """Refuse (LimitError) a grid picture whose scale or size is beyond advnets.limits."""
    limits.check_range("the picture scale", scale, 1, limits.MAX_SCALE)
    _, height, width = grid_geometry(count, image_shape, columns)
    height, width = height * scale, width * scale
    if height * width > limits.MAX_PICTURE_PIXELS:
        raise limits.LimitError(
            f"a grid of {count:,} images at scale {scale} would be {width:,} x {height:,} "
            f"pixels, more than the limit of {limits.MAX_PICTURE_PIXELS:,}."
        )


def tile_images(
    images: np.ndarray,
    image_shape: ImageShape = (28, 28),
    columns: int | None = None,
    padding: int = PADDING,
) -> np.ndarray:
    """Tile flat images (N x C·H·W, values in [0, 1]; see ImageShape) into one uint8 array:
    (rows, cols) for grey images, (rows, cols, 3) for colour.

    Images are laid out row by row on a white background with ``padding`` pixels between them.
    """
    images = np.asarray(images, dtype=np.float32)
    count = images.shape[0]
    channels, (height, width) = shape_channels(image_shape), image_shape[-2:]
    columns, canvas_height, canvas_width = grid_geometry(count, image_shape, columns, padding)
    canvas = np.ones((canvas_height, canvas_width, channels), np.float32)
    # channel-first rows to (N, H, W, C)
    pictures = images.reshape(count, channels, height, width).transpose(0, 2, 3, 1)
    for index, image in enumerate(pictures):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        canvas[top : top + height, left : left + width] = image
    pixels = (np.clip(canvas, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return pixels[:, :, 0] if channels == 1 else pixels


def png_bytes(pixels: np.ndarray, scale: int = 1) -> bytes:
    """Encode a uint8 grey (H, W) or RGB (H, W, 3) image as PNG, enlarged ``scale`` times."""
    limits.check_range("the picture scale", scale, 1, limits.MAX_SCALE)
    image = Image.fromarray(pixels)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def save_grid(
    path: str | os.PathLike,
    images: np.ndarray,
    image_shape: ImageShape = (28, 28),
    columns: int | None = None,
    scale: int = 1,
) -> Path:
    """Write a grid of flat images in [0, 1] to a PNG file (atomically); refused (LimitError)
    before any drawing if it would be larger than advnets.limits allows."""
    check_picture(len(images), image_shape, columns, scale)
    return atomic_write_bytes(path, png_bytes(tile_images(images, image_shape, columns), scale))
