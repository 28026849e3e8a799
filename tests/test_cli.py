"""The advnets command end to end, in process, on a small MNIST in the real file format."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from advnets.cli import main

TINY = {
    "model": {"generator_hidden": [64, 64], "discriminator_units": [32, 32]},
    "training": {"epochs": 2, "batch_size": 50},
    "evaluation": {"every_epochs": 1, "samples": 300, "valid_images": 50},
    "logging": {"progress": False, "tensorboard": True, "log_every_steps": 2},
}


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


@pytest.fixture
def trained_run(tmp_path, mnist_dir, config_file):
    run = tmp_path / "run"
    assert main(["train", str(config_file), "--out", str(run)]) == 0
    return run


def test_presets_lists_one_line_each(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith("mnist-paper ") for line in lines)
    assert any(line.startswith("mnist-quick ") for line in lines)
    assert all(len(line.split(None, 1)) == 2 for line in lines)


def test_train_leaves_a_complete_run_directory(trained_run, capsys):
    for name in (
        "config.yaml",
        "run.json",
        "metrics.jsonl",
        "curves.png",
        "evaluation.json",
        "evaluation-distances.npz",
        "samples/latest.png",
        "checkpoints/best.safetensors",
        "checkpoints/last.safetensors",
    ):
        assert (trained_run / name).is_file(), name
    assert any((trained_run / "tensorboard").iterdir())
    info = json.loads((trained_run / "run.json").read_text())
    assert len(info["data_sha256"]) == 64 and info["seed"] == 0
    evaluation = json.loads((trained_run / "evaluation.json").read_text())
    parzen = evaluation["parzen"]
    assert parzen["n_samples"] == 10000 and parzen["n_test"] == 100
    assert np.isfinite(parzen["test_ll"])
    assert evaluation["domain"]["n_images"] == 10000 and evaluation["domain"]["n_reference"] == 100
    assert evaluation["memorisation"]["n_samples"] == 10000
    records = [json.loads(line) for line in (trained_run / "metrics.jsonl").open()]
    domain = [r for r in records if r["kind"] == "valid_domain"]
    assert [r["epoch"] for r in domain] == [1, 2]  # tracked over training, every evaluation
    assert all(0 <= r["coverage"] <= 1 and r["fid"] >= 0 for r in domain)


def test_sample_writes_npy_and_png(trained_run, tmp_path):
    out = tmp_path / "samples.npy"
    assert main(["sample", str(trained_run), "-n", "17", "-o", str(out), "--seed", "3"]) == 0
    samples = np.load(out, allow_pickle=False)
    assert samples.shape == (17, 784) and samples.dtype == np.float32
    assert samples.min() >= 0 and samples.max() <= 1
    again = tmp_path / "again.npy"
    main(["sample", str(trained_run), "-n", "17", "-o", str(again), "--seed", "3"])
    assert np.array_equal(samples, np.load(again))
    png = tmp_path / "grid.png"
    assert main(["sample", str(trained_run), "-n", "16", "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_and_parzen_print_json(trained_run, tmp_path, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(trained_run), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)["parzen"]
    assert {"test_ll", "test_se", "sigma"} <= evaluated.keys()
    samples = tmp_path / "s.npy"
    main(["sample", str(trained_run), "-n", "10000", "-o", str(samples), "--seed", "2014"])
    capsys.readouterr()
    assert main(["parzen", str(samples), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["test_ll"] == pytest.approx(evaluated["test_ll"], abs=1e-6)


def test_the_main_job_preset_trains_and_ends_with_its_scores_in_words(tmp_path, mnist_dir, capsys):
    from advnets.runs import checkpoint as ckpt

    run = tmp_path / "quick"
    shrink = [
        "model.generator_hidden=[64, 64]",
        "model.discriminator_units=[32, 32]",
        "training.epochs=1",
        "evaluation.samples=300",
        "evaluation.valid_images=50",
        "logging.progress=false",
    ]
    args = ["train", "mnist-quick", "--out", str(run)]
    assert main([*args, *[f"--set={item}" for item in shrink]]) == 0
    out = capsys.readouterr().out
    assert "higher is better" in out and "lower is better" in out
    assert any(line.startswith(("HEALTHY", "PARTIAL", "COLLAPSED")) for line in out.splitlines())
    assert f"advnets report {run}" in out and "latest.png" in out
    tensors, _ = ckpt.load_checkpoint(run / "checkpoints" / "best.safetensors")
    assert any(name.startswith("generator_average.") for name in tensors)


def test_resume_through_the_cli_continues_the_run(trained_run, config_file, capsys):
    assert (
        main(
            [
                "train",
                "--resume",
                "--out",
                str(trained_run),
                "--set",
                "training.epochs=3",
                "--no-eval",
            ]
        )
        == 0
    )
    assert "resuming" in capsys.readouterr().out
    epochs = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in epochs if r["kind"] == "epoch"] == [1, 2, 3]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["train", "mnist-papr"], ["neither a preset", "mnist-paper"]),
        (["train", "mnist-paper", "--set", "training.k=0"], ["training.k must be >= 1"]),
        (
            ["train", "mnist-paper", "--set", "training.momentum=0.9"],
            ["Unknown config key", "momentum_start"],
        ),
        (["train", "--resume"], ["--resume needs --out"]),
        (["sample", "nowhere", "-o", "x.npy"], ["not a run directory"]),
    ],
)
def test_bad_input_gives_one_clear_error(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err
    assert not (tmp_path / "runs").exists()  # nothing started


def test_resume_on_an_incompatible_run_is_refused(trained_run, capsys):
    before = (trained_run / "config.yaml").read_text()
    assert (
        main(["train", "--resume", "--out", str(trained_run), "--set", "model.noise=gaussian"]) == 2
    )
    assert "model.noise" in capsys.readouterr().err
    assert (trained_run / "config.yaml").read_text() == before


@pytest.mark.parametrize(
    "array, words",
    [
        (np.zeros((10, 100), np.float32), ["784"]),
        (np.full((10, 784), 2.0, np.float32), ["[0, 1]"]),
        (np.zeros((10, 784), np.uint8), ["float"]),
    ],
)
def test_parzen_rejects_bad_sample_files(array, words, tmp_path, mnist_dir, capsys):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    assert main(["parzen", str(path)]) == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err


def test_missing_data_names_the_files_to_place(tmp_path, monkeypatch, capsys, mnist_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["parzen", str(tmp_path / "nothing.npy")]) == 2
    capsys.readouterr()
    np.save(tmp_path / "ok.npy", np.zeros((5, 784), np.float32))
    monkeypatch.setenv("ADVNETS_DATA_DIR", str(empty))

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(subprocess, "run", offline)
    assert main(["parzen", str(tmp_path / "ok.npy")]) == 2
    err = capsys.readouterr().err
    assert "mnist.pkl.gz" in err and "train-images-idx3-ubyte.gz" in err


def test_fork_continues_another_run_with_new_training_settings(trained_run, tmp_path, capsys):
    fork = tmp_path / "fork"
    assert (
        main(
            [
                "train",
                str(trained_run / "config.yaml"),
                "--out",
                str(fork),
                "--fork-from",
                str(trained_run),
                "--set",
                "training.lr_decay=1.0001",
                "--set",
                "training.epochs=3",
                "--no-eval",
            ]
        )
        == 0
    )
    assert "forked from" in capsys.readouterr().out
    records = [json.loads(line) for line in (fork / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [3]
    assert json.loads((fork / "run.json").read_text())["forked_from"].endswith("last.safetensors")
    assert (fork / "checkpoints" / "best.safetensors").is_file()


def test_a_fork_whose_decay_moves_the_learning_rate_says_how_to_continue_from_it(
    trained_run, tmp_path, capsys
):
    """The decay counts updates from the start: a steeper one set in a fork drops the lr at
    once, which the fork says, with the training.lr that decays from the parent's lr."""

    def fork(name: str, *settings: str) -> str:
        config = str(trained_run / "config.yaml")
        options = ["--fork-from", str(trained_run), "--set", "training.epochs=3", "--no-eval"]
        for setting in settings:
            options += ["--set", setting]
        assert main(["train", config, "--out", str(tmp_path / name), *options]) == 0
        return capsys.readouterr().out

    out = fork("steep", "training.lr_decay=1.5")
    assert "note: the schedule sets the learning rate to" in out
    suggested = out.split("set training.lr=")[1].split()[0].rstrip(".")
    out = fork("continued", "training.lr_decay=1.5", f"training.lr={suggested}")
    assert "note:" not in out
    records = [json.loads(line) for line in (tmp_path / "continued" / "metrics.jsonl").open()]
    first = next(r for r in records if r["kind"] == "train")
    parent = [json.loads(line) for line in (trained_run / "metrics.jsonl").open()]
    last_lr = [r["lr"] for r in parent if r["kind"] == "train"][-1]
    assert last_lr / 1.5**3 < first["lr"] < last_lr  # decaying from the parent's lr on
    updates = json.loads((trained_run / "metrics.jsonl").read_text().splitlines()[-1])["step"]
    out = fork("annealed", f"training.anneal_after_updates={updates}", "training.anneal_decay=1.5")
    assert "note:" not in out  # the anneal starts where the parent's decay stood


