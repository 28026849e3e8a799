"""Sample-quality and coverage metrics in a domain feature space.

The Parzen score of the paper rewards blur and memorisation and misses quality
and coverage (Theis et al., 2016), so runs are also judged in the feature space
of a classifier of the data set's images (``advnets.evaluation.classifier``: MNIST's
digits, Fashion-MNIST's clothes, scikit-learn's 8x8 digits):

* FID (Heusel et al., 2017): ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2(Σ_r Σ_g)^{1/2}).
* KID (Bińkowski et al., 2018): the unbiased MMD² with kernel
  k(x, y) = (xᵀy / d + 1)³, averaged over random subsets (mean ± std).
* Inception Score (Salimans et al., 2016), with the classifier in Inception's
  place: exp(E_x KL(p(y|x) ‖ p(y))), over splits (mean ± std); 10 is the ideal.
* Precision and recall (Kynkäänniemi et al., 2019): the fraction of generated
  points inside the real k-NN manifold (union of balls reaching each real
  point's k-th neighbour), and of real points inside the generated one; k = 3.
* Density and coverage (Naeem et al., 2020): how many real balls hold each
  generated point, over k, averaged; the fraction of real balls holding any
  generated point; k = 5.
* The predicted-class histogram: the number of digit classes covered (those
  predicted for at least ``min_share`` of the samples) and KL(histogram ‖ uniform).

Real test images against real training images score near the ideal of each
(tests check it); a generator that draws a single digit has low recall, low
coverage and one class covered.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from advnets.data.datasets import Dataset
from advnets.evaluation.classifier import (
    DIGITS_WEIGHTS_FILE,
    FASHION_WEIGHTS_FILE,
    WEIGHTS_FILE,
    Embedding,
    MNISTClassifier,
    embed,
    load_classifier,
)
from advnets.evaluation.neighbours import ball_membership, nearest_neighbours
from advnets.evaluation.parzen import validate_samples

PRECISION_RECALL_K = 3  # Kynkäänniemi et al. (2019)
DENSITY_COVERAGE_K = 5  # Naeem et al. (2020)
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
IS_SPLITS = 10
MIN_CLASS_SHARE = 0.02  # a class is covered when >= 2% of samples (1/5 of a uniform share) get it
SCALAR_DOMAIN_METRICS = (
    "fid",
    "kid",
    "inception_score",
    "precision",
    "recall",
    "density",
    "coverage",
    "classes_covered",
    "class_kl",
)


DOMAIN_WEIGHTS = {  # the data sets a shipped classifier reads, and its weights
    "mnist": WEIGHTS_FILE,
    "fashion-mnist": FASHION_WEIGHTS_FILE,
    "digits": DIGITS_WEIGHTS_FILE,
}


def has_domain_features(dataset: Dataset) -> bool:
    """Whether a shipped feature extractor fits this dataset (MNIST's digits, Fashion-MNIST's
    clothes, scikit-learn's 8x8 digits)."""
    return dataset.name in DOMAIN_WEIGHTS


def domain_classifier(dataset: Dataset, device: torch.device | str = "cpu") -> MNISTClassifier:
    """The shipped classifier of ``dataset``'s images (see :func:`has_domain_features`)."""
    return load_classifier(device, DOMAIN_WEIGHTS[dataset.name])


def domain_unavailable(dataset: Dataset) -> str | None:
    """Why a set of images gets no domain metrics (one sentence), or None where it does."""
    if has_domain_features(dataset) or dataset.image_shape is None:
        return None
    return (
        f"FID, KID, IS, precision/recall, density/coverage and class coverage need a "
        f"classifier of {dataset.name} images, and advnets ships them for MNIST digits, "
        f"Fashion-MNIST clothes and scikit-learn's 8x8 digits only; "
        f"this run is judged by Parzen, memorisation and its samples."
    )


def check_features(real: torch.Tensor, fake: torch.Tensor, minimum: int = 2) -> None:
    """Refuse feature sets that would give a wrong number instead of an error."""
    for name, features in (("real", real), ("generated", fake)):
        if features.ndim != 2 or len(features) < minimum:
            raise ValueError(
                f"{name} features must be a 2-D array with at least {minimum} rows, "
                f"got shape {tuple(features.shape)}."
            )
        if not bool(torch.isfinite(features).all()):
            raise ValueError(f"{name} features contain NaN or infinite values.")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real and generated features differ in width ({real.shape[1]} vs {fake.shape[1]})."
        )


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID between two feature sets, in float64.

    Tr((Σ_r Σ_g)^{1/2}) is computed as the sum of square roots of the eigenvalues
    of the symmetric Σ_r^{1/2} Σ_g Σ_r^{1/2}, which has the same spectrum.
    """
    check_features(real, fake)
    real, fake = real.double(), fake.double()
    mu_r, mu_g = real.mean(0), fake.mean(0)
    cov_r, cov_g = torch.cov(real.T), torch.cov(fake.T)
    values, vectors = torch.linalg.eigh(cov_r)
    root_r = (vectors * values.clamp(min=0).sqrt()) @ vectors.T
    cross = torch.linalg.eigvalsh(root_r @ cov_g @ root_r).clamp(min=0).sqrt().sum()
    fid = (mu_r - mu_g).square().sum() + cov_r.trace() + cov_g.trace() - 2 * cross
    return float(fid.clamp(min=0))


def _polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(xᵀy / d + 1)³: the inner products by a float32 GEMM, the rest in float64 (in place)."""
    return (x @ y.T).double().div_(x.shape[1]).add_(1).pow_(3)


