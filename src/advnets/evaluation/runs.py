"""Evaluating a run from its directory alone: the paper's protocol and what it misses.

``evaluate_run`` scores a checkpoint three ways (a VAE's four) and writes ``evaluation.json``:

* the paper's Parzen protocol on the test set (Section 5, Table 1);
* the domain-feature metrics of ``advnets.evaluation.metrics`` against the
  10,000 test images (MNIST runs);
* the memorisation check of ``advnets.evaluation.neighbours`` (distances to the
  nearest training image, samples beside held-out test images; the distances
  go to ``evaluation-distances.npz`` for the plot);
* for a VAE, its test ELBO and importance-weighted log-likelihood
  (``advnets.evaluation.likelihood``, k = 5,000 samples per image as Burda et al. 2016).

All three see the same 10,000 samples, drawn with the fixed noise seed
``EVAL_NOISE_SEED``, so a checkpoint always gets the same scores.
"""

from __future__ import annotations

import io
import json
import time

import numpy as np
import torch

from advnets.config import RunConfig
from advnets.data.datasets import Dataset
from advnets.data.derived import cached_array
from advnets.data.registry import load_dataset
from advnets.evaluation.conditional import conditional_scores
from advnets.evaluation.likelihood import likelihood_protocol
from advnets.evaluation.metrics import (
    Embedding,
    Reference,
    compare_embeddings,
    domain_classifier,
    domain_unavailable,
    embed_images,
    has_domain_features,
)
from advnets.evaluation.neighbours import memorisation_check, nearest_train_distances
from advnets.evaluation.parzen import ParzenResult, parzen_protocol
from advnets.files import atomic_write_bytes, atomic_write_text
from advnets.games.average import sampling_prefix
from advnets.games.bigan import ENCODER
from advnets.models import build_encoder, build_models
from advnets.models.autoencoder import VAE
from advnets.models.registry import family
from advnets.runs import checkpoint as ckpt
from advnets.runs.logs import MetricsLog
from advnets.runs.rundir import RunDir, RunDirError
from advnets.sampling import generate

# The noise seed of the evaluation: fixed, so a checkpoint always gets the same score.
EVAL_NOISE_SEED = 2014
PAPER_VALID_IMAGES = 1000  # validation images that choose sigma (the reference script)
IW_SAMPLES = 5000  # importance samples per test image of a VAE's log-likelihood (Burda et al.)


def open_run(path, require_finished: bool = True) -> tuple[RunDir, RunConfig, dict]:
    """A run directory checked for use: its config, and the state of its last checkpoint.

    Refuses, with one sentence saying what is missing, a path that is not a run
    directory, a run of a model family or config this version cannot read, a
    damaged config.yaml or run.json, a run with no checkpoint yet, and (with
    ``require_finished``) a run that has not finished training.
    """
    run = RunDir(path)
    run.require()
    config = run.load_config()
    run.load_info()  # checked now, before any work: the report shows it
    last = run.checkpoint("last")
    if not last.is_file():
        raise RunDirError(
            f"{run.path} has no checkpoint yet (checkpoints/last.safetensors is missing): "
            "training has not completed an epoch there."
        )
    state = ckpt.read_state(last)["state"]
    steps_done = config.training.max_steps is not None and (
        state["g_updates"] >= config.training.max_steps
    )
    finished = state["finished"] or state["epoch"] >= config.training.epochs or steps_done
    if require_finished and not finished:
        raise RunDirError(
            f"{run.path} is unfinished: its last checkpoint is at epoch {state['epoch']} of "
            f"{config.training.epochs}. Finish it with `advnets train --resume --out {run.path}` "
            "(add --set training.epochs=N to stop earlier), or pass --allow-unfinished."
        )
    return run, config, state


def load_generator(
    run: RunDir, checkpoint: str = "best"
) -> tuple[torch.nn.Module, RunConfig, dict]:
    """The generator of a run, with the weights of checkpoints/<checkpoint>.safetensors: the
    moving average of G's weights where the run kept one (training.generator_average)."""
    generator, _, config, meta = load_players(run, checkpoint)
    return generator, config, meta


def translates(config: RunConfig) -> bool:
    """Whether a run's family translates between two domains (CycleGAN's) instead of drawing
    samples."""
    return family(config.model.family).game == "cycle"


