"""Sample-quality and coverage metrics in a domain feature space.

The Parzen score of the paper rewards blur and memorisation and misses quality
and coverage (Theis et al., 2016), so runs are also judged in the feature space
of a digit classifier (``advnets.evaluation.classifier``):

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
from dataclasses import asdict, dataclass

import numpy as np
import torch

from advnets.data.datasets import Dataset
from advnets.evaluation.classifier import Embedding, MNISTClassifier, embed, load_classifier
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


def has_domain_features(dataset: Dataset) -> bool:
    """Whether the shipped feature extractor fits this dataset (MNIST digits only)."""
    return dataset.name == "mnist"


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
    """(xᵀy / d + 1)³: the inner products by a float32 GEMM, the rest in float64."""
    return ((x @ y.T).double() / x.shape[1] + 1) ** 3


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """The unbiased estimate of MMD² with the cubic polynomial kernel of KID."""
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
    return float(
        (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
        + (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
        - 2 * k_xy.mean()
    )


def kernel_inception_distance(
    real: torch.Tensor,
    fake: torch.Tensor,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float]:
    """KID: mean and std of the unbiased MMD² over random subsets (drawn from a private RNG)."""
    check_features(real, fake)
    real, fake = real.float(), fake.float()
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError("KID needs at least 2 real and 2 generated feature vectors.")
    rng = torch.Generator().manual_seed(seed)
    values = [
        mmd2_unbiased(
            real[torch.randperm(len(real), generator=rng)[:size]],
            fake[torch.randperm(len(fake), generator=rng)[:size]],
        )
        for _ in range(subsets)
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


def precision_recall(
    real: torch.Tensor,
    fake: torch.Tensor,
    k: int = PRECISION_RECALL_K,
    real_radii: torch.Tensor | None = None,
) -> tuple[float, float]:
    """Improved precision and recall with k-NN manifolds (Kynkäänniemi et al., 2019).

    ``real_radii``: the real points' k-NN radii, when the caller already has them.
    """
    check_features(real, fake, minimum=k + 1)
    real_radii = knn_radii(real, k) if real_radii is None else real_radii
    fake_radii = knn_radii(fake, k)
    in_real, _ = ball_membership(fake, real, real_radii)
    in_fake, _ = ball_membership(real, fake, fake_radii)
    return float((in_real > 0).double().mean()), float((in_fake > 0).double().mean())


def density_coverage(
    real: torch.Tensor,
    fake: torch.Tensor,
    k: int = DENSITY_COVERAGE_K,
    real_radii: torch.Tensor | None = None,
) -> tuple[float, float]:
    """Density and coverage (Naeem et al., 2020) of generated features around real ones.

    ``real_radii``: the real points' k-NN radii, when the caller already has them.
    """
    check_features(real, fake, minimum=k + 1)
    radii = knn_radii(real, k) if real_radii is None else real_radii
    counts, covered = ball_membership(fake, real, radii)
    return float(counts.double().mean() / k), float(covered.double().mean())


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


def compare_embeddings(real: Embedding, fake: Embedding, seed: int = 0) -> DomainMetrics:
    """All metrics of generated (``fake``) against real embeddings."""
    kid, kid_std = kernel_inception_distance(real.features, fake.features, seed=seed)
    score, score_std = inception_score(fake.probs)
    # One search gives the real points' radii for both manifolds (k = 3 and k = 5).
    ks = (PRECISION_RECALL_K, DENSITY_COVERAGE_K)
    check_features(real.features, fake.features, minimum=max(ks) + 1)
    knn = nearest_neighbours(real.features, real.features, max(ks), exclude_self=True).distances
    precision, recall = precision_recall(
        real.features, fake.features, real_radii=knn[:, PRECISION_RECALL_K - 1]
    )
    density, coverage = density_coverage(
        real.features, fake.features, real_radii=knn[:, DENSITY_COVERAGE_K - 1]
    )
    histogram = class_histogram(fake.probs)
    return DomainMetrics(
        fid=frechet_distance(real.features, fake.features),
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
        n_reference=len(real.features),
    )


def embed_images(
    images: np.ndarray | torch.Tensor, name: str, classifier: MNISTClassifier | None = None
) -> Embedding:
    """Validate flat 28x28 images in [0, 1] (a clear error otherwise) and embed them."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    checked = validate_samples(images, dim=784, name=name)
    return embed(classifier or load_classifier(), torch.from_numpy(checked))


def domain_metrics(
    images: np.ndarray | torch.Tensor,
    reference: np.ndarray | torch.Tensor | Embedding,
    seed: int = 0,
) -> DomainMetrics:
    """All metrics of ``images`` against real ``reference`` images (or their embedding).

    Both must be flat 28x28 images (N x 784) with pixels in [0, 1]; anything
    else is refused with a clear error rather than scored.
    """
    if not isinstance(reference, Embedding):
        reference = embed_images(reference, "reference images")
    return compare_embeddings(reference, embed_images(images, "samples"), seed=seed)
