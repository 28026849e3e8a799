"""Figures, Table 1 and the HTML report, end to end on a small MNIST in the real file format."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import render_without_problems
from PIL import Image

from advnets.cli import main
from advnets.sampling import interpolate

TINY = [
    "--set", "model.generator_hidden=[64, 64]",
    "--set", "model.discriminator_units=[32, 32]",
    "--set", "training.epochs=1",
    "--set", "training.batch_size=50",
    "--set", "evaluation.samples=300",
    "--set", "evaluation.valid_images=50",
    "--set", "logging.progress=false",
    "--set", "logging.tensorboard=false",
]  # fmt: skip


OTHER_FAMILY = "model:\n  family: wgan-gp\n"


def train(tmp_path: Path, name: str, *extra: str) -> Path:
    run = tmp_path / name
    assert main(["train", "mnist-paper", "--out", str(run), *TINY, *extra]) == 0
    return run


@pytest.fixture
def run(tmp_path, mnist_dir) -> Path:
    return train(tmp_path, "run")


def test_figures_draws_figure2_and_figure3(run, capsys):
    argv = ["figures", str(run), "--rows", "3", "--columns", "4", "--steps", "5"]
    assert main(argv) == 0
    figures = run / "figures"
    figure2 = np.asarray(Image.open(figures / "figure2.png").convert("RGB"))
    cell = 3 * (28 + 2)  # enlarged 3x, 2-pixel padding
    assert figure2.shape == (3 * cell + 6, 5 * cell + 6, 3)
    # the neighbour column is framed in yellow, the sample columns are not
    frame_left = 4 * cell
    assert tuple(figure2[10, frame_left]) == (255, 204, 0)
    assert not np.any(np.all(figure2[:, : frame_left - 3] == (255, 204, 0), axis=2))
    gif = Image.open(figures / "figure3.gif")
    assert gif.n_frames == 2 * 5 - 2  # forth and back
    assert Image.open(figures / "figure3.png").size == (5 * cell + 6, 3 * cell + 6)
    linear = np.asarray(Image.open(figures / "figure3.png"))
    spherical = np.asarray(Image.open(figures / "figure3_spherical.png"))
    assert linear.shape == spherical.shape
    ends = [slice(None, cell), slice(4 * cell + 6, None)]  # the same end points, other paths
    assert all(np.array_equal(linear[:, end], spherical[:, end]) for end in ends)
    assert not np.array_equal(linear, spherical)
    for name in ("memorisation.png", "classes.png"):
        assert (figures / name).stat().st_size > 1000


def test_interpolation_paths():
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    linear = interpolate(z0, z1, 5)
    assert torch.equal(linear[0], z0) and torch.equal(linear[-1], z1)
    assert torch.allclose(linear[2], torch.tensor([0.5, 0.5]))
    spherical = interpolate(z0, z1, 5, spherical=True)
    assert torch.allclose(spherical.norm(dim=1), torch.ones(5), atol=1e-6)
    assert torch.allclose(spherical[-1], z1, atol=1e-6)
    with pytest.raises(ValueError, match="at least 2 steps"):
        interpolate(z0, z1, 1)


def test_table1_prints_markdown_and_csv(tmp_path, mnist_dir, capsys):
    runs = [train(tmp_path, f"seed{seed}", "--set", f"seed={seed}") for seed in (0, 1)]
    csv_path = tmp_path / "table1.csv"
    capsys.readouterr()
    assert main(["table1", *map(str, runs), "--csv", str(csv_path)]) == 0
    markdown = capsys.readouterr().out
    for words in ("DBN (paper)", "| 138.0 | 2.0 |", "Adversarial nets (paper) | 225.0", "ceiling"):
        assert words in markdown
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert [row["model"] for row in rows][:4] == [
        "DBN (paper)",
        "Stacked CAE (paper)",
        "Deep GSN (paper)",
        "Adversarial nets (paper)",
    ]
    evaluations = [json.loads((run / "evaluation.json").read_text()) for run in runs]
    lls = [e["parzen"]["test_ll"] for e in evaluations]
    ours, mean = rows[4:6], rows[6]
    assert [float(row["Parzen LL (nats)"]) for row in ours] == pytest.approx(lls)
    assert float(ours[0]["FID"]) == pytest.approx(evaluations[0]["domain"]["fid"])
    assert mean["model"] == "advnets, mean over 2 seeds"
    assert float(mean["Parzen LL (nats)"]) == pytest.approx(statistics.fmean(lls))
    assert float(mean["± std (seeds)"]) == pytest.approx(statistics.stdev(lls))
    assert rows[7]["model"] == "300 training images (ceiling)"  # all the fixture has
    assert float(rows[7]["FID"]) >= 0 and rows[7]["± std (seeds)"] == ""


def test_table1_averages_each_recipe_over_its_own_seeds(tmp_path, mnist_dir, capsys):
    # two seeds of one recipe (their thread counts differ: a resumable setting) and one run
    # of another learning rate: one mean, over the two seeds only
    runs = [
        train(tmp_path, "paper-s0", "--set", "seed=0"),
        train(tmp_path, "paper-s1", "--set", "seed=1", "--set", "training.threads=1"),
        train(tmp_path, "fast-s0", "--set", "seed=0", "--set", "training.lr=0.05"),
    ]
    capsys.readouterr()
    assert main(["table1", *map(str, runs), "--no-ceiling", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    names = [row["model"] for row in rows[4:]]
    assert names[:2] == ["advnets paper-s0 (seed 0, epoch 1)", "advnets paper-s1 (seed 1, epoch 1)"]
    assert names[2:] == ["advnets paper-s0, paper-s1, mean over 2 seeds", names[3]]
    assert names[3].startswith("advnets fast-s0 (seed 0")
    lls = [float(row["Parzen LL (nats)"]) for row in rows[4:6]]
    assert float(rows[6]["Parzen LL (nats)"]) == pytest.approx(statistics.fmean(lls))


def test_table1_shows_a_shipped_generator_from_its_card(tmp_path, mnist_dir, capsys):
    from advnets.evaluation import pretrained

    card = pretrained.card("mnist-paper")
    run = train(tmp_path, "mine")
    capsys.readouterr()
    table1 = ["table1", str(run), "--pretrained", "mnist-paper", "--no-ceiling"]
    assert main([*table1, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[4]["model"].startswith("advnets mine (seed 0")
    shipped = rows[5]
    assert shipped["model"].startswith("advnets mnist-paper, shipped (mnist-paper, seed 0")
    assert float(shipped["Parzen LL (nats)"]) == card["parzen"]["test_ll"]
    assert float(shipped["FID"]) == card["domain"]["fid"] and len(rows) == 6  # no mean
    assert main(["table1", "--pretrained", "mnist-papr"]) == 2
    assert "shipped: mnist-paper" in capsys.readouterr().err


def test_table1_averages_a_shipped_generator_with_the_seeds_of_its_recipe(
    tmp_path, mnist_dir, capsys, monkeypatch
):
    # a card that records its run's config joins the runs of that recipe; its own seed twice
    # is refused
    from advnets.config import load_config
    from advnets.evaluation import pretrained

    run = train(tmp_path, "mine", "--set", "seed=1")
    same_recipe = load_config(str(run / "config.yaml"), ["seed=0"])
    monkeypatch.setattr(pretrained, "trained_config", lambda name: same_recipe)
    capsys.readouterr()
    table1 = ["table1", str(run), "--pretrained", "mnist-paper", "--no-ceiling"]
    assert main([*table1, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    mean = rows[6]
    assert mean["model"] == "advnets, mean over 2 seeds" and len(rows) == 7
    lls = [float(row["Parzen LL (nats)"]) for row in rows[4:6]]
    assert float(mean["Parzen LL (nats)"]) == pytest.approx(statistics.fmean(lls))
    same_recipe.seed = 1
    assert main(table1) == 2
    assert "are both seed 1 of one recipe" in capsys.readouterr().err


def test_report_renders_in_headless_chromium(run, tmp_path):
    inpaint = ["inpaint", str(run), "-n", "3", "--steps", "5", "--restarts", "1"]
    assert main(inpaint) == 0  # its figure joins the report
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page
    for words in ("Parzen log-likelihood", "225 ± 2", "FID", "coverage", "Figure 2", "Figure 3"):
        assert words in page
    assert "advnets inpaint: masked test digits" in page
    trained = re.search(r"Trained to step (\d+) in [\d.]+ s of wall time, [\d.]+ s of CPU", page)
    records = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    assert trained and int(trained[1]) == [r for r in records if r["kind"] == "epoch"][-1]["step"]
    shot = tmp_path / "report.png"
    result = render_without_problems(run / "report.html", shot)
    assert result["title"] == "advnets run report: run"
    assert result["images"] >= 7
    assert Image.open(shot).size[0] == 1200 and shot.stat().st_size > 20000


def test_unfinished_runs_are_refused_unless_allowed(run, capsys):
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["training"]["epochs"] = 5
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    capsys.readouterr()
    assert main(["table1", str(run), "--no-ceiling"]) == 2
    error = capsys.readouterr().err
    assert "unfinished" in error and "epoch 1 of 5" in error and "--resume" in error
    assert main(["evaluate", str(run), "--allow-unfinished"]) == 0


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (lambda path: None, "there is no run directory"),
        (lambda path: path.mkdir(), "no config.yaml"),
        (
            lambda path: (path.mkdir(), (path / "config.yaml").write_text(OTHER_FAMILY)),
            "model.family",
        ),
    ],
)
def test_bad_run_directories_say_what_is_missing(tmp_path, capsys, setup, words):
    path = tmp_path / "not-a-run"
    setup(path)
    for command in ("report", "figures", "table1", "evaluate"):
        assert main([command, str(path)]) == 2
        assert words in capsys.readouterr().err


def test_a_run_without_checkpoints_says_so(run, capsys):
    for checkpoint in (run / "checkpoints").iterdir():
        checkpoint.unlink()
    assert main(["report", str(run)]) == 2
    assert "has no checkpoint yet" in capsys.readouterr().err
