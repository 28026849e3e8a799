"""The semi-supervised GAN (Salimans et al. 2016): its K+1-class D, the labelled minibatches
it learns from, feature matching, and its runs."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from conftest import make_dataset, new_trainer, tiny_config

from advnets.config import ConfigError
from advnets.data.datasets import Labels
from advnets.evaluation.semisupervised import classifier_error
from advnets.games.optim import RootEpsilonAdam
from advnets.models.ssgan import (
    SemiSupervisedDiscriminator,
    SemiSupervisedGenerator,
    WeightNormLinear,
    realness_logit,
)
from advnets.runs import checkpoint as ckpt
from advnets.runs.rundir import RunDir
from advnets.training.loop import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


SSGAN = [
    "model.family=ssgan-mlp",
    "model.noise=uniform-01",
    "model.generator_hidden=[16, 16]",
    "model.discriminator_units=[32, 16]",
    "data.labelled_per_class=2",
    "training.update=alternating",
    "training.optimizer=adam",
    "training.lr=0.003",
    "training.lr_decay=1.0",
]


def labelled(classes: int = 10, n_train: int = 400):
    """The tiny synthetic images with labels that cycle through the classes."""
    dataset = make_dataset(n_train=n_train)
    splits = (dataset.train, dataset.valid, dataset.test)
    labels = Labels(
        *(torch.arange(len(split)) % classes for split in splits),
        tuple(str(c) for c in range(classes)),
    )
    return dataclasses.replace(dataset, labels=labels)


def ssgan_config(*overrides: str):
    return tiny_config(*SSGAN, *overrides)


def start(tmp_path, name: str, *overrides: str, n_train: int = 400) -> Trainer:
    return new_trainer(tmp_path / name, ssgan_config(*overrides), labelled(n_train=n_train))


def test_d_is_a_classifier_whose_realness_is_z_over_z_plus_one() -> None:
    d = SemiSupervisedDiscriminator(data_dim=8, units=(6, 5), num_classes=3).eval()
    x = torch.rand(4, 8)
    features, logits = d(x, with_features=True)
    assert features.shape == (4, 5) and logits.shape == (4, 3) and torch.equal(d(x), logits)
    z = logits.exp().sum(dim=1)
    assert torch.allclose(torch.sigmoid(realness_logit(logits)), z / (z + 1))
    d.initialise_from(x)  # every pre-activation: mean 0, standard deviation 1 on these images
    assert torch.allclose(d(x).mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(d(x).std(0, unbiased=False), torch.ones(3), atol=1e-4)


def test_d_is_initialised_from_data_with_its_noise_on_as_their_code() -> None:
    d = SemiSupervisedDiscriminator(data_dim=8, units=(6, 5), num_classes=3)  # training mode
    x = torch.rand(16, 8)
    torch.manual_seed(1)
    d.initialise_from(x)
    torch.manual_seed(1)  # the same noise again: the initialised pass, logit by logit
    logits = d(x)
    assert torch.allclose(logits.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(logits.std(0, unbiased=False), torch.ones(3), atol=1e-4)
    assert not torch.allclose(d.eval()(x).std(0, unbiased=False), torch.ones(3), atol=1e-2)


def test_g_is_their_code_s_shift_only_batch_norm_and_weight_normalised_output() -> None:
    g = SemiSupervisedGenerator(noise_dim=4, hidden=(6, 5), data_dim=8, noise="uniform-01")
    norms = [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(norms) == 2 and all(n.eps == 1e-6 for n in norms)
    assert all(not n.weight.requires_grad and n.bias.requires_grad for n in norms)  # no g
    assert isinstance(g.output, WeightNormLinear) and g.output.scale.requires_grad
    assert torch.equal(g.output.bias, torch.zeros(8))
    x = g(g.sample_noise(10))
    assert x.shape == (10, 8) and ((x > 0) & (x < 1)).all()


def test_both_phases_run_update_their_player_and_give_finite_statistics() -> None:
    from advnets.games.semisupervised import SemiSupervisedGAN

    torch.manual_seed(0)
    dataset = labelled()
    game = SemiSupervisedGAN(ssgan_config(), dataset, torch.device("cpu"))
    phases = game.phases()
    assert [phase.name for phase in phases] == ["discriminator", "generator"]
    rng = torch.Generator().manual_seed(0)
    for phase, player in zip(phases, (game.discriminator, game.generator), strict=True):
        learned = [p for p in player.parameters() if p.requires_grad]
        before = [p.detach().clone() for p in learned]
        stats = phase.run(trainer_batch(dataset.train[:20], rng))
        assert torch.isfinite(stats).all()
        assert all(not torch.equal(a, b) for a, b in zip(before, learned, strict=True))
    hidden_scales = [m.scale for m in game.discriminator.hidden if hasattr(m, "scale")]
    assert not any(scale.requires_grad for scale in hidden_scales)  # their code's fixed g
    assert game.discriminator.output.scale.requires_grad
    assert stats.shape == (1,) and len(game.stat_names) == 6
    assert all(isinstance(opt, RootEpsilonAdam) for opt in game.optimizers.values())
    assert game.flops_per_image() > 0


def test_labelled_minibatches_come_only_from_the_drawn_subset_each_a_whole_cycle(tmp_path) -> None:
    game = start(tmp_path, "run").game
    dataset = labelled()
    chosen = game.labelled_indices
    assert torch.bincount(dataset.labels.train[chosen]).tolist() == [2] * 10
    rng = torch.Generator().manual_seed(0)
    seen = set()
    for size in (20, 50):  # the 20 labelled images once, or 2.5 times in random orders
        batch = trainer_batch(dataset.train[:size], rng)
        images, classes = game.labelled_minibatch(batch)
        rows = [(dataset.train[chosen] == image).all(dim=1).nonzero().item() for image in images]
        assert torch.equal(classes, dataset.labels.train[chosen][rows])
        assert sorted(rows[:20]) == list(range(20)) and len(rows) == size
        seen.add(tuple(rows[:20]))
    assert len(seen) == 2  # a new order each minibatch


def trainer_batch(real: torch.Tensor, rng: torch.Generator):
    from advnets.games.base import Minibatch

    return Minibatch(real, len(real), rng)


def test_the_same_draw_seed_labels_the_same_images_as_advnets_semisupervised(tmp_path) -> None:
    from advnets.evaluation.semisupervised import labelled_draw

    game = start(tmp_path, "run", "data.label_draw_seed=3").game
    assert torch.equal(game.labelled_indices, labelled_draw(labelled().labels.train, 2, 3))
    other = start(tmp_path, "other", "data.label_draw_seed=4").game
    assert not torch.equal(game.labelled_indices, other.labelled_indices)


def test_a_resumed_run_continues_exactly(tmp_path) -> None:
    straight = start(tmp_path, "straight", "training.epochs=1", n_train=120)
    straight.train()
    start(tmp_path, "split", "training.epochs=1", "training.max_steps=4", n_train=120).train()
    config, dataset = ssgan_config("training.epochs=1"), labelled(n_train=120)
    run = RunDir(tmp_path / "split")
    run.check_resumable(config)
    resumed = Trainer(config, dataset, run)
    resumed.restore(run.checkpoint("last"))
    resumed.train()
    a, meta = ckpt.load_checkpoint(straight.run.checkpoint("last"))
    b, _ = ckpt.load_checkpoint(run.checkpoint("last"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert meta["labelled_indices"] == straight.game.labelled_indices.tolist()


def test_bad_settings_are_refused_before_any_work(tmp_path) -> None:
    from advnets.games.semisupervised import SemiSupervisedGAN

    with pytest.raises(ConfigError, match=r"data\.labelled_per_class = 41 is more than the 40"):
        SemiSupervisedGAN(
            ssgan_config("data.labelled_per_class=41"), labelled(), torch.device("cpu")
        )
    with pytest.raises(ConfigError, match="no labels"):
        SemiSupervisedGAN(ssgan_config(), make_dataset(), torch.device("cpu"))
    with pytest.raises(ConfigError, match=r"set data\.labelled_per_class"):
        ssgan_config("data.labelled_per_class=null")
    with pytest.raises(ConfigError, match="ssgan-mlp family only, not by mlp-maxout"):
        tiny_config("data.labelled_per_class=10")
    with pytest.raises(ConfigError, match=r"training\.update: alternating"):
        ssgan_config("training.update=simultaneous")
    with pytest.raises(ConfigError, match=r"training\.generator_loss unset"):
        ssgan_config("training.generator_loss=minimax")
    with pytest.raises(ConfigError, match="discriminator_hidden_noise is an option of the ssgan"):
        tiny_config("model.discriminator_hidden_noise=0.1")
    # their initialisation is the family's own (models.ssgan), not the paper's ranges
    with pytest.raises(ConfigError, match="generator_init_range is an option of the mlp-maxout"):
        ssgan_config("model.generator_init_range=0.1")


def test_the_classifier_error_counts_wrong_argmaxes() -> None:
    classifier = torch.nn.Identity()
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0], [0.0, 5.0]])
    assert classifier_error(classifier, logits, torch.tensor([0, 1, 1, 1])) == 0.25


def test_semisupervised_reports_the_k_plus_one_d_and_inpaint_refuses_it(
    tmp_path, mnist_dir, capsys, monkeypatch
) -> None:
    import json

    from advnets.cli import main
    from advnets.evaluation import semisupervised

    monkeypatch.setattr(semisupervised, "SUPERVISED_STEPS", 5)
    monkeypatch.setattr(semisupervised, "LBFGS_STEPS", 5)
    out = tmp_path / "run"
    small = [
        "training.max_steps=3",
        "evaluation.samples=50",
        "logging.progress=false",
        "logging.tensorboard=false",
        "model.generator_hidden=[16, 16]",
        "model.discriminator_units=[32, 16]",
    ]
    sets = [arg for setting in small for arg in ("--set", setting)]
    assert main(["train", "ssgan-mnist-quick", "--out", str(out), "--no-eval", *sets]) == 0
    capsys.readouterr()
    assert main(["semisupervised", str(out), "--per-class", "2", "--draws", "1"]) == 0
    assert "K+1-class D" in capsys.readouterr().out
    own = json.loads((out / "semisupervised.json").read_text())["k_plus_one_d"]
    assert own["labelled_per_class"] == 10 and 0 <= own["test_error"] <= 1
    assert main(["inpaint", str(out), "-n", "4"]) != 0
    assert "K+1-class D" in capsys.readouterr().err
