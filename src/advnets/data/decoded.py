"""Decoded arrays cached as ``.npz`` files of plain arrays, each with a JSON sidecar.

Decoding a data set (gunzipping, unpickling, resizing images) can take far longer
than loading its arrays, so the arrays are cached: ``<name>.npz`` (no pickled
objects) beside ``<name>.json``, which holds the ``.npz`` file's SHA-256 and what
the caller records with it. A cache whose digest, contents or sidecar do not
check out is moved aside to ``<name>.corrupt`` and treated as missing; a cache
that cannot be written only costs time next time.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from advnets.data.sources import quarantine
from advnets.files import atomic_write_bytes, atomic_write_text, sha256_bytes, sha256_file

log = logging.getLogger(__name__)

Arrays = dict[str, np.ndarray]
Meta = dict[str, Any]


def load_arrays(
    npz: Path, check: Callable[[Arrays, Meta], object] | None = None
) -> tuple[Arrays, Meta] | None:
    """The arrays of ``npz`` and its sidecar's record, or None if there is no such cache.

    ``check`` may raise ValueError, KeyError or TypeError to reject what was read; a
    rejected or damaged cache is moved aside.
    """
    if not npz.is_file():
        return None
    sidecar = npz.with_suffix(".json")
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        if sha256_file(npz) != meta["sha256"]:
            raise ValueError(f"SHA-256 differs from {sidecar.name}")
        with np.load(npz, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        if check is not None:
            check(arrays, meta)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        moved = quarantine(npz)
        log.warning("ignoring decoded cache %s (%s); moved it aside to %s", npz, exc, moved.name)
        return None
    return arrays, meta


def save_arrays(npz: Path, arrays: Arrays, meta: Meta) -> None:
    """Write ``arrays`` to ``npz`` and ``meta`` (with the file's SHA-256) to its sidecar,
    each atomically; a failure is logged, not raised."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    record = {"sha256": sha256_bytes(data), **meta}
    try:
        atomic_write_bytes(npz, data)
        atomic_write_text(npz.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    except OSError as exc:
        log.warning("could not write the decoded cache %s: %s", npz, exc)
