"""The conditional adversarial net (Mirza & Osindero 2014) as a game the trainer runs, and
its samples by class."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from conftest import make_dataset, tiny_config

from advnets.config import ConfigError
from advnets.data.datasets import Labels
from advnets.models.conditional import ClassSampler, ConditionalMLPGenerator


def labelled(classes: int = 10):
    """The tiny synthetic images with labels that cycle through the classes."""
    dataset = make_dataset()
    splits = (dataset.train, dataset.valid, dataset.test)
    labels = Labels(
        *(torch.arange(len(split)) % classes for split in splits),
        tuple(str(c) for c in range(classes)),
    )
    return dataclasses.replace(dataset, labels=labels)


SMALL_RUN = [
    arg
    for setting in (
        "training.max_steps=3",
        "evaluation.samples=50",
        "data.train_subset=200",
        "training.batch_size=20",
        "logging.progress=false",
        "logging.tensorboard=false",
    )
    for arg in ("--set", setting)
]


def cgan_config(*overrides: str):
    return tiny_config(
        "model.family=cgan-mlp",
        "model.noise=uniform-01",
        "model.generator_hidden_keep=0.5",
        "training.lr_decay=1.00004",
        *overrides,
    )


def small_sampler(classes: int = 2) -> ClassSampler:
    return ClassSampler(ConditionalMLPGenerator(latent_dim=3, num_classes=classes, data_dim=4))


def test_the_extra_noise_value_draws_classes_in_the_training_proportions() -> None:
    sampler = small_sampler()
    sampler.set_class_frequencies(torch.tensor([300, 100]))
    noise = sampler.sample_noise(8000, torch.Generator().manual_seed(0))
    assert noise.shape == (8000, 4) and sampler.noise_dim == 4
    share = sampler.classes_of(noise).float().mean().item()  # the share of class 1
    assert abs(share - 0.25) < 0.02
    sampler.fixed_class = 1
    assert sampler.classes_of(noise).eq(1).all()


def test_given_labels_override_the_ones_the_noise_picks() -> None:
    sampler = small_sampler().eval()
    noise = sampler.sample_noise(5, torch.Generator().manual_seed(1))
    picked = sampler.classes_of(noise)
    assert torch.equal(sampler(noise), sampler(noise, picked))
    assert not torch.equal(sampler(noise, 1 - picked), sampler(noise, picked))


def test_class_counts_that_do_not_fit_are_refused() -> None:
    with pytest.raises(ValueError, match="do not fit 2 classes"):
        small_sampler().set_class_frequencies(torch.tensor([1, 2, 3]))


def test_the_conditional_game_trains_both_players_on_the_labels(tmp_path) -> None:
    from advnets.games.conditional import ConditionalGAN
    from advnets.runs.rundir import RunDir
    from advnets.training.loop import Trainer

    config, dataset = cgan_config("training.max_steps=4"), labelled()
    run = RunDir(tmp_path / "run")
    run.create(config, dataset.sha256, dataset.source)
    trainer = Trainer(config, dataset, run)
    game = trainer.game
    assert isinstance(game, ConditionalGAN) and game.conditional
    label_layers = (game.generator.net.label, game.discriminator.label)
    before = [p.detach().clone() for layer in label_layers for p in layer.parameters()]
    trainer.train()
    after = [p for layer in label_layers for p in layer.parameters()]
    assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    cdf = game.generator.class_cdf
    assert torch.allclose(cdf, torch.arange(1, 11) / 10, atol=0.02)  # labels cycle: equal shares
    assert game.flops_per_image() > 0


def test_the_game_needs_labels_and_the_declared_number_of_classes(tmp_path) -> None:
    from advnets.games.conditional import ConditionalGAN

    with pytest.raises(ConfigError, match="no labels"):
        ConditionalGAN(cgan_config(), make_dataset(), torch.device("cpu"))
    with pytest.raises(ConfigError, match=r"model\.num_classes = 10 classes, but synthetic has 4"):
        ConditionalGAN(cgan_config(), labelled(4), torch.device("cpu"))


def test_options_of_the_conditional_family_are_its_own() -> None:
    with pytest.raises(ConfigError, match="generator_hidden_keep is an option of the cgan-mlp"):
        tiny_config("model.generator_hidden_keep=0.5")
    with pytest.raises(ConfigError, match=r"model\.num_classes"):
        cgan_config("model.num_classes=1")


def test_sample_by_class_from_a_trained_conditional_run(tmp_path, mnist_dir, capsys) -> None:
    import numpy as np

    from advnets.cli import main

    out = tmp_path / "run"
    args = ["train", "cgan-mnist", "--out", str(out), "--no-eval", *SMALL_RUN]
    # G's dropout masks at sampling follow the whole batch drawn: off, so that the same
    # noise gives the same image in either picture
    assert main([*args, "--set", "model.generator_sampling_dropout=false"]) == 0
    assert main(["sample", str(out), "-n", "6", "-o", str(tmp_path / "s.npy"), "--class", "7"]) == 0
    sevens = np.load(tmp_path / "s.npy")
    assert sevens.shape == (6, 784)
    assert (
        main(["sample", str(out), "-n", "15", "-o", str(tmp_path / "a.npy"), "--class", "all"]) == 0
    )
    grid = np.load(tmp_path / "a.npy")
    assert grid.shape == (20, 784)  # 2 rows of the 10 classes
    # column 7 of the grid's first row has the first seven's noise, as --class 7 drew it: the
    # same image up to the rounding of products over batches of another size (kernels are
    # chosen by shape and thread count), and nearer to it than to any other seven
    distances = np.abs(sevens - grid[7]).max(axis=1)
    assert distances.argmin() == 0 and distances[0] < 1e-5
    capsys.readouterr()
    assert main(["sample", str(out), "-o", str(tmp_path / "b.npy"), "--class", "ten"]) != 0
    assert "choose 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 or all" in capsys.readouterr().err


def test_class_sampling_is_refused_on_an_unconditional_run(tmp_path, mnist_dir, capsys) -> None:
    from advnets.cli import main

    out = tmp_path / "run"
    assert main(["train", "mnist-quick", "--out", str(out), "--no-eval", *SMALL_RUN]) == 0
    capsys.readouterr()
    assert main(["sample", str(out), "-o", str(tmp_path / "s.png"), "--class", "3"]) != 0
    assert "unconditional run" in capsys.readouterr().err


class StampSampler(torch.nn.Module):
    """A stand-in conditional generator whose images carry a class in their first pixel: the
    class asked for when ``faithful``, else a random one."""

    num_classes = 10
    data_dim = 784

    def __init__(self, faithful: bool) -> None:
        super().__init__()
        self.faithful = faithful
        self.fixed_class: int | None = None

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.rand(n, self.data_dim, generator=generator)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        images = noise.clone()
        random = (noise[:, 1] * self.num_classes).floor()
        images[:, 0] = (self.fixed_class if self.faithful else random) / self.num_classes
        return images


def read_the_stamp(images, name, classifier=None):
    """A stand-in classifier: reads the class in the first pixel; features are pixels."""
    from advnets.evaluation.classifier import Embedding

    images = torch.as_tensor(images)
    classes = (images[:, 0] * 10).round().long().clamp(0, 9)
    return Embedding(images[:, :16].float(), torch.nn.functional.one_hot(classes, 10).float())


def test_class_accuracy_is_one_for_a_faithful_generator_and_low_for_one_that_ignores_y(
    monkeypatch,
) -> None:
    from advnets.evaluation import conditional

    monkeypatch.setattr(conditional, "embed_images", read_the_stamp)
    monkeypatch.setattr(conditional, "domain_classifier", lambda dataset: None)
    dataset = labelled()
    faithful = StampSampler(faithful=True)
    scores = conditional.conditional_scores(faithful, dataset, seed=0, per_class=200)
    assert scores["accuracy"] == 1.0 and scores["per_class_accuracy"] == [1.0] * 10
    assert len(scores["per_class_fid"]) == 10 and faithful.fixed_class is None
    careless = conditional.conditional_scores(
        StampSampler(faithful=False), dataset, 0, per_class=200
    )
    assert 0.03 < careless["accuracy"] < 0.2  # about one in ten by chance


def test_ac_gan_trains_d_to_name_the_class_and_g_to_draw_it(tmp_path) -> None:
    from advnets.config import load_config
    from advnets.games.base import Minibatch
    from advnets.games.conditional import AuxiliaryClassifierGAN
    from advnets.runs.rundir import RunDir
    from advnets.training.loop import Trainer

    settings = ["model.base_channels=4", "model.dcgan_hidden=16", "training.batch_size=20",
                "training.max_steps=3", "training.precision=fp32",
                "evaluation.samples=100", "evaluation.valid_images=50",
                "logging.progress=false", "logging.tensorboard=false"]  # fmt: skip
    config, dataset = load_config("acgan-mnist-quick", settings), labelled()
    run = RunDir(tmp_path / "run")
    run.create(config, dataset.sha256, dataset.source)
    trainer = Trainer(config, dataset, run)
    game = trainer.game
    assert isinstance(game, AuxiliaryClassifierGAN) and game.flops_per_image() > 0
    head = game.discriminator.classes.weight.detach().clone()
    trainer.train()
    assert not torch.equal(head, game.discriminator.classes.weight)
    # the class term is in both losses: with the class head's answer changed, they change
    batch = Minibatch(dataset.train[:20], 20, torch.Generator(), labels=dataset.labels.train[:20])
    source, classes = torch.zeros(20), torch.zeros(20, 10)
    sure = classes.clone()
    sure[torch.arange(20), batch.labels] = 10.0
    assert game._d_loss((source, sure), (source, sure), batch) < game._d_loss(
        (source, classes), (source, classes), batch
    )
    assert game._g_loss((source, sure), batch) < game._g_loss((source, classes), batch)


def test_sampling_with_dropout_is_seeded_by_the_noise_and_leaves_the_global_stream() -> None:
    from advnets.sampling import generate

    sampler = small_sampler(classes=3)
    sampler.net.dropout.keep = 0.5
    sampler.dropout_at_sampling = True
    state = torch.get_rng_state()
    first, again = generate(sampler, 50, seed=3), generate(sampler, 50, seed=3)
    assert torch.equal(first, again) and torch.equal(state, torch.get_rng_state())
    sampler.dropout_at_sampling = False
    assert not torch.equal(first, generate(sampler, 50, seed=3))  # the masks made a difference
    assert sampler.training and sampler.net.training  # the mode it was in, restored


def test_only_the_conditional_net_draws_samples_with_dropout() -> None:
    with pytest.raises(ConfigError, match="generator_sampling_dropout is an option of the cgan"):
        tiny_config("model.generator_sampling_dropout=true")
    assert cgan_config("model.generator_sampling_dropout=true").model.generator_sampling_dropout


def test_table1_shows_the_conditional_net_s_published_row_beside_its_runs() -> None:
    from advnets.evaluation.table1 import table1_rows

    def evaluation(family: str, ll: float) -> dict:
        return {"family": family, "parzen": {"test_ll": ll, "test_se": 1.5}}

    plain = [row["model"] for row in table1_rows([("gan", evaluation("mlp-maxout", 200.0))])]
    assert not any("Mirza" in name for name in plain)
    rows = table1_rows(
        [("cgan 0", evaluation("cgan-mlp", 130.0)), ("cgan 1", evaluation("cgan-mlp", 134.0))]
    )
    published = rows[4]
    assert published["model"] == "Conditional adversarial net (Mirza & Osindero 2014)"
    assert (published["ll"], published["se"]) == (132.0, 1.8)
    assert rows[-1]["model"] == "advnets, mean over 2 seeds" and rows[-1]["ll"] == 132.0
