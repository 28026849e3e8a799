"""Domain-feature metrics: against their formulas, and on real digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from advnets.data.datasets import Dataset
from advnets.evaluation import classifier as clf
from advnets.evaluation.metrics import (
    Reference,
    class_histogram,
    compare_embeddings,
    domain_classifier,
    domain_metrics,
    embed_images,
    frechet_distance,
    has_domain_features,
    inception_score,
    kernel_inception_distance,
    knn_radii,
    manifold_metrics,
    mmd2_unbiased,
)
from advnets.evaluation.neighbours import (
    ball_membership,
    memorisation_check,
    nearest_neighbours,
    nearest_train_distances,
)
from advnets.files import ShippedFileError

SAMPLE = Path(__file__).parent / "data" / "mnist-sample.npz"


@pytest.fixture(scope="module")
def digits() -> dict[str, np.ndarray]:
    """600 real validation and 600 real test digits (pixels in [0, 1]) with labels."""
    with np.load(SAMPLE) as data:
        return {
            key: data[key].astype(np.float32) / 255 if key.endswith("_x") else data[key]
            for key in data.files
        }


def gaussian(n: int, dim: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)) + shift


# ----- formulas ---------------------------------------------------------------------------------


def test_fid_closed_forms():
    x = gaussian(500, 8, 0) * torch.linspace(0.5, 2, 8)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    shift = torch.linspace(-1, 1, 8)
    assert frechet_distance(x, x + shift) == pytest.approx(float(shift.square().sum()), rel=1e-6)
    # x against a*x: |mu - a mu|^2 + (1 - a)^2 Tr(C), whatever the sample covariance C is
    a, xd = 3.0, x.double()
    expected = (1 - a) ** 2 * (xd.mean(0).square().sum() + torch.cov(xd.T).trace())
    assert frechet_distance(x, a * x) == pytest.approx(float(expected), rel=1e-6)


def test_mmd_matches_its_definition():
    x, y = gaussian(7, 3, 1).double(), gaussian(9, 3, 2, shift=0.5).double()

    def k(a, b):
        return (float(a @ b) / 3 + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    yy = sum(k(y[i], y[j]) for i in range(9) for j in range(9) if i != j) / (9 * 8)
    xy = sum(k(x[i], y[j]) for i in range(7) for j in range(9)) / (7 * 9)
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-9)


def test_kid_near_zero_for_one_distribution_and_positive_for_two():
    same, _ = kernel_inception_distance(gaussian(600, 16, 0), gaussian(600, 16, 1), 20, 300)
    shifted, _ = kernel_inception_distance(gaussian(600, 16, 0), gaussian(600, 16, 1, 0.5), 20, 300)
    assert abs(same) < 0.02 < shifted


def test_inception_score_bounds():
    one_hot = torch.eye(10).repeat(50, 1)
    assert inception_score(one_hot)[0] == pytest.approx(10.0, rel=1e-6)
    assert inception_score(torch.eye(10)[[3] * 500])[0] == pytest.approx(1.0, rel=1e-6)
    assert inception_score(torch.full((500, 10), 0.1))[0] == pytest.approx(1.0, rel=1e-6)


def test_class_histogram_counts_coverage_and_kl():
    labels = torch.tensor([0] * 50 + [1] * 49 + [2] * 1)
    result = class_histogram(torch.eye(10)[labels])
    assert result["counts"][:3] == [50, 49, 1] and sum(result["counts"]) == 100
    assert result["covered"] == 2  # class 2 holds 1% < 2%
    p = np.array([0.5, 0.49, 0.01])
    assert result["kl_to_uniform"] == pytest.approx(float((p * np.log(p * 10)).sum()))
    assert class_histogram(torch.eye(10).repeat(3, 1))["kl_to_uniform"] == pytest.approx(0.0)


def test_nearest_neighbours_match_brute_force():
    queries, reference = gaussian(130, 5, 0), gaussian(250, 5, 1)
    found = nearest_neighbours(queries, reference, k=3, batch_size=40)
    brute = torch.cdist(queries.double(), reference.double()).topk(3, largest=False)
    assert torch.equal(found.indices, brute.indices)
    assert torch.allclose(found.distances.double(), brute.values, atol=1e-5)
    self_nn = nearest_neighbours(reference, reference, k=1, exclude_self=True, batch_size=64)
    assert not torch.any(self_nn.indices[:, 0] == torch.arange(250))


def test_ball_membership_counts_and_hits():
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    queries = torch.tensor([[0.5, 0.0], [1.0, 0.0], [5.0, 0.0]])
    counts, hit = ball_membership(queries, centres, torch.tensor([1.0, 1.0]))
    assert counts.tolist() == [1, 1, 0] and hit.tolist() == [True, False]


def test_several_sets_of_balls_count_as_each_set_alone():
    queries, centres = gaussian(300, 4, 0), gaussian(200, 4, 1)
    radii = torch.stack([knn_radii(centres, 3), knn_radii(centres, 5)])
    counts, hit = ball_membership(queries, centres, radii, batch_size=64)
    assert counts.shape == (2, 300) and hit.shape == (2, 200)
    for s in range(2):
        alone = ball_membership(queries, centres, radii[s])
        assert torch.equal(counts[s], alone[0]) and torch.equal(hit[s], alone[1])


def test_precision_recall_density_coverage_on_known_geometry():
    real = torch.cat([gaussian(200, 4, seed) + 20 * seed for seed in range(5)])  # 5 far clusters
    same = torch.cat([gaussian(200, 4, seed + 10) + 20 * seed for seed in range(5)])
    collapsed = gaussian(1000, 4, 99)  # every sample in cluster 0
    precision, recall, density, coverage = manifold_metrics(real, same)
    assert precision > 0.8 and recall > 0.8
    assert 0.7 < density < 1.3 and coverage > 0.8
    precision, recall, _, coverage = manifold_metrics(real, collapsed)
    assert precision > 0.8 and recall < 0.25
    assert coverage < 0.25


def test_memorisation_check_catches_copies():
    train, test = gaussian(400, 6, 0), gaussian(400, 6, 1)
    test_distances = nearest_train_distances(test, train)
    fresh = memorisation_check(gaussian(400, 6, 2), train, test_distances)
    copies = memorisation_check(train[:200] + 1e-4, train, test_distances)
    assert fresh.fraction_below_test_p1 < 0.05
    assert copies.fraction_below_test_p1 == 1.0
    assert copies.summary()["n_samples"] == 200


# ----- the shipped classifier on real digits ----------------------------------------------------


def test_shipped_classifier_is_verified_and_accurate(digits):
    assert clf.card()["test_accuracy"] >= 0.99
    probs = embed_images(digits["test_x"], "test").probs
    assert float((probs.argmax(1).numpy() == digits["test_y"]).mean()) >= 0.98


def test_tampered_classifier_weights_are_refused(monkeypatch):
    monkeypatch.setattr(clf, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(ShippedFileError, match="damaged or was replaced"):
        clf.weights_bytes()


def test_fashion_mnist_runs_are_judged_by_the_shipped_clothes_classifier(digits, monkeypatch):
    """Its card records at least 90% test accuracy; its weights are verified like MNIST's and
    are not MNIST's; a data set's name picks the classifier."""
    card = clf.card(clf.FASHION_CARD_FILE)
    assert card["test_accuracy"] >= 0.90 and card["weights_sha256"] == clf.FASHION_WEIGHTS_SHA256
    fashion = make_named("fashion-mnist")
    assert has_domain_features(fashion) and not has_domain_features(make_named("cifar10"))
    clothes, mnist = domain_classifier(fashion), domain_classifier(make_named("mnist"))
    assert clothes is clf.load_classifier("cpu", clf.FASHION_WEIGHTS_FILE)
    images = torch.from_numpy(digits["test_x"][:200])
    assert not torch.equal(clothes(images), mnist(images))
    monkeypatch.setattr(clf, "FASHION_WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(ShippedFileError, match=r"fashion_classifier\.safetensors has SHA-256"):
        clf.weights_bytes(clf.FASHION_WEIGHTS_FILE)


def make_named(name: str) -> Dataset:
    images = np.zeros((3, 784), np.float32)
    return Dataset.from_arrays(name, images, images, images, (28, 28), "-", "-")


def test_real_digits_score_near_the_ideal_and_one_class_does_not(digits):
    reference = embed_images(digits["test_x"], "reference")
    real = domain_metrics(digits["valid_x"], reference)
    assert real.classes_covered == 10 and real.class_kl < 0.05
    assert real.precision > 0.7 and real.recall > 0.7 and real.coverage > 0.8
    assert real.inception_score > 8.5
    ones = digits["valid_x"][digits["valid_y"] == 1]
    collapsed = domain_metrics(np.resize(ones, (600, 784)), reference)
    assert collapsed.classes_covered == 1
    assert collapsed.recall < 0.3 and collapsed.coverage < 0.3
    assert collapsed.fid > 20 * real.fid and collapsed.inception_score < 1.5


def test_a_reference_scores_the_same_each_time_it_is_reused(digits):
    reference = Reference.of(embed_images(digits["test_x"], "reference"))
    samples = embed_images(digits["valid_x"][:300], "samples")
    first = compare_embeddings(reference, samples)  # fills the reference's KID terms
    assert compare_embeddings(reference, samples) == first
    assert compare_embeddings(Reference.of(reference.embedding), samples) == first


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        (np.zeros((10, 28, 28), np.float32), "2-D array"),
        (np.zeros((10, 100), np.float32), "784 are expected"),
        (np.full((10, 784), 255.0, np.float32), "outside \\[0, 1\\]"),
        (np.zeros((10, 784), np.uint8), "floating-point dtype"),
        (np.full((10, 784), np.nan, np.float32), "NaN"),
    ],
)
def test_metrics_refuse_bad_samples(digits, samples, message):
    with pytest.raises(ValueError, match=message):
        domain_metrics(samples, digits["test_x"])


@pytest.mark.parametrize(
    ("real", "fake", "message"),
    [
        (torch.zeros(10, 4), torch.zeros(10, 5), "differ in width"),
        (torch.zeros(10), torch.zeros(10, 4), "2-D array"),
        (torch.zeros(10, 4), torch.full((10, 4), float("nan")), "NaN"),
        (torch.zeros(1, 4), torch.zeros(10, 4), "at least"),
    ],
)
def test_feature_metrics_refuse_bad_features(real, fake, message):
    for metric in (frechet_distance, kernel_inception_distance, manifold_metrics):
        with pytest.raises(ValueError, match=message):
            metric(real, fake)
