"""Semi-supervised learning with a trained D: the paper's fourth item of future work.

"Features from the discriminator or inference net could improve performance of classifiers
when limited labeled data is available" (Section 7). D learned from every training image,
labelled or not; with only a few labels, a linear classifier on D's features (its last
hidden layer, what its output unit reads) is compared with

- the same linear classifier on the raw pixels, and
- a network trained on the few labelled images alone (784 → 500 ReLU → classes),

each over several random draws of the labelled images (``per_class`` of each class from the
training split), scored by the error on the whole test split. A D that is itself a classifier,
the K+1-class D of the semi-supervised GAN (Salimans et al. 2016), trained on one such draw,
is also scored as it is (:func:`classifier_error`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from advnets.data.labelled import labelled_draw
from advnets.sampling import eval_mode

FEATURE_BATCH = 500  # images per pass of D when reading its features
WEIGHT_DECAY = 1e-2  # L2 penalty of the linear classifiers (few labels: keep them small)
LBFGS_STEPS = 200
SUPERVISED_STEPS = 500
SUPERVISED_HIDDEN = 500


@torch.no_grad()
def discriminator_features(discriminator: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """What D's output layer reads for each image (its last hidden layer), in evaluation
    mode (no dropout), batch by batch."""
    captured: list[torch.Tensor] = []
    hook = discriminator.output.register_forward_hook(
        lambda layer, inputs, output: captured.append(inputs[0].detach().flatten(1))
    )
    try:
        with eval_mode(discriminator):
            for start in range(0, len(images), FEATURE_BATCH):
                discriminator(images[start : start + FEATURE_BATCH])
    finally:
        hook.remove()
    return torch.cat(captured)


@torch.no_grad()
def classifier_error(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of ``images`` whose largest logit of ``classifier`` (evaluation mode, e.g. the
    K class logits of the semi-supervised GAN's D) is not their label."""
    with eval_mode(classifier):
        logits = torch.cat(
            [
                classifier(images[i : i + FEATURE_BATCH])
                for i in range(0, len(images), FEATURE_BATCH)
            ]
        )
    return logits.argmax(dim=1).ne(labels).float().mean().item()


def linear_probe_error(
    train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor, test_labels: torch.Tensor
) -> float:
    """Test error of a softmax regression (L-BFGS, L2 penalty) fitted to the labelled rows,
    each feature standardised with the labelled rows' statistics."""
    mean, std = train.mean(dim=0), train.std(dim=0).clamp(min=1e-6)
    x, x_test = (train - mean) / std, (test - mean) / std
    classes = int(max(train_labels.max(), test_labels.max())) + 1
    layer = nn.Linear(x.shape[1], classes)
    optimizer = torch.optim.LBFGS(
        layer.parameters(), max_iter=LBFGS_STEPS, line_search_fn="strong_wolfe"
    )

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        value = F.cross_entropy(layer(x), train_labels) + WEIGHT_DECAY * layer.weight.pow(2).sum()
        value.backward()
        return value

    optimizer.step(loss)
    with torch.no_grad():
        return layer(x_test).argmax(1).ne(test_labels).float().mean().item()


def supervised_error(
    train: torch.Tensor,
    train_labels: torch.Tensor,
    test: torch.Tensor,
    test_labels: torch.Tensor,
    seed: int,
) -> float:
    """Test error of a 784 → 500 ReLU → classes network trained on the labelled images
    alone (Adam, full batch, dropout 0.5 on the hidden layer)."""
    torch.manual_seed(seed)
    classes = int(max(train_labels.max(), test_labels.max())) + 1
    net = nn.Sequential(
        nn.Linear(train.shape[1], SUPERVISED_HIDDEN), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(SUPERVISED_HIDDEN, classes),
    )  # fmt: skip
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(SUPERVISED_STEPS):
        optimizer.zero_grad()
        F.cross_entropy(net(train), train_labels).backward()
        optimizer.step()
    with torch.no_grad(), eval_mode(net):
        return net(test).argmax(1).ne(test_labels).float().mean().item()


def semi_supervised_scores(
    discriminator: nn.Module, dataset, per_class: int = 10, draws: int = 3, seed: int = 0
) -> dict:
    """Test errors of the three classifiers over ``draws`` draws of the labelled images."""
    labels, test_labels = dataset.labels.train, dataset.labels.test
    forked = torch.random.fork_rng()  # the supervised net's initialisation and dropout
    with forked:
        features_test = discriminator_features(discriminator, dataset.test)
        errors: dict[str, list[float]] = {"D features": [], "pixels": [], "supervised MLP": []}
        for draw in range(draws):
            chosen = labelled_draw(labels, per_class, seed + draw)
            x, y = dataset.train[chosen], labels[chosen]
            features = discriminator_features(discriminator, x)
            errors["D features"].append(linear_probe_error(features, y, features_test, test_labels))
            errors["pixels"].append(linear_probe_error(x, y, dataset.test, test_labels))
            errors["supervised MLP"].append(
                supervised_error(x, y, dataset.test, test_labels, seed + draw)
            )
    return {
        "labelled_per_class": per_class,
        "draws": draws,
        "test_error": errors,
        "mean_test_error": {name: sum(v) / len(v) for name, v in errors.items()},
    }
