"""CycleGAN (Zhu et al. 2017): its game, its image pool, its schedule, its data, translate."""

from __future__ import annotations

import itertools
import json
import math
import sys

import numpy as np
import pytest
import torch
from conftest import make_dataset
from PIL import Image
from safetensors.torch import load_file

from advnets.cli import main as advnets
from advnets.config import ConfigError, load_config
from advnets.data import digits
from advnets.data.registry import load_dataset, two_domains
from advnets.evaluation.translation import direction_scores
from advnets.games import build_game
from advnets.games.base import Minibatch
from advnets.games.cycle import cycle_loss
from advnets.games.pool import ImagePool
from advnets.models.cyclegan import CycleGANSettings, build_cyclegan
from advnets.training.schedules import linear_decay_factor

TINY = [
    "model.base_channels=4",
    "model.residual_blocks=1",
    "training.batch_size=8",
    "training.epochs=2",
    "training.device=cpu",
    "training.threads=1",
    "logging.progress=false",
    "logging.tensorboard=false",
    "logging.log_every_steps=2",
]


def _sets(overrides: list[str]) -> list[str]:
    return [item for override in overrides for item in ("--set", override)]


def _pair():
    return two_domains("pair", make_dataset(64, 16, seed=0), make_dataset(48, 16, seed=1))


# ----- the image pool ------------------------------------------------------------------------


def test_the_pool_keeps_50_fakes_and_returns_half_from_its_history() -> None:
    pool, rng = ImagePool(50, 3, torch.device("cpu")), torch.Generator().manual_seed(0)
    first = torch.arange(50.0)[:, None].repeat(1, 3)
    assert torch.equal(pool.query(first, rng), first)  # filling: the new fakes pass through
    assert pool.count == 50
    seen = set(range(50))
    from_history = 0
    for start in range(50, 4050, 40):
        new = torch.arange(float(start), float(start + 40))[:, None].repeat(1, 3)
        out = pool.query(new, rng)[:, 0].tolist()
        seen.update(range(start, start + 40))
        assert set(out) <= seen  # what comes back from the history was a fake once
        from_history += sum(value != fresh for value, fresh in zip(out, new[:, 0], strict=True))
        assert pool.images.shape == (50, 3) and pool.count == 50
    assert abs(from_history / 4000 - 0.5) < 0.03


def test_a_pool_of_zero_passes_every_fake_through() -> None:
    fakes = torch.rand(5, 4)
    assert ImagePool(0, 4, torch.device("cpu")).query(fakes, torch.Generator()) is fakes


# ----- the losses, the game, the schedule ----------------------------------------------------


