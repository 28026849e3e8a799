"""The autoencoder, convolutional autoencoder and VAE families trained through the generic
trainer: their losses fall, their samplers follow the generator protocol, a VAE resumes bit for
bit, the anomaly protocol, Table 1's VAE columns and the settings they refuse."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import make_dataset, new_trainer, tiny_config
from test_training import assert_identical, checkpoint_tensors

from advnets.cli import main
from advnets.config import ConfigError
from advnets.evaluation.anomaly import anomaly_protocol, separation
from advnets.evaluation.table1 import table1_rows, to_markdown
from advnets.games.autoencoding import Autoencoding, VariationalAutoencoding
from advnets.models.autoencoder import MLPAutoencoder
from advnets.runs.logs import read_metrics
from advnets.runs.rundir import RunDir
from advnets.sampling import generate
from advnets.training.loop import Trainer

FAMILIES = {  # family: its settings shrunk to train in a second
    "mlp-ae": ["model.autoencoder_hidden=32"],
    "conv-ae": ["model.base_channels=4"],
    "vae": ["model.autoencoder_hidden=32"],
}


def ae_config(family: str, *overrides: str):
    return tiny_config(
        f"model.family={family}",
        "model.noise=gaussian",
        "model.noise_dim=4",
        "training.optimizer=adam",
        "training.lr=0.003",
        "training.lr_decay=1.0",
        "training.adam_betas=[0.9, 0.999]",
        "evaluation.domain_metrics=false",
        "training.threads=1",
        *FAMILIES[family],
        *overrides,
    )


def start(tmp_path, name, family, *overrides):
    return new_trainer(tmp_path / name, ae_config(family, *overrides), make_dataset())


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_trains_through_the_trainer_and_its_loss_falls(tmp_path, family):
    trainer = start(tmp_path, family, family)
    game = trainer.game
    expected = VariationalAutoencoding if family == "vae" else Autoencoding
    assert type(game) is expected and set(game.optimizers) == {"g"}
    state = trainer.train()
    assert state.g_updates == 40 and state.d_updates == 0  # every update is a step
    train = [r for r in read_metrics(trainer.run.metrics) if r["kind"] == "train"]
    first, last = train[0], train[-1]
    assert last[game.stat_names[0]] < 0.8 * first[game.stat_names[0]]
    if family == "vae":
        assert last["elbo"] == -last["loss"] and last["loss"] == pytest.approx(
            last["recon"] + last["kl"], rel=1e-5
        )
    samples = generate(trainer.sampler(), 7, seed=0)
    assert samples.shape == (7, 784) and samples.min() >= 0 and samples.max() <= 1
    assert trainer.sampler().noise_dim == 4


def test_the_autoencoders_sampler_decodes_a_gaussian_fitted_to_the_training_codes(tmp_path):
    trainer = start(tmp_path, "ae", "mlp-ae", "training.max_steps=5")
    trainer.train()
    sampler = trainer.sampler()
    codes = sampler.net.encode(trainer.data.train).double()
    torch.testing.assert_close(sampler.code_mean.double(), codes.mean(0), rtol=1e-4, atol=1e-5)
    covariance = sampler.code_scale.double() @ sampler.code_scale.double().T
    torch.testing.assert_close(covariance, torch.cov(codes.T, correction=0), rtol=1e-3, atol=1e-5)
    z = sampler.sample_noise(3, torch.Generator().manual_seed(0))
    expected = torch.sigmoid(sampler.net.decode(sampler.code_mean + z @ sampler.code_scale.T))
    torch.testing.assert_close(sampler(z), expected)


def test_a_vae_run_resumed_after_max_steps_ends_where_the_uninterrupted_one_ends(tmp_path):
    straight = start(tmp_path, "straight", "vae")
    straight.train()
    first = start(tmp_path, "split", "vae", "training.max_steps=13")
    first.train()
    second = Trainer(ae_config("vae"), make_dataset(), RunDir(tmp_path / "split"))
    second.restore(second.run.checkpoint("last"))
    second.train()
    assert_identical(checkpoint_tensors(straight), checkpoint_tensors(second))


class SumError(MLPAutoencoder):
    """An 'autoencoder' whose reconstruction error is the image's sum: a known score."""

    def reconstruction_error(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(1)


def test_anomaly_protocol_separates_a_class_scored_higher():
    images = torch.zeros(10, 784)
    labels = np.array([0, 1, 2, 3, 0, 1, 2, 3, 3, 3])
    images[:, 0] = torch.arange(10.0)  # scores 0..9
    images[labels == 3, 1] = 100.0  # the anomalous class scores highest
    result = anomaly_protocol(SumError(hidden=2, code_dim=2), images, labels, held_out=3, shown=2)
    assert result.auroc == 1.0 and (result.n_normal, result.n_anomalous) == (6, 4)
    assert result.best == [0, 1] and result.worst == [9, 8]
    assert result.mean_normal == pytest.approx(np.mean([0, 1, 2, 4, 5, 6]))
    flipped = anomaly_protocol(SumError(hidden=2, code_dim=2), images, labels, held_out=0)
    assert flipped.auroc < 0.5


def test_separation_scores_each_class_of_the_anomalies_alone():
    images = torch.zeros(7, 784)
    images[:, 0] = torch.tensor([1.0, 2.0, 3.0, 10.0, 0.5, 20.0, 2.5])  # the scores
    anomalous = np.array([False, False, False, True, True, True, True])
    classes = (np.array([0, 1, 0, 1]), ("coat", "bag", "never seen"))
    result = separation(SumError(hidden=2, code_dim=2), images, anomalous, classes=classes)
    assert (result.n_normal, result.n_anomalous) == (3, 4)
    # coats score 10 and 20, above all normal images; bags 0.5 and 2.5: below all, then 2 of 3
    assert result.auroc_by_class == {"coat": 1.0, "bag": pytest.approx(2 / 6)}
    assert result.auroc == pytest.approx((3 + 3 + 0 + 2) / 12)


def test_table1_gives_each_family_its_mean_and_a_vae_its_bounds():
    def evaluation(family: str, ll: float, likelihood: dict | None = None) -> dict:
        ev = {"family": family, "parzen": {"test_ll": ll, "test_se": 1.0}}
        return {**ev, "likelihood": likelihood} if likelihood else ev

    bounds = {"test_elbo": -101.5, "test_ll": -96.25}
    runs = [
        ("gan 0", evaluation("mlp-maxout", 200.0)),
        ("gan 1", evaluation("mlp-maxout", 210.0)),
        ("vae 0", evaluation("vae", 150.0, bounds)),
        ("vae 1", evaluation("vae", 160.0, bounds)),
    ]
    rows = table1_rows(runs)
    names = [row["model"] for row in rows[4:]]
    assert names == [
        "gan 0",
        "gan 1",
        "advnets mlp-maxout, mean over 2 seeds",
        "vae 0",
        "vae 1",
        "advnets vae, mean over 2 seeds",
    ]
    assert rows[-1]["ll"] == 155.0 and rows[-1]["likelihood_test_ll"] == -96.25
    assert rows[6]["likelihood_test_elbo"] is None
    assert "| vae 0 | 150.0 |" in to_markdown(rows) and "-101.5 | -96.2 |" in to_markdown(rows)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.family=vae"], "decodes Gaussian codes"),
        (
            ["model.family=mlp-ae", "model.noise=gaussian", "model.autoencoder_hidden=0"],
            "model.autoencoder_hidden",
        ),
        (
            ["model.family=vae", "model.noise=gaussian", "model.autoencoder_init_std=0"],
            "model.autoencoder_init_std must be > 0",
        ),
        (["model.autoencoder_loss=l1"], "model.autoencoder_loss"),
        (["data.exclude_class=10"], "data.exclude_class = 10 is outside"),
        (
            ["model.family=vae", "model.noise=gaussian", "training.generator_average=0.9"],
            "training.generator_average belong to the adversarial game",
        ),
        (
            ["data.dataset=ring", "model.family=mlp-toy", "data.exclude_class=3"],
            "leaves one class out of a labelled set of ten",
        ),
    ],
)
def test_bad_autoencoder_settings_are_refused_in_one_sentence(overrides, message):
    with pytest.raises(ConfigError, match=message):
        tiny_config(*overrides)


