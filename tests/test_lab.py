"""The theory lab end to end: short trainings whose outcome does not hinge on the seed."""

from __future__ import annotations

import json
import math

import pytest
from PIL import Image

from advnets.cli import main


def run_toy(capsys, *argv: str) -> dict:
    capsys.readouterr()
    assert main(["toy", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_1d_checks_proposition_1_and_theorem_1(tmp_path, capsys):
    out = tmp_path / "1d"
    summary = run_toy(capsys, "1d", "--out", str(out), "--epochs", "3")
    assert summary["minus_log_4"] == pytest.approx(-math.log(4))
    assert summary["dstar_max_abs_error"] < 0.05
    # the estimate with a converged D sits at the integral (and never far above it)
    for row in summary["criterion_by_epoch"]:
        assert row["C_G_estimate"] == pytest.approx(row["C_G_integral"], abs=0.02)
        assert row["C_G_integral"] >= summary["minus_log_4"] - 1e-9
    assert summary["criterion_by_epoch"][0]["C_G_integral"] > -0.1  # disjoint at the start
    assert summary["C_G"] < -1.3  # close to -log 4 after three epochs
    figures = out / "figures"
    assert Image.open(figures / "figure1.gif").n_frames == 4  # epochs 0..3
    assert [row["epoch"] for row in summary["criterion_by_epoch"]] == [0, 1, 2, 3]
    for name in ("figure1.png", "optimal_discriminator.png", "criterion.png"):
        assert (figures / name).stat().st_size > 10000
    assert (out / "checkpoints" / "last.safetensors").is_file()  # the same trainer and files


def test_saturation_minimax_starves_the_generator(tmp_path, capsys):
    summary = run_toy(capsys, "saturation", "--out", str(tmp_path), "--epochs", "1")
    minimax, non_saturating = summary["losses"]["minimax"], summary["losses"]["non_saturating"]
    assert minimax["mean_d_fake_first_20_steps"] < 0.01  # D rejects G's samples confidently
    assert (
        minimax["mean_g_grad_norm_first_20_steps"]
        < 0.1 * non_saturating["mean_g_grad_norm_first_20_steps"]
    )
    assert (tmp_path / "saturation.png").is_file()


def test_ring_reports_coverage(tmp_path, capsys):
    out = tmp_path / "ring"
    summary = run_toy(capsys, "ring", "--out", str(out), "--epochs", "5")
    assert summary["modes"] == 8 and 0 <= summary["modes_covered"] <= 8
    assert 0 <= summary["high_quality_fraction"] <= 1
    assert 0 <= summary["mode_kl"] <= math.log(8) + 1e-9
    assert [row["epoch"] for row in summary["by_epoch"]] == [0, 5]
    assert Image.open(out / "figures" / "coverage.gif").n_frames == 2
    records = [json.loads(line) for line in (out / "metrics.jsonl").open()]
    assert [r["epoch"] for r in records if r["kind"] == "toy_modes"] == [0, 5]


def test_toy_runs_are_not_taken_for_image_runs(tmp_path, capsys):
    out = tmp_path / "ring"
    run_toy(capsys, "ring", "--out", str(out), "--epochs", "1", "--set", "data.toy_points=1000")
    assert main(["report", str(out)]) == 2
    assert "theory-lab run" in capsys.readouterr().err


def test_mismatched_family_and_data_are_refused(capsys):
    assert main(["train", "toy-ring", "--set", "model.family=mlp-maxout"]) == 2
    assert "does not fit data.dataset" in capsys.readouterr().err


def test_d_trained_on_v_by_quadrature_meets_d_star_for_a_gaussian_generator(tmp_path):
    """G(z) = 1.5 + 0.7 z through the linear path: p_g = N(1.5, 0.7²) exactly, so D* is
    known in closed form; D trained to convergence with G frozen meets it (Proposition 1)."""
    import numpy as np
    import torch

    from advnets.experiments.lab import Lab, lab_config

    lab = Lab(lab_config("1d", []), tmp_path / "run")
    generator = lab.trainer.game.generator
    with torch.no_grad():
        generator.output.weight.zero_()
        generator.output.bias.fill_(1.5)
        generator.skip.weight.fill_(0.7)
    x = lab.x
    p_g = np.exp(-0.5 * ((x - 1.5) / 0.7) ** 2) / (0.7 * math.sqrt(2 * math.pi))
    np.testing.assert_allclose(lab.p_g(), p_g, atol=1e-4)  # the exact density of a monotone G
    check = lab.optimal_discriminator_error()
    d_star = lab.p_data() / (lab.p_data() + p_g)
    assert np.abs(check["d"] - d_star)[check["support"]].max() < 0.02
    assert check["max_abs_error"] < 0.02 and check["excluded_mass"] == 0.0


def test_a_ring_run_resumed_ends_where_the_uninterrupted_one_ends(tmp_path, capsys):
    small = ["--set", "data.toy_points=1000", "--set", "evaluation.every_epochs=2"]
    whole = run_toy(capsys, "ring", "--out", str(tmp_path / "whole"), "--epochs", "4", *small)
    halves = tmp_path / "halves"
    first = run_toy(capsys, "ring", "--out", str(halves), "--epochs", "2", *small)
    earlier = {"train_seconds": 1e6, "train_cpu_seconds": 1e6}  # as if the first took long
    with (halves / "metrics.jsonl").open("a") as log:
        log.write(json.dumps({"kind": "clock", "step": first["g_updates"], **earlier}) + "\n")
    resumed = run_toy(capsys, "ring", "--resume", "--out", str(halves), "--epochs", "4")
    for key in ("epochs", "g_updates", "modes_covered", "mode_counts", "by_epoch", "remedy"):
        assert resumed[key] == whole[key]
    assert [row["epoch"] for row in resumed["by_epoch"]] == [0, 2, 4]
    # the training clock goes on from the last reading at the step resumed from
    epochs = [r for r in map(json.loads, (halves / "metrics.jsonl").open()) if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2, 3, 4]
    for field in ("train_seconds", "train_cpu_seconds"):
        readings = [r[field] for r in epochs]
        assert 0 < readings[0] <= readings[1] < first[field] + 1 < 1e6 <= readings[2]
        assert readings[2] <= readings[3] <= resumed[field] < 1e6 + 60
    final = "final_samples.npy"
    assert (halves / final).read_bytes() == (tmp_path / "whole" / final).read_bytes()
    assert Image.open(halves / "figures" / "coverage.gif").n_frames == 3
    assert main(["toy", "ring", "--resume", "--out", str(halves), "--remedy", "pack2"]) == 2
    assert "leave out --remedy" in capsys.readouterr().err
    assert main(["toy", "grid", "--resume", "--out", str(halves)]) == 2
    assert "toy ring --resume" in capsys.readouterr().err
    assert main(["toy", "1d", "--resume", "--out", str(tmp_path / "x")]) == 2
    assert "option of `toy ring`" in capsys.readouterr().err


def test_an_interrupted_ring_run_names_the_toy_command_that_resumes_it(
    tmp_path, capsys, monkeypatch
):
    import os
    import signal

    from advnets.experiments.lab import Lab

    snapshot = Lab.take_snapshot

    def stop_after_epoch_1(lab, trainer):  # Ctrl-C while the second epoch trains
        snapshot(lab, trainer)
        if trainer.state.epoch == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Lab, "take_snapshot", stop_after_epoch_1)
    out = tmp_path / "ring"
    small = ["--set", "data.toy_points=1000", "--set", "evaluation.every_epochs=1"]
    assert main(["toy", "ring", "--out", str(out), "--epochs", "3", *small]) == 130
    assert f"Resume with: advnets toy ring --resume --out {out}" in capsys.readouterr().err
    monkeypatch.undo()
    assert run_toy(capsys, "ring", "--resume", "--out", str(out))["epochs"] == 3
