"""The context encoder (Pathak et al. 2016): its masks, its network, its game, and
`advnets inpaint` on its runs."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import make_dataset, new_trainer, tiny_config

from advnets.config import ConfigError
from advnets.games.base import Minibatch
from advnets.models.context_encoder import BLOCKS, ContextEncoder, context_masks
from advnets.runs import checkpoint as ckpt
from advnets.runs.rundir import RunDir
from advnets.training.loop import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


CONTEXT = [
    "model.family=context-encoder",
    "model.base_channels=4",
    "training.update=alternating",
    "training.optimizer=adam",
    "training.lr=0.0002",
    "training.lr_decay=1.0",
]


def ce_config(*overrides: str):
    return tiny_config(*CONTEXT, *overrides)


def test_the_center_mask_hides_the_middle_half_of_each_side() -> None:
    masks = context_masks("center", 28, torch.rand(3, 2 * BLOCKS)).view(3, 28, 28)
    assert masks.sum().item() == 3 * 14 * 14 and masks[:, 7:21, 7:21].eq(1).all()


def test_random_blocks_hide_at_most_a_quarter_in_places_the_uniforms_choose() -> None:
    uniforms = torch.rand(50, 2 * BLOCKS, generator=torch.Generator().manual_seed(0))
    masks = context_masks("random-blocks", 28, uniforms)
    hidden = masks.sum(dim=1)
    assert hidden.min() >= 49 and hidden.max() <= 28 * 28 / 4  # one block at least, 4 at most
    assert torch.equal(masks, context_masks("random-blocks", 28, uniforms))
    assert len({tuple(row.nonzero().flatten().tolist()) for row in masks}) > 40
    corner = context_masks("random-blocks", 28, torch.zeros(1, 2 * BLOCKS)).view(28, 28)
    assert corner[:7, :7].eq(1).all() and corner.sum() == 49


def test_the_network_predicts_whole_images_without_reading_the_hidden_pixels() -> None:
    torch.manual_seed(0)
    net = ContextEncoder((1, 28, 28), base_channels=4).eval()
    images = torch.rand(3, 784)
    hidden = context_masks("center", 28, torch.zeros(3, 2 * BLOCKS))
    out = net(images, hidden)
    assert out.shape == (3, 784) and out.min() >= 0 and out.max() <= 1
    changed = images + hidden * torch.rand(3, 784)  # other values where hidden only
    assert torch.equal(net(changed, hidden), out)


def test_the_phase_updates_both_networks_with_finite_statistics() -> None:
    from advnets.games.context_encoding import ContextEncoding

    torch.manual_seed(0)
    dataset = make_dataset()
    game = ContextEncoding(
        ce_config("model.context_mask=random-blocks"), dataset, torch.device("cpu")
    )
    players = (game.network, game.discriminator)
    before = [[p.detach().clone() for p in player.parameters()] for player in players]
    rng = torch.Generator().manual_seed(0)
    (phase,) = game.phases()
    stats = phase.run(Minibatch(dataset.train[:20], 20, rng))
    assert stats.shape == (len(game.stat_names),) and torch.isfinite(stats).all()
    for old, player in zip(before, players, strict=True):
        assert all(not torch.equal(a, b) for a, b in zip(old, player.parameters(), strict=True))
    assert game.flops_per_image() > 0


def start(tmp_path, name: str, *overrides: str) -> Trainer:
    return new_trainer(tmp_path / name, ce_config(*overrides), make_dataset(n_train=120))


def test_a_resumed_run_continues_exactly(tmp_path) -> None:
    settings = ("training.epochs=1", "model.context_mask=random-blocks")
    straight = start(tmp_path, "straight", *settings)
    straight.train()
    start(tmp_path, "split", *settings, "training.max_steps=4").train()
    config = ce_config(*settings)
    run = RunDir(tmp_path / "split")
    run.check_resumable(config)
    resumed = Trainer(config, make_dataset(n_train=120), run)
    resumed.restore(run.checkpoint("last"))
    resumed.train()
    a, _ = ckpt.load_checkpoint(straight.run.checkpoint("last"))
    b, _ = ckpt.load_checkpoint(run.checkpoint("last"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_settings_the_game_does_not_play_are_refused() -> None:
    with pytest.raises(ConfigError, match="context_mask is an option of the context-encoder"):
        tiny_config("model.context_mask=random-blocks")
    with pytest.raises(ConfigError, match=r"set training\.update: alternating"):
        ce_config("training.update=simultaneous")
    with pytest.raises(ConfigError, match=r"set training\.generator_average: 0"):
        ce_config("training.generator_average=0.9")


def test_inpaint_scores_a_context_encoder_beside_a_gan_and_checks_minibatch_groups(
    tmp_path, mnist_dir, capsys
) -> None:
    from advnets.cli import main

    small = ["training.max_steps=2", "evaluation.samples=50", "logging.progress=false"]
    sets = [arg for setting in small for arg in ("--set", setting)]
    ce, gan = tmp_path / "ce", tmp_path / "gan"
    ce_sets = [*sets, "--set", "model.base_channels=4"]
    assert main(["train", "context-encoder-mnist-quick", "--out", str(ce), *ce_sets]) == 0
    assert main(["train", "mnist-quick", "--out", str(gan), "--no-eval", *sets]) == 0
    capsys.readouterr()
    # mnist-quick's D compares groups of 4: refused before any work, naming the options
    assert main(["inpaint", str(gan), "-n", "5", "--restarts", "1"]) != 0
    assert "-n 5 x --restarts 1 = 5 images" in capsys.readouterr().err
    assert not (gan / "inpaint.json").exists()
    assert main(["semisupervised", str(gan), "--per-class", "3"]) != 0
    assert "--per-class 3 gives 30 labelled images" in capsys.readouterr().err
    assert main(["inpaint", str(ce), "-n", "4"]) == 0
    alone = json.loads((ce / "inpaint.json").read_text())["scores"]
    assert "context encoder" in alone and "GAN latent search" not in alone
    compare = ["--compare", str(gan), "--restarts", "1", "--steps", "2"]
    assert main(["inpaint", str(ce), "-n", "4", *compare]) == 0
    both = json.loads((ce / "inpaint.json").read_text())
    assert {"context encoder", "GAN latent search"} <= both["scores"].keys()
    assert both["scores"]["context encoder"] == alone["context encoder"]
    capsys.readouterr()
    assert main(["inpaint", str(ce), "-n", "4", "--compare", str(ce)]) != 0
    assert "compare a context-encoder run with a GAN run" in capsys.readouterr().err
    sample = ["sample", str(ce), "-o", str(tmp_path / "s.png")]
    for command in (sample, ["evaluate", str(ce)], ["report", str(ce)]):
        assert main(command) != 0
        assert "completes images and draws none" in capsys.readouterr().err