def test_fork_into_another_model_is_refused(trained_run, tmp_path, capsys):
    assert (
        main(
            [
                "train",
                str(trained_run / "config.yaml"),
                "--out",
                str(tmp_path / "fork"),
                "--fork-from",
                str(trained_run),
                "--set",
                "model.noise_dim=10",
            ]
        )
        == 2
    )
    assert "model.noise_dim" in capsys.readouterr().err
    assert not (tmp_path / "fork").exists()


def test_a_run_stopped_before_its_first_checkpoint_resumes_from_the_start(
    tmp_path, mnist_dir, config_file, capsys, monkeypatch
):
    from advnets.training.loop import Trainer

    run = tmp_path / "run"
    original = Trainer.train

    def stopped(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "train", stopped)
    assert main(["train", str(config_file), "--out", str(run)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert (run / "config.yaml").is_file()
    assert not (run / "checkpoints" / "last.safetensors").exists()
    monkeypatch.setattr(Trainer, "train", original)
    assert main(["train", "--resume", "--out", str(run), "--no-eval"]) == 0
    assert "training it from the start" in capsys.readouterr().out
    assert (run / "checkpoints" / "last.safetensors").is_file()


@pytest.mark.parametrize(
    ("device", "threads", "expected"),
    [("cuda", None, 4), ("cuda", 8, 16), ("cpu", None, 16)],  # 8: the trainer applies it
)
def test_gpu_runs_cap_their_cpu_threads_unless_the_config_sets_them(device, threads, expected):
    import torch

    from advnets.cli.training import cap_gpu_threads
    from advnets.config import load_config

    overrides = [] if threads is None else [f"training.threads={threads}"]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(16)
        cap_gpu_threads(
            load_config("mnist-paper", overrides), SimpleNamespace(device=torch.device(device))
        )
        assert torch.get_num_threads() == expected
    finally:
        torch.set_num_threads(before)
