"""BiGAN (Donahue et al. 2017): G and an encoder E against a joint D(x, z) through the generic
trainer, its checkpoints and resumption, the settings it refuses, and ``advnets infer`` on a
BiGAN run and on an ordinary GAN's."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import make_dataset, new_trainer, tiny_config
from test_training import assert_identical, checkpoint_tensors

from advnets.cli import main
from advnets.config import ConfigError
from advnets.evaluation.runs import load_encoder
from advnets.games.bigan import BiGAN
from advnets.runs.logs import read_metrics
from advnets.runs.rundir import RunDir
from advnets.training.loop import Trainer

SMALL = [  # the bigan family shrunk to train in a second
    "model.noise_dim=8",
    "model.generator_hidden=[32, 32]",
    "model.encoder_hidden=[32, 32]",
    "model.discriminator_units=[32, 32]",
]


def bigan_config(*overrides: str):
    return tiny_config(
        "model.family=bigan",
        "model.noise=uniform-pm1",
        *SMALL,
        "training.optimizer=adam",
        "training.lr=0.0002",
        "training.lr_decay=1.0",
        "evaluation.domain_metrics=false",
        "training.threads=1",
        *overrides,
    )


def start(tmp_path, name: str, *overrides: str) -> Trainer:
    return new_trainer(tmp_path / name, bigan_config(*overrides), make_dataset())


def test_the_game_trains_g_and_e_together_against_d(tmp_path):
    trainer = start(tmp_path, "run", "training.max_steps=5")
    game = trainer.game
    assert isinstance(game, BiGAN) and set(game.optimizers) == {"d", "g"}
    assert [phase.name for phase in game.phases()] == ["bidirectional"]
    encoder_before = [p.detach().clone() for p in game.encoder.parameters()]
    state = trainer.train()
    assert state.g_updates == 5 and state.d_updates == 5
    after = game.encoder.parameters()
    assert all(not torch.equal(a, b) for a, b in zip(encoder_before, after, strict=True))
    train = [r for r in read_metrics(trainer.run.metrics) if r["kind"] == "train"]
    assert train and all(math.isfinite(r[name]) for r in train for name in game.stat_names)
    assert 0 < train[-1]["d_real"] < 1 and train[-1]["value"] == -2 * train[-1]["d_loss"]
    assert game.flops_per_image() > 0 and trainer.sampler() is game.generator
    codes = game.encoder(trainer.data.train[:50])
    assert codes.shape == (50, 8) and codes.abs().max() < 1  # within U[-1, 1]'s support


def test_the_checkpoint_keeps_the_encoder_and_a_resumed_run_ends_where_one_straight_run_ends(
    tmp_path,
):
    straight = start(tmp_path, "straight")
    straight.train()
    first = start(tmp_path, "split", "training.max_steps=13")
    first.train()
    second = Trainer(bigan_config(), make_dataset(), RunDir(tmp_path / "split"))
    second.restore(second.run.checkpoint("last"))
    second.train()
    tensors = checkpoint_tensors(straight)
    assert_identical(tensors, checkpoint_tensors(second))
    encoder = load_encoder(straight.run, "last")
    assert all(
        torch.equal(value, tensors[f"encoder.{name}"])
        for name, value in encoder.state_dict().items()
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["training.update=alternating"], "updates D and G with E from one forward pass"),
        (["training.generator_average=0.9"], "samples from G itself"),
        (["model.family=mlp-maxout", "model.encoder_hidden=[8]"], "the bigan family only"),
    ],
)
def test_settings_the_bigan_game_does_not_take_are_refused_in_one_sentence(overrides, message):
    with pytest.raises(ConfigError, match=message):
        bigan_config(*overrides)


CLI_TINY = [
    arg
    for setting in (
        "training.epochs=1",
        "training.batch_size=60",
        "evaluation.samples=300",
        "evaluation.valid_images=50",
        "logging.progress=false",
        "logging.tensorboard=false",
    )
    for arg in ("--set", setting)
]
INFER_TINY = ["-n", "4", "--steps", "5", "--restarts", "2", "--labelled", "100"]


def test_infer_scores_the_encoder_and_the_latent_search_and_the_report_shows_them(
    tmp_path, mnist_dir, capsys
):
    run = tmp_path / "bigan"
    small = [arg for setting in SMALL for arg in ("--set", setting)]
    assert main(["train", "bigan-mnist-quick", "--out", str(run), *CLI_TINY, *small]) == 0
    capsys.readouterr()
    assert main(["infer", str(run), *INFER_TINY]) == 0
    out = capsys.readouterr().out
    assert "encoder: pixel MSE" in out and "E(x): 1-NN accuracy" in out
    record = json.loads((run / "infer.json").read_text())
    scores = record["reconstruction"]
    assert set(scores) == {"encoder", "optimisation", "original"}
    for method in ("encoder", "optimisation"):
        assert 0 <= scores[method]["mse"] <= 1 and scores[method]["seconds"] >= 0
        assert 0 <= scores[method]["classifier_accuracy"] <= 1
    features = record["features"]
    assert features["labelled_train_images"] == 100 and features["test_images"] == 100
    for name in ("E(x)", "pixels"):
        assert 0 <= features["scores"][name]["linear_probe_accuracy"] <= 1
    assert (run / "figures" / "infer.png").is_file()
    capsys.readouterr()
    assert main(["inpaint", str(run), "-n", "2", "--steps", "2"]) == 2  # D judges pairs
    assert "has a D of pairs (x, z)" in capsys.readouterr().err
    assert main(["report", str(run)]) == 0
    assert "advnets infer: test digits" in (run / "report.html").read_text()


def test_infer_inverts_an_ordinary_g_and_refuses_what_it_cannot_do(tmp_path, mnist_dir, capsys):
    gan = tmp_path / "gan"
    shrink = ["--set", "model.generator_hidden=[32]", "--set", "model.discriminator_units=[16]"]
    assert main(["train", "mnist-quick", "--out", str(gan), *CLI_TINY, *shrink, "--no-eval"]) == 0
    assert main(["infer", str(gan), *INFER_TINY, "--json"]) == 0
    record = json.loads((gan / "infer.json").read_text())
    assert set(record["reconstruction"]) == {"optimisation", "original"}
    assert "features" not in record
    capsys.readouterr()
    assert main(["infer", str(gan), "--method", "encoder"]) == 2
    assert "learned no encoder" in capsys.readouterr().err
    ae = tmp_path / "ae"
    tiny_ae = [*CLI_TINY, "--set", "model.autoencoder_hidden=32", "--no-eval"]
    assert main(["train", "ae-mnist-quick", "--out", str(ae), *tiny_ae]) == 0
    capsys.readouterr()
    assert main(["infer", str(ae)]) == 2
    error = capsys.readouterr().err
    assert "its own encoder reconstructs" in error and error.count("\n") == 1


def test_the_latent_search_inverts_a_g_whose_range_holds_the_images():
    from test_inpainting import LinearG

    from advnets.evaluation.inference import infer_codes, squared_error
    from advnets.evaluation.latent_search import SearchSettings

    generator = LinearG()
    truth = generator(torch.randn(3, 8, generator=torch.Generator().manual_seed(5))).detach()
    settings = SearchSettings(restarts=2, steps=400, lr=0.05)
    codes = infer_codes("optimisation", generator, None, truth, settings, seed=0)
    error = squared_error(generator(codes).detach(), truth)
    assert (error < 1e-3 * truth.square().sum(1)).all()
