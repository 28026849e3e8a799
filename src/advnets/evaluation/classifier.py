"""A small MNIST classifier: the domain feature extractor of the sample-quality metrics.

Not in the paper. FID, KID and the Inception Score were defined on the features of an
ImageNet Inception-v3, which mean little for 28x28 digits; the penultimate layer and the
class probabilities of a digit classifier are the usual domain substitute. The weights
ship inside the package (``mnist_classifier.safetensors``) and are checked against
``WEIGHTS_SHA256`` before use; ``scripts/train_mnist_classifier.py`` retrains them
reproducibly and ``mnist_classifier.json`` records how they were made and their accuracy.

A second set of weights of the same network reads scikit-learn's 8x8 digits up-sampled to
28x28 (``advnets.data.digits``), the B domain of CycleGAN's MNIST <-> digits pair
(``digits_classifier.safetensors``, ``scripts/train_digits_classifier.py``): it judges
whether a translation into that domain kept the digit. A third reads Fashion-MNIST's clothes
(``fashion_classifier.safetensors``, ``scripts/train_fashion_classifier.py``): the domain
features of runs on ``fashion-mnist`` (``advnets.evaluation.metrics.DOMAIN_WEIGHTS``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import torch
from torch import nn
from torch.nn import functional as F

from advnets.files import shipped_bytes
from advnets.sampling import eval_mode

WEIGHTS_FILE = "mnist_classifier.safetensors"
CARD_FILE = "mnist_classifier.json"
WEIGHTS_SHA256 = "3f9642dbef838a1e0e5be0cd86e12f6afaef14d557210ed2ea62d1303bfb55f4"
IMAGE_SHAPE = (28, 28)
DIGITS_WEIGHTS_FILE = "digits_classifier.safetensors"  # the 8x8 digits' (up-sampled) weights
DIGITS_CARD_FILE = "digits_classifier.json"
DIGITS_WEIGHTS_SHA256 = "6b6cf7303079a3403e52f6d2097b92b0df188cacf00a8c90a7d3e416dd3bc2de"
FASHION_WEIGHTS_FILE = "fashion_classifier.safetensors"  # Fashion-MNIST's clothes
FASHION_CARD_FILE = "fashion_classifier.json"
FASHION_WEIGHTS_SHA256 = "3f625152515b374b0e7a256fc41dd06f0ead3e6567d9e1e1f50bdfc0bbc3f654"
SCRIPTS = {  # what retrains each set of weights
    WEIGHTS_FILE: "scripts/train_mnist_classifier.py",
    DIGITS_WEIGHTS_FILE: "scripts/train_digits_classifier.py",
    FASHION_WEIGHTS_FILE: "scripts/train_fashion_classifier.py",
}


class MNISTClassifier(nn.Module):
    """conv5x5(16)-ReLU-pool, conv5x5(32)-ReLU-pool, fc(128)-ReLU (the features), fc(10).

    Input: flat images in [0, 1], (N, 784). 215,370 parameters. The features are
    multiplied by ``feature_scale``, set after training so that their mean square
    over the training images is 1 per dimension: this keeps KID's cubic kernel
    (xᵀy/d + 1)³ in the regime it was designed for and does not change the
    classification.
    """

    features_dim = 128
    classes = 10

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2)
        self.hidden = nn.Linear(32 * 7 * 7, self.features_dim)
        self.dropout = nn.Dropout(0.5)
        self.output = nn.Linear(self.features_dim, self.classes)
        self.register_buffer("feature_scale", torch.ones(()))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 128 penultimate ReLU activations: the feature space of FID, KID, precision..."""
        x = x.reshape(-1, 1, *IMAGE_SHAPE)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.hidden(x.flatten(1))) * self.feature_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.output(self.dropout(self.features(x)) / self.feature_scale)


@dataclass(frozen=True)
class Embedding:
    """What the classifier sees in a set of images."""

    features: torch.Tensor  # (N, 128) float32
    probs: torch.Tensor  # (N, 10) softmax class probabilities

    def to(self, device: torch.device | str) -> Embedding:
        """This embedding on ``device``."""
        return Embedding(self.features.to(device), self.probs.to(device))


@torch.no_grad()
def embed(classifier: MNISTClassifier, images: torch.Tensor, batch_size: int = 500) -> Embedding:
    """Features and class probabilities of flat images in [0, 1], in evaluation mode, on the
    classifier's device (images held elsewhere are moved there a batch at a time).

    Batches of 500 keep the first layer's activations (25 MB) in cache: on 2 CPU cores
    twice as fast as batches of 2,000, with the same features. (Some CPUs' convolutions
    round differently at another batch size: features then move by float32 rounding.)"""
    device = classifier.feature_scale.device
    features, probs = [], []
    with eval_mode(classifier):
        for start in range(0, len(images), batch_size):
            feats = classifier.features(images[start : start + batch_size].to(device).float())
            features.append(feats)
            logits = classifier.output(feats / classifier.feature_scale)
            probs.append(torch.softmax(logits, dim=1))
    if not features:
        empty = torch.empty(0, classifier.features_dim, device=device)
        return Embedding(empty, torch.empty(0, classifier.classes, device=device))
    return Embedding(torch.cat(features), torch.cat(probs))


def weights_bytes(file: str = WEIGHTS_FILE) -> bytes:
    """A shipped weight file (MNIST's by default), verified against its SHA-256."""
    expected = {  # read at call time
        WEIGHTS_FILE: WEIGHTS_SHA256,
        DIGITS_WEIGHTS_FILE: DIGITS_WEIGHTS_SHA256,
        FASHION_WEIGHTS_FILE: FASHION_WEIGHTS_SHA256,
    }[file]
    remedy = f"reinstall advnets or run {SCRIPTS[file]}."
    return shipped_bytes("advnets.evaluation", file, expected, remedy)


def card(file: str = CARD_FILE) -> dict:
    """How shipped weights were trained and what they score (mnist_classifier.json, or the
    card ``file`` names)."""
    return json.loads(resources.files("advnets.evaluation").joinpath(file).read_text())


_CACHE: dict[tuple[str, torch.device], MNISTClassifier] = {}


def load_classifier(
    device: torch.device | str = "cpu", file: str = WEIGHTS_FILE
) -> MNISTClassifier:
    """A shipped, checksum-verified classifier (MNIST's, or the weights ``file`` names) in
    evaluation mode on ``device`` (loaded once per process and device)."""
    device = torch.device(device)
    if (file, device) not in _CACHE:
        from safetensors.torch import load as load_safetensors

        with torch.random.fork_rng(devices=[]):  # its throwaway initialisation draws numbers:
            model = MNISTClassifier()  # scoring must not move training's random streams
        model.load_state_dict(load_safetensors(weights_bytes(file)))
        _CACHE[file, device] = model.to(device).eval()
    return _CACHE[file, device]