def _within(x: torch.Tensor) -> torch.Tensor:
    """The mean kernel value over pairs of distinct rows of x: a within-set term of MMD²."""
    k = _polynomial_kernel(x, x)
    return (k.sum() - k.diagonal().sum()) / (len(x) * (len(x) - 1))


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, x_term: torch.Tensor | None = None) -> float:
    """The unbiased estimate of MMD² with the cubic polynomial kernel of KID.

    ``x_term``: x's within-set term, when the caller already has it.
    """
    x_term = _within(x) if x_term is None else x_term
    return float(x_term + _within(y) - 2 * _polynomial_kernel(x, y).mean())


def kid_subsets(
    n_real: int,
    n_fake: int,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """KID's random subsets, drawn from a private RNG: the real and the generated rows of each."""
    size = min(subset_size, n_real, n_fake)
    if size < 2:
        raise ValueError("KID needs at least 2 real and 2 generated feature vectors.")
    rng = torch.Generator().manual_seed(seed)
    return [
        (torch.randperm(n_real, generator=rng)[:size], torch.randperm(n_fake, generator=rng)[:size])
        for _ in range(subsets)
    ]


def kid_real_terms(
    real: torch.Tensor, subsets: list[tuple[torch.Tensor, torch.Tensor]]
) -> list[torch.Tensor]:
    """The within-set term of each subset's real rows: they depend on the real features alone."""
    return [_within(real[rows]) for rows, _ in subsets]


def kernel_inception_distance(
    real: torch.Tensor,
    fake: torch.Tensor,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
    real_terms: list[torch.Tensor] | None = None,
) -> tuple[float, float]:
    """KID: mean and std of the unbiased MMD² over random subsets (``kid_subsets``).

    ``real_terms``: ``kid_real_terms`` of those subsets, when the caller already has them.
    """
    check_features(real, fake)
    real, fake = real.float(), fake.float()
    drawn = kid_subsets(len(real), len(fake), subsets, subset_size, seed)
    real_terms = kid_real_terms(real, drawn) if real_terms is None else real_terms
    values = [
        mmd2_unbiased(real[rows], fake[others], term)
        for (rows, others), term in zip(drawn, real_terms, strict=True)
    ]
    return float(np.mean(values)), float(np.std(values))


def inception_score(probs: torch.Tensor, splits: int = IS_SPLITS) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) ‖ p(y))) on each of ``splits`` consecutive chunks: mean and std."""
    probs = probs.double().clamp(min=1e-12)
    scores = []
    for chunk in probs.chunk(min(splits, len(probs))):
        marginal = chunk.mean(0, keepdim=True)
        kl = (chunk * (chunk.log() - marginal.log())).sum(1).mean()
        scores.append(math.exp(float(kl)))
    return float(np.mean(scores)), float(np.std(scores))


def knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Each point's distance to its k-th nearest other point: the radii of a k-NN manifold."""
    return nearest_neighbours(features, features, k, exclude_self=True).distances[:, -1]


def _share(hits: torch.Tensor) -> float:
    """The fraction of True values."""
    return float(hits.double().mean())


def manifold_metrics(
    real: torch.Tensor, fake: torch.Tensor, real_knn: torch.Tensor | None = None
) -> tuple[float, float, float, float]:
    """Precision and recall (Kynkäänniemi et al., 2019; k = 3) and density and coverage
    (Naeem et al., 2020; k = 5) of generated features around real ones.

    The real k-NN manifold is the union of balls around the real points, each reaching
    its point's k-th nearest real neighbour; precision is the fraction of generated
    points inside it, recall the fraction of real points inside the generated one.
    Density counts the real balls (k = 5) holding each generated point, over k, averaged;
    coverage is the fraction of real balls holding any. One distance computation tests the
    generated points against both real manifolds. ``real_knn``: each real point's
    distances to its 5 nearest other real points, when the caller has them (``Reference``).
    """
    ks = (PRECISION_RECALL_K, DENSITY_COVERAGE_K)
    check_features(real, fake, minimum=max(ks) + 1)
    if real_knn is None:
        real_knn = nearest_neighbours(real, real, max(ks), exclude_self=True).distances
    counts, covered = ball_membership(fake, real, real_knn[:, [k - 1 for k in ks]].T)
    in_fake, _ = ball_membership(real, fake, knn_radii(fake, PRECISION_RECALL_K))
    density = float(counts[1].double().mean() / DENSITY_COVERAGE_K)
    return _share(counts[0] > 0), _share(in_fake > 0), density, _share(covered[1])


