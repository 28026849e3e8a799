"""The generator shipped inside the package: verified before use, true to its model card."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from advnets.cli import main
from advnets.config import ConfigError
from advnets.evaluation import pretrained
from advnets.files import ShippedFileError

SAMPLE = Path(__file__).parent / "data" / "mnist-sample.npz"


def test_every_shipped_generator_matches_its_recorded_hash_and_card():
    for name, entry in pretrained.SHIPPED.items():
        card = pretrained.card(name)
        assert card["weights_sha256"] == entry.sha256
        generator, _ = pretrained.load_pretrained(name)
        assert not generator.training
        assert generator.data_dim == card["data_dim"] == int(np.prod(card["image_shape"]))
        assert name in pretrained.describe(name)
        config = pretrained.trained_config(name)  # the run's whole config, for Table 1's means
        assert config.seed == card["seed"] and config.data.dataset == "mnist"
        trained_model = dataclasses.asdict(config.model)
        assert all(trained_model[key] == value for key, value in card["model"].items())


def test_a_damaged_shipped_file_is_refused(monkeypatch):
    entry = pretrained.SHIPPED["mnist-paper"]
    monkeypatch.setitem(pretrained.SHIPPED, "mnist-paper", pretrained.Shipped(entry.file, "0" * 64))
    with pytest.raises(ShippedFileError, match="damaged or was replaced"):
        pretrained.load_pretrained("mnist-paper")


def test_an_unknown_name_lists_the_shipped_ones():
    with pytest.raises(ConfigError, match="shipped: mnist-paper"):
        pretrained.load_pretrained("mnist-papr")


@pytest.mark.parametrize("name", sorted(pretrained.SHIPPED))
def test_the_shipped_generator_scores_what_its_card_says(name):
    """The card's smaller score, recomputed from the shipped weights on real digits."""
    generator, card = pretrained.load_pretrained(name)
    with np.load(SAMPLE) as digits:
        valid, test = (torch.from_numpy(digits[k] / np.float32(255)) for k in ("valid_x", "test_x"))
    score = pretrained.check_score(generator, valid.float(), test.float())
    assert score == pytest.approx(card["check"]["test_ll"], abs=0.5)
    assert card["parzen"]["n_samples"] == 10000 and card["domain"]["classes_covered"] == 10


def test_sample_draws_the_shipped_generator_by_seed(tmp_path, capsys):
    out = tmp_path / "samples.npy"
    draw = ["sample", "--pretrained", "mnist-paper", "-n", "7", "-o", str(out), "--seed", "3"]
    assert main(draw) == 0
    first = np.load(out)
    assert first.shape == (7, 784) and first.min() >= 0 and first.max() <= 1
    assert main(draw) == 0
    np.testing.assert_array_equal(np.load(out), first)
    capsys.readouterr()
    assert main(["pretrained", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mnist-paper"]["preset"] == "mnist-paper"


def test_sample_and_figures_need_one_source(tmp_path, capsys):
    with pytest.raises(SystemExit) as neither:
        main(["sample", "-o", str(tmp_path / "x.png")])
    assert neither.value.code == 2
    assert "RUN_DIR --pretrained is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["figures", "RUN", "--pretrained", "mnist-paper"])
    assert "not allowed with argument RUN_DIR" in capsys.readouterr().err
