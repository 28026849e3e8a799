"""benchmarks/selection_rules.py: each selection rule's pick among a run's kept checkpoints."""

from __future__ import annotations

import sys

import yaml
from conftest import load_script
from test_cli import TINY

from advnets.cli import main

script = load_script("benchmarks/selection_rules.py")


def test_each_rule_picks_a_kept_checkpoint_and_last_picks_the_newest(
    tmp_path, mnist_dir, capsys, monkeypatch
):
    config_file, run = tmp_path / "tiny.yaml", tmp_path / "run"
    config_file.write_text(yaml.safe_dump(TINY))
    keep = ["--set", "training.epochs=3", "--set", "training.keep_every_epochs=1"]
    assert main(["train", str(config_file), "--out", str(run), "--no-eval", *keep]) == 0
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["selection_rules.py", str(run)])
    script.main()
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()[2:]]
    assert [row[2] for row in rows] == ["parzen", "reference-ll", "last"]
    assert rows[0][1] == "1, 2, 3"
    assert {row[3] for row in rows} <= {"1", "2", "3"} and rows[2][3] == "3"
    assert all(" ± " in row[5] for row in rows)
