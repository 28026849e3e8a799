"""Generators shipped inside the package, to sample without training.

Each is the generator weights only (float32 safetensors) of one run, checked against the
SHA-256 recorded here before use, with a model card beside it (``<file>.json``): the
preset, seed and epoch it came from, its test scores under the paper's Parzen protocol
(10,000 samples drawn with noise seed ``PROTOCOL_SEED``, Section 5) and the domain
metrics, the run's whole config (``config``: what makes two runs seeds of one recipe, for
Table 1's means), and the command that made it (``scripts/ship_generator.py``). The card also
holds a smaller score (``check``: 1,000 samples against 600 real test digits shipped
with the tests) that the tests recompute, so a shipped file and its card cannot drift
apart unnoticed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import torch

from advnets.config import ConfigError, ModelConfig, RunConfig, config_from_dict
from advnets.evaluation.parzen import parzen_protocol
from advnets.files import shipped_bytes
from advnets.models import build_models
from advnets.sampling import generate

PACKAGE = "advnets.evaluation"
PROTOCOL_SEED = 2014  # the noise seed of the card's 10,000 samples (the paper's year)
CHECK_SAMPLES = 1000  # the card's smaller score: this many samples


@dataclass(frozen=True)
class Shipped:
    """One shipped generator: its weight file in the package and that file's SHA-256."""

    file: str  # <file>.safetensors, and its model card <file>.json
    sha256: str


SHIPPED: dict[str, Shipped] = {
    # the paper's MNIST adversarial net, the best checkpoint of the long mnist-paper run
    "mnist-paper": Shipped(
        "generator_mnist_paper", "fc9f837f15897c251d6286938203600075a9282b64527293381d64dd8ec1486c"
    ),
    # the fast recipe's seed 0 (the preset's own), its best checkpoint by validation FID
    "mnist-fast": Shipped(
        "generator_mnist_fast", "5e8b5de7dbfa47cbaa76513de625f455a3e7b74769316161ebb42b30883d168f"
    ),
}


def shipped(name: str) -> Shipped:
    """The shipped generator called ``name``; an unknown name gets one sentence naming those
    shipped."""
    if name not in SHIPPED:
        raise ConfigError(
            f"no pretrained generator is called {name!r}; shipped: {', '.join(SHIPPED)}."
        )
    return SHIPPED[name]


def card(name: str) -> dict:
    """The model card of a shipped generator: where it came from and what it scores."""
    text = resources.files(PACKAGE).joinpath(f"{shipped(name).file}.json").read_text()
    return json.loads(text)


def trained_config(name: str) -> RunConfig | None:
    """The whole config of the run a shipped generator came from, or None where its card
    does not record one."""
    recorded = card(name).get("config")
    return None if recorded is None else config_from_dict(recorded)


def load_pretrained(name: str) -> tuple[torch.nn.Module, dict]:
    """A shipped generator in evaluation mode, with its weights verified, and its card."""
    entry = shipped(name)
    remedy = "reinstall advnets, or train the preset yourself."
    blob = shipped_bytes(PACKAGE, f"{entry.file}.safetensors", entry.sha256, remedy)
    model_card = card(name)
    from safetensors.torch import load as load_safetensors

    config = ModelConfig(**model_card["model"])
    with torch.random.fork_rng(devices=[]):  # building draws throwaway initial weights
        generator, _ = build_models(config, model_card["data_dim"])
    generator.load_state_dict(load_safetensors(blob))
    return generator.eval(), model_card


def check_score(generator: torch.nn.Module, valid: torch.Tensor, test: torch.Tensor) -> float:
    """The card's smaller score, in nats: the Parzen protocol on ``CHECK_SAMPLES`` samples
    drawn with seed ``PROTOCOL_SEED``, σ chosen on ``valid``, scored on ``test`` (the card
    uses the 600 + 600 real digits of tests/data/mnist-sample.npz, so tests need no
    download)."""
    samples = generate(generator, CHECK_SAMPLES, PROTOCOL_SEED)
    return parzen_protocol(samples, valid, test, n_valid=len(valid)).test_ll


def describe(name: str) -> str:
    """One line: a shipped generator's name, provenance and test scores."""
    made = card(name)
    parzen, domain = made["parzen"], made["domain"]
    return (
        f"{name:12s} {made['preset']} seed {made['seed']}, epoch {made['epoch']}: test Parzen "
        f"{parzen['test_ll']:.1f} ± {parzen['test_se']:.1f} nats (σ {parzen['sigma']:.3f}), "
        f"FID {domain['fid']:.2f}, recall {domain['recall']:.2f}, "
        f"classes {domain['classes_covered']}/10"
    )
