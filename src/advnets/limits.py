"""Bounds on every size a user can give, in one place, each with its reason.

A size outside its bounds is refused before anything is allocated, with one
sentence that names the value and the limit. The limits are generous: ten
times what the paper's experiments use, or more. Sizes whose cost multiplies
(a model's layer widths, a sample file's rows and columns) are also checked
against the memory this machine has available.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_SAMPLES = 1_000_000
"""Samples drawn or read at once (``sample -n``, ``evaluation.samples``, rows of a ``.npy``):
100x the paper's 10,000 Parzen samples and more than all 70,000 MNIST images; 1,000,000 x 784
float32 values are 3.1 GB."""

MAX_WIDTH = 65_536
"""``model.noise_dim`` and each layer's width: 54x the paper's widest layer (1,200 units).
Their products are bounded by the memory check of :func:`check_memory`."""

MAX_CLASSES = 10_000
"""``model.num_classes``: 1,000x MNIST's ten; a one-hot label row of this width is 40 KB."""

TRAINING_BYTES_PER_PARAMETER = 16
"""Memory a parameter takes in training: its float32 weight, its gradient and two optimiser
buffers (Adam's moments; SGD's momentum takes one)."""

MAX_LAYERS = 64
"""Hidden layers of G or D: the paper uses 2."""

MAX_PIECES = 64
"""Linear pieces per maxout unit: the paper uses 5."""

MAX_UNROLLED_STEPS = 100
"""D steps a G step is unrolled over (``training.unrolled_steps``): Metz et al. 2017 use up to
10; each G step costs that many more D updates."""

MAX_BATCH = 65_536
"""``training.batch_size``: 655x the paper's 100; a minibatch's activations are held in
memory for every layer (65,536 x 1,200 float32 are 315 MB a layer)."""

MAX_SEEDS = 64
"""Seeds trained together in one run (``train --seeds``): 8x the 8 a paper's table of means
and deviations needs; each copy of the paper's model takes about 45 MB in training."""

MAX_TOY_POINTS = 10_000_000
"""``data.toy_points``: 1,000x the toy presets' 10,000 (80 MB of 2-D points)."""

MAX_THREADS = 1024
"""``training.threads``: more than any machine's cores; far more threads crash OpenMP
(100,000 ends in a segmentation fault)."""

MAX_SEED = 2**32 - 1
"""Seeds (``seed``, ``--seed``) are 0 .. 2^32 - 1, numpy's range; advnets derives further
streams by adding step counts, which must stay within PyTorch's 64-bit seeds."""

MAX_GRID = 100
"""Rows, columns and steps of a picture (``figures --rows/--columns/--steps``,
``logging.grid_rows``): 100 x 100 images are 10,000 samples on a 3,000-pixel square."""

MAX_SCALE = 32
"""``sample --scale``: each pixel drawn as at most a 32 x 32 square."""

MAX_PICTURE_PIXELS = 16_384**2
"""Pixels of one picture after scaling: a PNG is encoded whole in memory, and 16,384 pixels a
side is beyond any screen or print (60,000 MNIST samples at ``--scale 2`` fit)."""

MAX_IDX_BYTES = 1 << 30
"""The data of one IDX file: 20x Fashion-MNIST's largest (60,000 x 28 x 28 bytes, 47 MB); the
header states the size, and a larger one is refused before anything is read."""

MAX_IMAGE_SIDE = 1024
"""The side of the square images an image folder is resized to: 16x DCGAN's 64; 50,000 RGB
images of 1,024 x 1,024 pixels are 157 GB, so the memory check usually binds first."""

MAX_CONFIG_BYTES = 1 << 20
"""A YAML config file: a full config is about 2 kB; a larger file is not a config."""


class LimitError(ValueError):
    """A size beyond what advnets accepts; the message names the value and the limit."""


def out_of_range(value: int, low: int, high: int, name: str | None = None) -> str | None:
    """One sentence saying that ``value`` (of ``name``) lies outside ``low`` .. ``high``, or
    None if it does not."""
    if low <= value <= high:
        return None
    shown = f"{value:,}" if value.bit_length() <= 256 else f"a {value.bit_length()}-bit number"
    subject = shown if name is None else f"{name} = {shown}"
    return f"{subject} is outside the allowed range {low:,} .. {high:,}."


def check_range(name: str, value: int, low: int, high: int) -> None:
    """Raise LimitError unless ``low <= value <= high``."""
    problem = out_of_range(value, low, high, name)
    if problem:
        raise LimitError(problem)


def _meminfo_available() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (Linux), or None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_available() -> int | None:
    """What the process's cgroup (v2) still allows, in bytes, or None if it sets no limit."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None


def _sysconf_available() -> int | None:
    """Free physical pages times the page size (POSIX), or None."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def available_memory() -> int | None:
    """Bytes of memory available to this process now, or None where it cannot be told.

    /proc/meminfo's MemAvailable (free memory plus what the kernel can reclaim), capped by a
    cgroup's limit (containers); elsewhere the free pages POSIX reports. Where nothing can be
    read, only the stated limits apply.
    """
    system = _meminfo_available() or _sysconf_available()
    cgroup = _cgroup_available()
    known = [b for b in (system, cgroup) if b is not None]
    return min(known) if known else None


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:,.1f} GiB"


def check_memory(what: str, nbytes: int) -> None:
    """Raise LimitError if ``what`` would need more than the memory available now."""
    available = available_memory()
    if available is not None and nbytes > available:
        raise LimitError(
            f"{what} would need about {_gib(nbytes)} of memory, more than the "
            f"{_gib(available)} available."
        )
