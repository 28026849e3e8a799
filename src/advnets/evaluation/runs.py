"""Evaluating a finished (or running) run from its directory alone."""

from __future__ import annotations

import json
import time

import torch

from advnets.config import RunConfig
from advnets.data.datasets import Dataset, load_dataset
from advnets.evaluation.parzen import ParzenResult, parzen_protocol
from advnets.files import atomic_write_text
from advnets.models import build_models
from advnets.sampling import generate
from advnets.training import checkpoint as ckpt
from advnets.training.logs import MetricsLog
from advnets.training.rundir import RunDir

# The noise seed of the Parzen evaluation: fixed, so a checkpoint always gets the same score.
EVAL_NOISE_SEED = 2014
PAPER_VALID_IMAGES = 1000  # validation images that choose sigma (the reference script)


def load_generator(
    run: RunDir, checkpoint: str = "best"
) -> tuple[torch.nn.Module, RunConfig, dict]:
    """The generator of a run, with the weights of checkpoints/<checkpoint>.safetensors."""
    config = run.load_config()
    path = run.checkpoint(checkpoint)
    if checkpoint == "best" and not path.is_file():
        path = run.checkpoint("last")
    tensors, meta = ckpt.load_checkpoint(path)
    meta["checkpoint"] = path.stem
    data_dim = tensors["generator.output.bias"].shape[0]
    generator, _ = build_models(config.model, data_dim)
    ckpt.load_module("generator", generator, tensors)
    return generator, config, meta


def score_samples(samples, dataset: Dataset) -> ParzenResult:
    """The paper's Parzen protocol for any samples against a dataset's validation and test sets."""
    n_valid = min(PAPER_VALID_IMAGES, len(dataset.valid))
    return parzen_protocol(samples, dataset.valid, dataset.test, n_valid=n_valid)


def evaluate_run(
    run: RunDir,
    checkpoint: str = "best",
    dataset: Dataset | None = None,
    n_samples: int = 10000,
    seed: int = EVAL_NOISE_SEED,
) -> ParzenResult:
    """The paper's Parzen protocol on a run's checkpoint; writes parzen.json and a metrics record.

    10,000 samples, sigma chosen on the first 1,000 validation images, mean
    log-likelihood of the 10,000 test images +- standard error (Section 5).
    """
    generator, config, meta = load_generator(run, checkpoint)
    dataset = dataset or load_dataset(config.data)
    ckpt.check_data(meta, dataset.sha256, run.path)
    result = score_samples(generate(generator, n_samples, seed), dataset)
    state = meta["state"]
    record = {
        "kind": "test_parzen",
        "step": state["g_updates"],
        "epoch": state["epoch"],
        "checkpoint": meta["checkpoint"],
        "seed": seed,
        **result.to_dict(),
        "time": time.time(),
    }
    atomic_write_text(run.parzen, json.dumps(record, indent=2) + "\n")
    MetricsLog(run.metrics).write(record)
    return result
