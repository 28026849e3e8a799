"""benchmarks/pacgan_table.py: PacGAN's rows from finished runs, and the commands of the rest."""

from __future__ import annotations

import json
import shutil
import sys

from conftest import load_script

from advnets.cli import main
from advnets.config import load_config

script = load_script("benchmarks/pacgan_table.py")


def write_summary(run, epochs: int, modes_hit: int, quality: float, kl: float) -> None:
    run.mkdir(parents=True)
    (run / "lab.json").write_text("{}")
    summary = {"epochs": epochs, "modes_hit": modes_hit, "high_quality_fraction": quality,
               "mode_kl": kl, "train_cpu_seconds": 7200.0}  # fmt: skip
    (run / "summary.json").write_text(json.dumps(summary))


def test_only_runs_of_all_400_epochs_count_and_the_rest_get_commands(tmp_path, capsys, monkeypatch):
    out = tmp_path / "pacgan"
    write_summary(out / "ring-pack1-s0", 400, 6, 0.98, 0.4)
    write_summary(out / "ring-pack1-s1", 400, 8, 0.96, 0.2)
    write_summary(out / "ring-pack2-s0", 5, 8, 0.6, 0.1)  # stopped early: not counted
    argv = ["--out", str(out), "--results", str(tmp_path / "none"), "--seeds", "0", "1"]
    monkeypatch.setattr(sys, "argv", ["pacgan_table.py", *argv])
    script.main()
    table = capsys.readouterr().out
    assert (
        "| ring | GAN | 2 of 2 | 7.0 ± 1.0 | 97.0 ± 1.0% | 0.30 ± 0.10 | 2.0 | 6.3 ± 0.5" in table
    )
    assert "| ring | PacGAN2 | 0 of 2 |" in table
    monkeypatch.setattr(sys, "argv", ["pacgan_table.py", *argv, "--commands"])
    script.main()
    commands = capsys.readouterr().out.splitlines()
    assert commands[0].startswith("advnets toy ring --resume --epochs 400")
    # seed by seed: seed 0's unfinished runs (ring PacGAN2, grid GAN, grid PacGAN2), then 1's
    assert [command.rsplit("/", 1)[1] for command in commands[:4]] == [
        "ring-pack2-s0", "grid-pack1-s0", "grid-pack2-s0", "ring-pack2-s1"
    ]  # fmt: skip
    fresh = commands[3].split()
    assert fresh[:5] == ["advnets", "toy", "ring", "--preset", "toy-ring-pacgan"]
    settings = [fresh[i + 1] for i, word in enumerate(fresh) if word == "--set"]
    assert "training.batch_size=200" in settings and "data.toy_points=200000" in settings
    config = load_config("toy-ring-pacgan", [s for s in settings if s.split("=")[0] != "seed"])
    assert config.data.toy_points // config.training.batch_size == 1000


def test_recorded_runs_count_without_their_directories_and_get_no_command(
    tmp_path, capsys, monkeypatch
):
    out, results = tmp_path / "pacgan", tmp_path / "results"
    run = out / "grid-pack2-s1"
    write_summary(run, 400, 24, 0.9, 0.05)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "modes": 25, "run_dir": str(run)}))
    validations = [{"kind": "toy_modes", "epoch": e, "step": 1000 * e, "modes_hit": 20 + e // 100,
                    "modes_covered": 3, "high_quality_fraction": 0.8, "mode_kl": 0.1}
                   for e in (0, 200, 400)]  # fmt: skip
    lines = [{"kind": "train", "step": 5}, *validations]
    (run / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    argv = ["--out", str(out), "--results", str(results), "--datasets", "grid", "--seeds", "1"]
    monkeypatch.setattr(sys, "argv", ["pacgan_table.py", *argv, "--record"])
    script.main()
    kept = json.loads((results / "grid-pack2-s1.json").read_text())
    assert "run_dir" not in kept and kept["modes_hit"] == 24 and kept["machine"]["cpu"]
    assert [v["modes_hit"] for v in kept["validation"]] == [20, 22, 24]
    assert "step" not in kept["validation"][0]
    shutil.rmtree(out)  # the machine that trained it is gone: the record remains
    capsys.readouterr()
    figure = tmp_path / "curves.png"
    monkeypatch.setattr(sys, "argv", ["pacgan_table.py", *argv, "--figure", str(figure)])
    script.main()
    assert (
        "| grid | PacGAN2 | 1 of 1 | 24.0 | 90.0% | 0.05 | 2.0 | 23.8 ± 0.7"
        in capsys.readouterr().out
    )
    assert figure.read_bytes().startswith(b"\x89PNG")
    monkeypatch.setattr(sys, "argv", ["pacgan_table.py", *argv, "--commands"])
    script.main()
    commands = capsys.readouterr().out.splitlines()
    assert len(commands) == 1 and commands[0].endswith("grid-pack1-s1")


def test_the_printed_command_of_the_gan_row_is_accepted(tmp_path, capsys):
    run = tmp_path / "ring-pack1-s0"
    words = script.command(run, "ring", 1, 0, 1, 400).split()[1:]  # without "advnets"
    words[words.index("--out") + 1] = str(run)
    words += ["--set", "data.toy_points=100", "--set", "training.batch_size=10", "--epochs", "1"]
    assert main(words) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["modes"] == 8 and summary["g_updates"] == 10
