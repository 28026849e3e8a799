"""A run's logs: metrics.jsonl (one JSON object per line) and TensorBoard.

metrics.jsonl is appended one whole line at a time. A process killed in the middle
of a write can still leave a partial last line (or a disk, garbage): readers skip a
line that is not a record, with one warning naming the file and line, and the next
writer starts on a fresh line, so the records after it stay readable.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from advnets.files import atomic_write_text

log = logging.getLogger(__name__)
_reported: set[tuple[Path, int]] = set()  # lines already warned about, in this process


def _record(line: bytes) -> dict[str, Any] | None:
    """The record on one line of metrics.jsonl, or None if the line is not one."""
    try:
        record = json.loads(line)
    except ValueError:  # not JSON, or not UTF-8
        return None
    valid = (
        isinstance(record, dict)
        and isinstance(record.get("kind"), str)
        and isinstance(record.get("step"), int)
    )
    return record if valid else None


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """All records of a metrics.jsonl file (an empty list if it does not exist), skipping
    lines that are not records, each reported once."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        record = _record(line)
        if record is not None:
            records.append(record)
        elif (path, number) not in _reported:
            _reported.add((path, number))
            log.warning(
                "%s, line %d, is not a whole record (a write cut short?): skipped", path, number
            )
    return records


class MetricsLog:
    """Appends records to ``metrics.jsonl``; every record carries the step it describes."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def truncate_after(self, step: int) -> list[dict[str, Any]]:
        """Drop records logged after ``step`` (work a resumed run is about to redo), and lines
        that are not records; return the records kept."""
        kept = [r for r in read_metrics(self.path) if r.get("step", 0) <= step]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        return kept

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one line with one write, on a line of its own."""
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in record.items()
        }
        line = (json.dumps(clean) + "\n").encode()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a last line cut short
                line = b"\n" + line
            while line:
                line = line[os.write(fd, line) :]
        finally:
            os.close(fd)


class TensorBoardLog:
    """Scalars and images for TensorBoard; a no-op when disabled."""

    def __init__(self, log_dir: str | os.PathLike, enabled: bool, purge_step: int | None) -> None:
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(name, value, step)

    def image(self, step: int, name: str, pixels: np.ndarray) -> None:
        """Log a uint8 grey (H x W) or colour (H x W x 3) image."""
        if self.writer is not None:
            layout = "HW" if pixels.ndim == 2 else "HWC"
            self.writer.add_image(name, pixels, step, dataformats=layout)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