CLI_TINY = [
    "--set", "training.epochs=1",
    "--set", "training.batch_size=50",
    "--set", "model.autoencoder_hidden=32",
    "--set", "evaluation.samples=300",
    "--set", "evaluation.valid_images=50",
    "--set", "logging.progress=false",
    "--set", "logging.tensorboard=false",
]  # fmt: skip


def test_an_autoencoder_trained_without_a_digit_scores_it_as_the_anomaly(tmp_path, mnist_dir):
    run = tmp_path / "ae"
    argv = ["train", "ae-mnist-quick", "--out", str(run), *CLI_TINY, "--no-eval"]
    assert main([*argv, "--set", "data.exclude_class=3"]) == 0
    assert main(["anomaly", str(run), "--json"]) == 0
    record = json.loads((run / "anomaly.json").read_text())
    assert record["held_out"] == 3 and record["trained_without"] == 3
    assert record["n_anomalous"] == 10 and record["n_normal"] == 90  # labels cycle 0..9
    assert 0 <= record["auroc"] <= 1 and (run / "figures" / "anomaly.png").is_file()


def test_the_8x8_digits_train_offline_without_a_class_and_are_scored(tmp_path, capsys):
    pytest.importorskip("sklearn")
    run = tmp_path / "ae"
    argv = ["train", "ae-mnist-quick", "--out", str(run), *CLI_TINY, "--no-eval"]
    digits = ["--set", "data.dataset=digits", "--set", "data.train_subset=300"]
    assert main([*argv, *digits, "--set", "data.exclude_class=1"]) == 0
    assert main(["anomaly", str(run), "--json"]) == 0
    record = json.loads((run / "anomaly.json").read_text())
    assert record["dataset"] == "digits" and record["held_out"] == 1
    assert record["n_normal"] + record["n_anomalous"] == 180  # every test image is scored
    assert 0 < record["n_anomalous"] < 40 and 0 <= record["auroc"] <= 1
    assert main(["evaluate", str(run), "--json"]) == 0  # the shipped 8x8-digits classifier
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["domain"]["fid"] >= 0 and evaluation["parzen"]["n_test"] == 180
    capsys.readouterr()
    too_many = ["--set", "data.dataset=digits", "--set", "data.train_subset=2000"]
    assert (
        main(["train", "ae-mnist-quick", "--out", str(tmp_path / "x"), *CLI_TINY, *too_many]) == 2
    )
    assert "exceeds the 1437 training images" in capsys.readouterr().err


