"""Ship a run's generator inside the package: its weights and a model card.

    python scripts/ship_generator.py RUN_DIR --name mnist-paper --preset mnist-paper

Writes src/advnets/evaluation/<file>.safetensors (generator weights only, float32) and
<file>.json (the card: where the weights came from, the paper's Parzen protocol on 10,000
samples drawn with seed 2014, the domain metrics, the smaller check score the tests
recompute), then prints the SHA-256 to record in advnets.evaluation.pretrained.SHIPPED.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save

from advnets.data.registry import load_dataset
from advnets.evaluation import pretrained
from advnets.evaluation.runs import load_generator, score_images
from advnets.files import atomic_write_bytes, atomic_write_text, sha256_bytes
from advnets.runs.rundir import RunDir
from advnets.sampling import generate

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "src" / "advnets" / "evaluation"
CHECK_DIGITS = ROOT / "tests" / "data" / "mnist-sample.npz"
CHECK_KEYS = ("valid_x", "test_x")


def check(generator: torch.nn.Module) -> dict:
    """The card's smaller score, on the real digits the tests ship (no download needed)."""
    with np.load(CHECK_DIGITS) as digits:
        valid, test = (torch.from_numpy(digits[k].astype(np.float32) / 255) for k in CHECK_KEYS)
    return {
        "samples": pretrained.CHECK_SAMPLES,
        "digits": "tests/data/mnist-sample.npz",
        "valid_images": len(valid),
        "test_images": len(test),
        "test_ll": pretrained.check_score(generator, valid, test),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--name", required=True, choices=sorted(pretrained.SHIPPED))
    parser.add_argument("--preset", required=True, help="the preset the run was trained from")
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"])
    args = parser.parse_args()

    generator, config, meta = load_generator(RunDir(args.run_dir), args.checkpoint)
    weights = {k: v.detach().float().contiguous() for k, v in generator.state_dict().items()}
    blob = save(weights)
    dataset = load_dataset(config.data)
    scores = score_images(generate(generator, 10000, pretrained.PROTOCOL_SEED), dataset)
    scores.pop("distances")
    state = meta["state"]
    model_card = {
        "name": args.name,
        "preset": args.preset,
        "seed": config.seed,
        "epoch": state["epoch"],
        "step": state["g_updates"],
        "checkpoint": meta["checkpoint"],
        "model": dataclasses.asdict(config.model),
        "config": config.to_dict(),
        "data_dim": generator.data_dim,
        "image_shape": list(dataset.image_shape),
        "data_sha256": dataset.sha256,
        "parzen": scores["parzen"],
        "domain": scores["domain"],
        "memorisation": scores["memorisation"],
        "check": check(generator),
        "weights_sha256": sha256_bytes(blob),
        "torch_version": torch.__version__,
        "trained_by": f"advnets train {args.preset} --set seed={config.seed} "
        f"--set training.epochs={config.training.epochs}",
        "command": f"python scripts/ship_generator.py RUN_DIR --name {args.name} "
        f"--preset {args.preset} --checkpoint {args.checkpoint}",
    }
    file = pretrained.SHIPPED[args.name].file
    atomic_write_bytes(PACKAGE_DIR / f"{file}.safetensors", blob)
    atomic_write_text(PACKAGE_DIR / f"{file}.json", json.dumps(model_card, indent=2) + "\n")
    print(json.dumps({k: model_card[k] for k in ("epoch", "parzen", "check")}, indent=2))
    print(f"record in advnets.evaluation.pretrained.SHIPPED[{args.name!r}]: {sha256_bytes(blob)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
