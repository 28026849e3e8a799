"""Inferring codes of real images: a learned encoder (BiGAN/ALI) against searching G's
latent space, the issue of "learned approximate inference" (Donahue et al. 2017; Dumoulin et
al. 2017).

Two ways to find the code z of an image x, judged on the same test images:

- the **encoder**: z = E(x), one forward pass, learned with G (``games.bigan``);
- **optimisation**: z* = argmin_z ‖G(z) − x‖² by Adam from several random starts drawn from
  the prior (``evaluation.latent_search``), which any unconditional G allows.

Each is scored by its reconstruction G(z): the mean squared error per pixel, the shipped
MNIST classifier's accuracy on it against the true labels (does the code keep the digit?),
and the seconds it took. The encoder's codes are also scored as features, as Donahue et al.
do on permutation-invariant MNIST: the accuracy of the nearest labelled training image's
label (1-NN, Euclidean) and of a linear probe (softmax regression,
``evaluation.semisupervised.linear_probe_error``) fitted to the labelled training images,
both on the whole test split, against the same two on the raw pixels.
"""

from __future__ import annotations

import time

import torch

from advnets.data.datasets import Dataset
from advnets.evaluation.latent_search import SearchSettings, search_latent_codes
from advnets.evaluation.metrics import classifier_accuracy, has_domain_features
from advnets.evaluation.neighbours import nearest_neighbours
from advnets.evaluation.semisupervised import linear_probe_error
from advnets.sampling import eval_mode

BATCH = 500  # images per pass of E or G
METHODS = ("encoder", "optimisation")  # what finds the codes: E(x), or the latent search


def squared_error(reconstructions: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """‖G(z) − x‖² of each image, the loss the optimisation descends."""
    return (reconstructions - images).square().sum(dim=1)


@torch.no_grad()
def apply(network: torch.nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """``network`` on ``inputs`` in evaluation mode, batch by batch."""
    with eval_mode(network):
        return torch.cat([network(inputs[i : i + BATCH]) for i in range(0, len(inputs), BATCH)])


def infer_codes(
    method: str,
    generator: torch.nn.Module,
    encoder: torch.nn.Module | None,
    images: torch.Tensor,
    settings: SearchSettings,
    seed: int,
) -> torch.Tensor:
    """The codes of ``images`` that ``method`` finds (one of :data:`METHODS`)."""
    if method == "encoder":
        return apply(encoder, images)
    return search_latent_codes(generator, squared_error, images, settings, seed)


def reconstruction_scores(
    methods: list[str],
    generator: torch.nn.Module,
    encoder: torch.nn.Module | None,
    dataset: Dataset,
    n: int,
    settings: SearchSettings,
    seed: int = 0,
) -> tuple[dict, torch.Tensor]:
    """The first ``n`` test images reconstructed by each of ``methods``: per method the pixel
    MSE, the seconds and (MNIST) the classifier's accuracy, which the originals get too; and
    the rows of the figure (originals, then each method's G(z); up to 10 images each)."""
    images = dataset.test[:n]
    scores, reconstructions = {}, {}
    for method in methods:
        start = time.perf_counter()
        reconstructions[method] = apply(
            generator, infer_codes(method, generator, encoder, images, settings, seed)
        )
        seconds = time.perf_counter() - start
        mse = (reconstructions[method] - images).square().mean().item()
        scores[method] = {"mse": mse, "seconds": seconds}
    if has_domain_features(dataset):
        labels = dataset.labels.test[:n]
        for name, shown in [("original", images), *reconstructions.items()]:
            accuracy = classifier_accuracy(shown, labels, name, dataset)
            scores.setdefault(name, {})["classifier_accuracy"] = accuracy
    columns = min(10, n)
    rows = [images[:columns], *(done[:columns] for done in reconstructions.values())]
    return scores, torch.cat(rows)


def nearest_neighbour_accuracy(
    train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor, test_labels: torch.Tensor
) -> float:
    """The share of test rows whose nearest training row (Euclidean) has their label."""
    nearest = nearest_neighbours(test, train).indices[:, 0]
    return train_labels[nearest].eq(test_labels).float().mean().item()


def feature_scores(encoder: torch.nn.Module, dataset: Dataset, labelled: int) -> dict:
    """1-NN and linear-probe test accuracy of E(x) and of the raw pixels, with the first
    ``labelled`` training images as the labelled ones, on every test image."""
    train, train_labels = dataset.train[:labelled], dataset.labels.train[:labelled]
    test, test_labels = dataset.test, dataset.labels.test
    scores = {}
    with torch.random.fork_rng():  # the probe's initial weights; L-BFGS finds one optimum
        torch.manual_seed(0)
        for name, (x, x_test) in {
            "E(x)": (apply(encoder, train), apply(encoder, test)),
            "pixels": (train, test),
        }.items():
            scores[name] = {
                "nearest_neighbour_accuracy": nearest_neighbour_accuracy(
                    x, train_labels, x_test, test_labels
                ),
                "linear_probe_accuracy": 1
                - linear_probe_error(x, train_labels, x_test, test_labels),
            }
    return {"labelled_train_images": len(train), "test_images": len(test), "scores": scores}