def noise_folder(folder, per_class: int):
    """A folder of 28x28 grey noise images in two class sub-folders, 0-coat and 1-bag."""
    from PIL import Image

    rng = np.random.default_rng(per_class)
    for name in ("0-coat", "1-bag"):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (28, 28), dtype=np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / name / f"{i}.png")
    return folder


def test_another_image_set_is_scored_against_the_digits_the_run_saw(tmp_path, mnist_dir, capsys):
    run = tmp_path / "ae"
    argv = ["train", "ae-mnist-quick", "--out", str(run), *CLI_TINY, "--no-eval"]
    assert main([*argv, "--set", "data.exclude_class=3"]) == 0
    clothes = noise_folder(tmp_path / "clothes", per_class=15)
    assert main(["anomaly", str(run), "--against", str(clothes), "--json"]) == 0
    record = json.loads((run / "anomaly-folder.json").read_text())
    assert record["against"] == "folder" and record["trained_without"] == 3
    assert record["n_normal"] == 90 and record["n_anomalous"] == 3  # 10% of 30 images
    assert set(record["auroc_by_class"]) <= {"0-coat", "1-bag"} and record["auroc_by_class"]
    assert 0 <= record["auroc"] <= 1 and (run / "figures" / "anomaly-folder.png").is_file()
    assert not (run / "anomaly.json").exists()
    capsys.readouterr()
    assert main(["anomaly", str(run), "--against", str(clothes), "--class", "3"]) == 2
    assert "give one of them" in capsys.readouterr().err
    assert main(["anomaly", str(run), "--against", str(tmp_path / "none")]) == 2
    assert "neither mnist nor fashion-mnist nor a folder" in capsys.readouterr().err


def test_an_autoencoder_of_a_folder_scores_mnist_against_its_own_images(tmp_path, mnist_dir):
    clothes = noise_folder(tmp_path / "clothes", per_class=30)
    run = tmp_path / "ae"
    folder = ["data.dataset=folder", f"data.folder={clothes}", "data.image_size=28"]
    argv = ["train", "ae-mnist-quick", "--out", str(run), *CLI_TINY, "--no-eval"]
    for setting in [*folder, "data.channels=1", "training.batch_size=16"]:
        argv += ["--set", setting]
    assert main(argv) == 0
    assert main(["anomaly", str(run), "--against", "mnist", "--json"]) == 0
    record = json.loads((run / "anomaly-mnist.json").read_text())
    assert record["dataset"] == "folder" and record["against"] == "mnist"
    assert (record["n_normal"], record["n_anomalous"]) == (6, 100)  # 10% of 60; MNIST's test
    assert set(record["auroc_by_class"]) == {str(d) for d in range(10)}
    assert main(["anomaly", str(run), "--class", "1", "--json"]) == 0  # bags against coats
    record = json.loads((run / "anomaly.json").read_text())
    assert record["held_out"] == 1 and record["n_normal"] + record["n_anomalous"] == 6


def test_a_vae_run_is_evaluated_with_its_likelihood_bounds(tmp_path, mnist_dir, capsys):
    run = tmp_path / "vae"
    assert main(["train", "vae-mnist-quick", "--out", str(run), *CLI_TINY, "--no-eval"]) == 0
    argv = ["evaluate", str(run), "--iw-samples", "20", "--iw-images", "30"]
    assert main(argv) == 0
    assert "importance-weighted log-likelihood" in capsys.readouterr().out
    bounds = json.loads((run / "evaluation.json").read_text())["likelihood"]
    assert bounds["k"] == 20 and bounds["n_test"] == 30
    assert bounds["test_elbo"] <= bounds["test_ll"] < 0
    assert main(["anomaly", str(run), "--class", "1"]) == 2  # a VAE is not scored so