def refuse_translator(run: RunDir, config: RunConfig) -> None:
    """One sentence for a CycleGAN run given to a tool that needs samples from a G."""
    if translates(config):
        raise RunDirError(
            f"{run.path} is a CycleGAN run: it translates between two domains and draws no "
            f"samples, so this command does not apply; use `advnets translate {run.path}`."
        )


def require_translator(run: RunDir, config: RunConfig) -> None:
    """One sentence for a run of one domain given to a tool that translates."""
    if not translates(config):
        raise RunDirError(
            f"{run.path} is a {config.model.family} run on one domain: translate needs a "
            "CycleGAN run (model.family = cyclegan), which maps between two."
        )


def load_players(
    run: RunDir, checkpoint: str = "best", translator: bool = False
) -> tuple[torch.nn.Module, torch.nn.Module | None, RunConfig, dict]:
    """G as :func:`load_generator` gives it, and D with its weights (None for a family
    without one), from checkpoints/<checkpoint>.safetensors (``best`` falls back to
    ``last``). A CycleGAN run's pairs (``models.cyclegan``) only where the caller takes a
    ``translator``: the other tools draw samples from G, which a translator cannot give."""
    config, tensors, meta, data_dim = _read_checkpoint(run, checkpoint, translator)
    generator, discriminator = build_models(config.model, data_dim)
    ckpt.load_module(sampling_prefix(tensors), generator, tensors)
    if discriminator is not None:
        ckpt.load_module("discriminator", discriminator, tensors)
    return generator, discriminator, config, meta


def load_encoder(run: RunDir, checkpoint: str = "best") -> torch.nn.Module | None:
    """The encoder E(x) of a run whose family learns one with G (BiGAN's), with the weights of
    checkpoints/<checkpoint>.safetensors (as :func:`load_players`); None for the others."""
    config, tensors, _, data_dim = _read_checkpoint(run, checkpoint)
    encoder = build_encoder(config.model, data_dim)
    if encoder is not None:
        ckpt.load_module(ENCODER, encoder, tensors)
    return encoder


def _read_checkpoint(
    run: RunDir, checkpoint: str, translator: bool = False
) -> tuple[RunConfig, dict, dict, int]:
    """A run's config, the tensors and metadata of checkpoints/<checkpoint>.safetensors
    (``best`` falls back to ``last``) and the data dimension its networks were built for; a
    CycleGAN run only for a caller that takes a ``translator``."""
    config = run.load_config()
    if not translator:
        refuse_translator(run, config)
    path = run.checkpoint(checkpoint)
    if checkpoint == "best" and not path.is_file():
        path = run.checkpoint("last")
    tensors, meta = ckpt.load_checkpoint(path)
    meta["checkpoint"] = path.stem
    # recorded in the checkpoint; before it was, only the MLP families existed
    data_dim = meta.get("data_dim") or tensors["generator.output.bias"].shape[0]
    return config, tensors, meta, data_dim


def score_samples(samples, dataset: Dataset) -> ParzenResult:
    """The paper's Parzen protocol for any samples against a dataset's validation and test sets."""
    n_valid = min(PAPER_VALID_IMAGES, len(dataset.valid))
    return parzen_protocol(samples, dataset.valid, dataset.test, n_valid=n_valid)


def score_images(
    samples: torch.Tensor,
    dataset: Dataset,
    memorisation: bool = True,
    test_embedding: Embedding | None = None,
) -> dict:
    """Every test-set score of a set of images: Parzen, domain metrics, memorisation.

    Returns the JSON-ready results and, under ``"distances"``, the per-image
    nearest-training-image distances of the samples and of the test images
    (``memorisation=False`` skips that check, e.g. for training images themselves).
    ``test_embedding``: the classifier's embedding of the test images, if already made.
    """
    parzen = score_samples(samples, dataset)
    domain, reference_counts = None, None
    if has_domain_features(dataset):
        classifier = domain_classifier(dataset)
        reference = test_embedding
        if reference is None:
            reference = embed_images(dataset.test, "test images", classifier)
        metrics = compare_embeddings(
            Reference.of(reference), embed_images(samples, "samples", classifier)
        )
        domain = metrics.to_dict()
        reference_counts = torch.bincount(reference.probs.argmax(1), minlength=10).tolist()
    scores = {
        "dataset": dataset.name,
        "parzen": parzen.to_dict(),
        "domain": domain,
        "domain_unavailable": domain_unavailable(dataset),
        "reference_class_counts": reference_counts,
    }
    if memorisation:
        check = memorisation_check(samples, dataset.train, test_train_distances(dataset))
        scores["memorisation"] = check.summary()
        scores["distances"] = {"samples": check.sample_distances, "test": check.test_distances}
    return scores


