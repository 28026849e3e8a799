"""Samples of runs side by side, each captioned with its test Parzen score and domain metrics.

    python benchmarks/parzen_blur.py RUN_DIR [RUN_DIR ...] -o docs/parzen-blur.png

The Parzen-window estimate rewards blur: a sample that sits between many digits lies within
the window of more test images than a sharp one does (Theis et al. 2016, "A note on the
evaluation of generative models", Section 3.2). The figure shows it on real runs: each panel
is 100 samples (noise seed 2014, the draw ``advnets evaluate`` scores) of the checkpoint a
run's ``evaluation.json`` scored, under the scores of that file: Parzen log-likelihood on
the test set, FID and recall in the shipped classifier's features.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from advnets.evaluation.runs import (
    EVAL_NOISE_SEED,
    current_evaluation,
    load_generator,
    open_run,
)
from advnets.figures.grid import tile_images
from advnets.files import atomic_write_bytes
from advnets.runs.rundir import RunDirError
from advnets.sampling import generate

SAMPLES = 100  # a 10 x 10 grid


def caption(run_name: str, evaluation: dict) -> str:
    """Two lines: the run and its epoch, then its test scores."""
    parzen, domain = evaluation["parzen"], evaluation["domain"]
    return (
        f"{run_name}, epoch {evaluation['epoch']}\n"
        f"Parzen {parzen['test_ll']:.1f} nats, FID {domain['fid']:.2f}, "
        f"recall {domain['recall']:.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", metavar="RUN_DIR", nargs="+")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the PNG to write")
    args = parser.parse_args()

    panels = []
    for path in args.run_dirs:
        run, _, _ = open_run(path, require_finished=False)
        evaluation = current_evaluation(run)
        if evaluation is None:
            raise RunDirError(
                f"{run.path} has no evaluation of its best checkpoint: run `advnets evaluate "
                f"{run.path}` first."
            )
        generator, _, _ = load_generator(run, evaluation["checkpoint"])
        samples = generate(generator, SAMPLES, EVAL_NOISE_SEED).numpy()
        panels.append((tile_images(samples), caption(run.path.name, evaluation)))

    figure, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 4.0), squeeze=False)
    for axis, (pixels, text) in zip(axes[0], panels, strict=True):
        axis.imshow(pixels, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        axis.set_title(text, fontsize=9)
        axis.axis("off")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    print(f"wrote {atomic_write_bytes(args.output, buffer.getvalue())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