class _Same(torch.nn.Module):
    """An identity mapping with one weight (so that it has a device)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_the_cycle_loss_is_zero_for_identity_mappings() -> None:
    images = torch.rand(7, 784)
    assert cycle_loss(images, images) == 0
    scores, translated, back = direction_scores(_Same(), _Same(), images, None, None)
    assert scores == {"cycle_l1": 0.0, "cycle_mse": 0.0}
    assert torch.equal(back, images) and torch.equal(translated, images)
    assert cycle_loss(images + 0.5, images) == pytest.approx(0.5)


@pytest.mark.parametrize("identity", [0.0, 0.5])
def test_an_update_runs_with_finite_losses_and_moves_all_four_networks(identity) -> None:
    config = load_config(
        "cyclegan-mnist-digits-quick", [*TINY, f"model.identity_weight={identity}"]
    )
    torch.manual_seed(0)
    game = build_game(config, _pair(), torch.device("cpu"))
    before = [p.detach().clone() for p in (*game.generators.parameters(),
                                           *game.discriminators.parameters())]  # fmt: skip
    data = _pair()
    batch = Minibatch(data.train[:8], 8, torch.Generator(), other=data.other.train[:8])
    stats = [phase.run(batch) for phase in game.phases()]
    logged = dict(zip(game.stat_names, stats[-1].tolist(), strict=True))
    assert all(math.isfinite(value) for value in logged.values())
    assert (logged["identity"] > 0) == (identity > 0)
    assert logged["d_loss"] == pytest.approx(logged["d_a"] + logged["d_b"], rel=1e-6)
    after = [*game.generators.parameters(), *game.discriminators.parameters()]
    assert all(not torch.equal(old, new) for old, new in zip(before, after, strict=True))


def test_the_learning_rate_is_held_then_decays_linearly_towards_zero() -> None:
    factors = [linear_decay_factor(epoch, 100, 200) for epoch in range(1, 201)]
    assert factors[:100] == [1.0] * 100
    assert factors[100] == pytest.approx(1 - 1 / 101)
    assert factors[-1] == pytest.approx(1 / 101)
    assert all(a > b for a, b in itertools.pairwise(factors[99:]))


# ----- the data ------------------------------------------------------------------------------


def test_the_digits_are_split_once_with_their_labels_and_up_sampled_to_28x28() -> None:
    splits = digits.digits_splits()
    assert [len(images) for images, _ in splits] == list(digits.SPLIT_SIZES)
    images, labels = splits[0]
    assert images.shape[1] == 784 and images.min() >= 0 and images.max() <= 1
    assert set(labels.tolist()) == set(range(10))
    again = digits.digits_splits()
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(splits, again, strict=True))


def test_missing_scikit_learn_is_one_sentence_naming_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ConfigError, match=r"pip install 'advnets\[cyclegan\]'"):
        digits.digits_arrays()


@pytest.mark.parametrize(
    ("preset", "overrides", "words"),
    [
        ("cyclegan-mnist-digits-quick", ["data.dataset=mnist"], "two domains"),
        ("mnist-quick", ["data.dataset=mnist-digits"], "two domains"),
        ("cyclegan-folders", ["data.folder=a"], "data.folder_b=PATH"),
        ("cyclegan-mnist-digits-quick", ["data.folder_b=b"], "folder_b names"),
        ("cyclegan-mnist-digits-quick", ["model.identity_weight=-1"], "must be >= 0"),
        ("cyclegan-mnist-digits-quick", ["training.generator_average=0.9"], "own game"),
        ("cyclegan-mnist-digits-quick", ["training.lr_constant_epochs=-1"], ">= 0 or null"),
        ("mnist-quick", ["model.image_pool=10"], "cyclegan family only"),
    ],
)
def test_bad_settings_are_one_sentence(preset, overrides, words) -> None:
    with pytest.raises(ConfigError, match=words):
        load_config(preset, overrides)


# ----- end to end ----------------------------------------------------------------------------


def _train(out, preset: str, overrides: list[str]) -> None:
    assert advnets(["train", preset, "--out", str(out), *_sets(overrides), "--no-eval"]) == 0


def test_train_translate_report_and_resume_on_mnist_and_digits(mnist_dir, tmp_path, capsys):
    settings = [*TINY, "data.train_subset=24"]
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    _train(whole, "cyclegan-mnist-digits-quick", settings)
    _train(resumed, "cyclegan-mnist-digits-quick", [*settings, "training.max_steps=4"])
    settings.append("training.max_steps=null")  # stopped inside epoch 2, continued to its end
    assert advnets(["train", "--resume", "--out", str(resumed), *_sets(settings)]) == 0
    last = [load_file(run / "checkpoints" / "last.safetensors") for run in (whole, resumed)]
    assert last[0].keys() == last[1].keys()
    assert all(torch.equal(last[0][name], last[1][name]) for name in last[0])

    capsys.readouterr()
    assert advnets(["translate", str(whole), "-n", "20"]) == 0
    assert "labels kept" in capsys.readouterr().out
    summary = json.loads((whole / "translate.json").read_text())
    assert summary["test_images"] == {"a": 20, "b": 20}
    for direction in ("a_to_b", "b_to_a"):
        scores = summary[direction]
        assert 0 <= scores["label_preservation"] <= 1 and scores["cycle_l1"] > 0
    assert (whole / "figures" / "translate.png").is_file()
    assert advnets(["report", str(whole)]) == 0
    assert "labels kept" in (whole / "report.html").read_text()

    for command in (["evaluate", str(whole)], ["inpaint", str(whole)]):
        capsys.readouterr()
        assert advnets(command) == 2
        error = capsys.readouterr().err.strip()
        assert "is a CycleGAN run" in error and len(error.splitlines()) == 1


def test_translate_refuses_a_run_of_one_domain(mnist_dir, tmp_path, capsys) -> None:
    gan = [
        "model.generator_hidden=[8]",
        "model.discriminator_units=[8]",
        "training.epochs=1",
        "evaluation.samples=50",
        "evaluation.valid_images=20",
        "evaluation.domain_metrics=false",
        "logging.progress=false",
        "logging.tensorboard=false",
    ]
    _train(tmp_path / "gan", "mnist-quick", gan)
    capsys.readouterr()
    assert advnets(["translate", str(tmp_path / "gan")]) == 2
    assert "translate needs a CycleGAN run" in capsys.readouterr().err


def _folder(path, n: int, seed: int) -> None:
    path.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path / f"{i:02d}.png")


def test_cyclegan_folders_trains_and_translates_two_tiny_folders(tmp_path, capsys) -> None:
    _folder(tmp_path / "a", 12, 0)
    _folder(tmp_path / "b", 14, 1)
    (tmp_path / "empty").mkdir()

    def settings(folder_b: str) -> list[str]:
        return [
            *TINY,
            f"data.folder={tmp_path / 'a'}",
            f"data.folder_b={tmp_path / folder_b}",
            f"data.data_dir={tmp_path / 'cache'}",
            "data.image_size=28",
            "training.batch_size=4",
            "training.epochs=1",
        ]

    _train(tmp_path / "run", "cyclegan-folders", settings("b"))
    assert advnets(["translate", str(tmp_path / "run")]) == 0
    summary = json.loads((tmp_path / "run" / "translate.json").read_text())
    assert summary["label_preservation_unavailable"]
    assert "label_preservation" not in summary["a_to_b"]

    capsys.readouterr()
    out = str(tmp_path / "x")
    assert advnets(["train", "cyclegan-folders", "--out", out, *_sets(settings("empty"))]) == 2
    assert "is empty" in capsys.readouterr().err


def test_the_two_domains_must_have_one_image_shape() -> None:
    with pytest.raises(ConfigError, match="images of one shape"):
        two_domains("pair", make_dataset(10, 5), make_dataset(10, 5, dim=1024))


def test_the_mnist_digits_set_holds_both_domains_with_labels(mnist_dir) -> None:
    config = load_config("cyclegan-mnist-digits-quick", ["data.train_subset=30"])
    dataset = load_dataset(config.data)
    assert dataset.name == "mnist-digits" and len(dataset.train) == 30
    assert len(dataset.other.train) == digits.SPLIT_SIZES[0]
    assert dataset.labels is not None and dataset.other.labels is not None


@pytest.mark.parametrize("side, blocks", [(128, 6), (256, 9)])
def test_zhus_own_sizes_translate_to_images_of_their_shape(side, blocks) -> None:
    """Zhu et al.'s 128x128 (6 residual blocks) and 256x256 (9) colour images are taken."""
    settings = CycleGANSettings(4, blocks, 3, 10.0, 0.5, 50)
    generators, _ = build_cyclegan(settings, 3 * side * side, None)
    images = torch.rand(1, 3 * side * side)
    with torch.no_grad():
        translated = generators.ab(images)
    assert translated.shape == images.shape
    assert translated.min() >= 0 and translated.max() <= 1


def test_a_size_cyclegan_does_not_take_is_one_sentence_listing_the_sizes() -> None:
    settings = CycleGANSettings(4, 1, 3, 10.0, 0.5, 50)
    with pytest.raises(ConfigError, match=r"3x128x128.*3x256x256.*this data has 30000"):
        build_cyclegan(settings, 3 * 100 * 100, None)