def test_train_distances(dataset: Dataset) -> np.ndarray:
    """Each test image's distance to its nearest training image, computed once per dataset
    (kept in the data cache, keyed by the data's digest and the training set's size)."""
    key = f"test-to-train-distances-{dataset.sha256[:16]}-{len(dataset.train)}"
    return cached_array(
        dataset.cache_dir, key, lambda: nearest_train_distances(dataset.test, dataset.train)
    )


def ceiling_scores(dataset: Dataset, n: int = 10000) -> dict:
    """The scores of ``n`` real training images as if they were samples: the ceiling row of
    Table 1 in the later literature (Parzen ≈ 240 nats on MNIST)."""
    return score_images(dataset.train[:n], dataset, memorisation=False)


def vae_likelihood(
    generator: torch.nn.Module, test: torch.Tensor, k: int = IW_SAMPLES, images: int | None = None
) -> dict | None:
    """A VAE's test ELBO and importance-weighted log-likelihood L_k on the first ``images``
    test images (all by default), JSON-ready; None for a generator that is no VAE's decoder."""
    net = getattr(generator, "net", None)
    if not isinstance(net, VAE):
        return None
    with torch.no_grad():
        result = likelihood_protocol(net.eval(), test[:images], k=k)
    return result.to_dict()


def evaluate_run(
    run: RunDir,
    checkpoint: str = "best",
    dataset: Dataset | None = None,
    n_samples: int = 10000,
    seed: int = EVAL_NOISE_SEED,
    iw_samples: int = IW_SAMPLES,
    iw_images: int | None = None,
) -> dict:
    """Score a run's checkpoint (see the module docstring); writes evaluation.json.

    The paper's protocol: 10,000 samples, sigma chosen on the first 1,000
    validation images, mean log-likelihood of the 10,000 test images ±
    standard error (Section 5). A VAE's likelihood bounds take ``iw_samples`` importance
    samples for each of the first ``iw_images`` test images (all by default).
    """
    generator, config, meta = load_generator(run, checkpoint)
    dataset = dataset or load_dataset(config.data)
    ckpt.check_data(meta, dataset.sha256, run.path)
    conditional = getattr(generator, "num_classes", 0) and has_domain_features(dataset)
    # a conditional run's scores and its per-class scores share one embedding of the test set
    test_embedding = None
    if conditional:
        test_embedding = embed_images(dataset.test, "test images", domain_classifier(dataset))
    samples = generate(generator, n_samples, seed)
    scores = score_images(samples, dataset, test_embedding=test_embedding)
    if conditional:
        scores["conditional"] = conditional_scores(generator, dataset, seed, test_embedding)
    distances = scores.pop("distances")
    likelihood = vae_likelihood(generator, dataset.test, iw_samples, iw_images)
    state = meta["state"]
    record = {
        "kind": "test_evaluation",
        "step": state["g_updates"],
        "epoch": state["epoch"],
        "checkpoint": meta["checkpoint"],
        "family": config.model.family,
        "seed": seed,
        **scores,
        **({"likelihood": likelihood} if likelihood else {}),
        "time": time.time(),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **distances)
    atomic_write_bytes(run.distances, buffer.getvalue())
    atomic_write_text(run.evaluation, json.dumps(record, indent=2) + "\n")
    MetricsLog(run.metrics).write(record)
    return record


def current_evaluation(run: RunDir, checkpoint: str = "best") -> dict | None:
    """evaluation.json if it scores the run's current ``checkpoint``, else None."""
    if not run.evaluation.is_file():
        return None
    record = json.loads(run.evaluation.read_text())
    path = run.checkpoint(checkpoint)
    if not path.is_file():
        path = run.checkpoint("last")
    state = ckpt.read_state(path)["state"]
    current = record.get("step") == state["g_updates"] and record.get("checkpoint") == path.stem
    return record if current and run.distances.is_file() else None


def ensure_evaluation(run: RunDir, dataset: Dataset | None = None) -> dict:
    """The best checkpoint's evaluation: read from evaluation.json, or computed if stale."""
    return current_evaluation(run) or evaluate_run(run, "best", dataset)


def load_distances(run: RunDir) -> dict[str, np.ndarray]:
    """The memorisation check's per-image distances (plain arrays, never unpickled)."""
    with np.load(run.distances, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