def class_histogram(probs: torch.Tensor, min_share: float = MIN_CLASS_SHARE) -> dict:
    """Predicted-class counts, the classes covered, and KL(histogram ‖ uniform) in nats."""
    classes = probs.shape[1]
    counts = torch.bincount(probs.argmax(1), minlength=classes).double()
    shares = counts / counts.sum()
    nonzero = shares[shares > 0]
    return {
        "counts": [int(c) for c in counts],
        "covered": int((shares >= min_share).sum()),
        "kl_to_uniform": float((nonzero * (nonzero * classes).log()).sum()),
    }


@dataclass(frozen=True)
class DomainMetrics:
    """Every metric of this module for one set of images against a real reference set."""

    fid: float
    kid: float
    kid_std: float
    inception_score: float
    inception_score_std: float
    precision: float
    recall: float
    density: float
    coverage: float
    classes_covered: int
    class_kl: float
    class_counts: list[int]
    n_images: int
    n_reference: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Reference:
    """Real images' embedding and what every comparison against it reuses, computed once:
    each real point's distances to its 5 nearest other real points (the radii of the real
    k-NN manifolds, ``manifold_metrics``) and KID's real within-set terms."""

    embedding: Embedding
    knn: torch.Tensor  # (N, 5) float32, nearest first
    _kid_terms: dict[tuple[int, int], list[torch.Tensor]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, embedding: Embedding) -> Reference:
        """The reference of a real embedding."""
        k = max(PRECISION_RECALL_K, DENSITY_COVERAGE_K)
        features = embedding.features
        check_features(features, features, minimum=k + 1)
        knn = nearest_neighbours(features, features, k, exclude_self=True).distances
        return cls(embedding, knn)

    def to(self, device: torch.device | str) -> Reference:
        """This reference on ``device``."""
        return Reference(self.embedding.to(device), self.knn.to(device))

    def kid_terms(self, n_fake: int, seed: int) -> list[torch.Tensor]:
        """``kid_real_terms`` of KID's subsets against ``n_fake`` generated rows (computed
        once per size and seed)."""
        if (n_fake, seed) not in self._kid_terms:
            real = self.embedding.features.float()
            drawn = kid_subsets(len(real), n_fake, seed=seed)
            self._kid_terms[n_fake, seed] = kid_real_terms(real, drawn)
        return self._kid_terms[n_fake, seed]


def compare_embeddings(real: Reference, fake: Embedding, seed: int = 0) -> DomainMetrics:
    """All metrics of generated (``fake``) against real embeddings, on their device."""
    features = real.embedding.features
    kid, kid_std = kernel_inception_distance(
        features, fake.features, seed=seed, real_terms=real.kid_terms(len(fake.features), seed)
    )
    score, score_std = inception_score(fake.probs)
    precision, recall, density, coverage = manifold_metrics(features, fake.features, real.knn)
    histogram = class_histogram(fake.probs)
    return DomainMetrics(
        fid=frechet_distance(features, fake.features),
        kid=kid,
        kid_std=kid_std,
        inception_score=score,
        inception_score_std=score_std,
        precision=precision,
        recall=recall,
        density=density,
        coverage=coverage,
        classes_covered=histogram["covered"],
        class_kl=histogram["kl_to_uniform"],
        class_counts=histogram["counts"],
        n_images=len(fake.features),
        n_reference=len(features),
    )


def embed_images(
    images: np.ndarray | torch.Tensor, name: str, classifier: MNISTClassifier | None = None
) -> Embedding:
    """Validate flat 28x28 images in [0, 1] (a clear error otherwise) and embed them."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    checked = validate_samples(images, dim=784, name=name)
    return embed(classifier or load_classifier(), torch.from_numpy(checked))


def classifier_accuracy(
    images: np.ndarray | torch.Tensor, labels: torch.Tensor, name: str, dataset: Dataset
) -> float:
    """The share of flat 28x28 ``images`` (called ``name`` in an error) that the classifier
    shipped for ``dataset`` reads as their ``labels``."""
    embedding = embed_images(images, name, domain_classifier(dataset))
    return embedding.probs.argmax(1).eq(labels).float().mean().item()


def domain_metrics(
    images: np.ndarray | torch.Tensor,
    reference: np.ndarray | torch.Tensor | Embedding,
    seed: int = 0,
    classifier: MNISTClassifier | None = None,
) -> DomainMetrics:
    """All metrics of ``images`` against real ``reference`` images (or their embedding), in the
    features of ``classifier`` (default: the shipped MNIST classifier).

    Both must be flat 28x28 images (N x 784) with pixels in [0, 1]; anything
    else is refused with a clear error rather than scored.
    """
    if not isinstance(reference, Embedding):
        reference = embed_images(reference, "reference images", classifier)
    samples = embed_images(images, "samples", classifier)
    return compare_embeddings(Reference.of(reference), samples, seed=seed)
