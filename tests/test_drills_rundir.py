"""Drills on a run directory through the real ``advnets`` command: two writers at once, refused
commands, damaged checkpoints and records, a metrics line cut short by a crash.

A refused command must end in one sentence on stderr and exit code 2, with every byte of the run
directory as it was (each file hashed before and after). One small finished run is trained once
for the module and copied for each test. Each drill runs its key command as a child process
(``cli_children``) on a small MNIST in the real file format; the long lists of damaged records,
and the commands that only show a drill ended well, call the same ``advnets.cli.main`` in this
process (on the same MNIST, ``conftest.mnist_dir``): a child costs seconds of CPU to start.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from cli_children import CHILD_TIMEOUT_S, Cache, build_cache, finish
from safetensors.torch import load_file, save_file

from advnets import limits
from advnets.cli import main
from advnets.files import sha256_file
from advnets.runs import runlock
from advnets.runs.checkpoint import load_checkpoint, read_state
from advnets.runs.rundir import RunDir

SIZES = (300, 100, 100)  # train / valid / test images
EPOCHS_AS_BEFORE = ["--set", "training.epochs=2"]

TINY = {
    "model": {"generator_hidden": [64, 64], "discriminator_units": [32, 32]},
    "training": {"epochs": 2, "batch_size": 50, "threads": 1},
    "evaluation": {"every_epochs": 1, "samples": 200, "valid_images": 50, "domain_metrics": False},
    "logging": {"progress": False, "tensorboard": False, "grid_rows": 4},
    "data": {"download": False},
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Cache:
    return build_cache(tmp_path_factory.mktemp("mnist-cache"), *SIZES)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


@pytest.fixture(scope="module")
def finished(cli, cache, config_file, tmp_path_factory) -> Path:
    """A finished two-epoch run: last, last.prev (epoch 1) and best checkpoints, no test
    evaluation yet."""
    run = tmp_path_factory.mktemp("finished") / "run"
    process = cli.start(cache, "train", str(config_file), "--out", str(run), "--no-eval")
    code, _, err = finish(process)
    assert code == 0, err
    return run


@pytest.fixture
def run(finished, tmp_path) -> Path:
    """A copy of the finished run, this test's own."""
    return Path(shutil.copytree(finished, tmp_path / "run"))


def snapshot(run: Path) -> dict[str, str]:
    """The SHA-256 of every file in the run directory, by path."""
    return {str(p.relative_to(run)): sha256_file(p) for p in sorted(run.rglob("*")) if p.is_file()}


def assert_refused(code: int, err: str, *words: str) -> None:
    """Exit code 2 and one sentence on stderr holding ``words``."""
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, f"exit code {code}:\n{err}"
    assert lines[0].startswith("advnets: error: ") and lines[0].endswith("."), err
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


# --- one writer per run directory ---------------------------------------------------------------


def wait_until_locked(holder: subprocess.Popen, lock: Path) -> str:
    """Poll until ``holder`` has taken the lock; return what the lock file says."""
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while time.monotonic() < deadline:
        if holder.poll() is not None:
            pytest.fail(f"the holder ended (code {holder.returncode}): {finish(holder)[2]}")
        text = lock.read_text() if lock.is_file() else ""
        if f"process {holder.pid} " in text:
            return text.strip()
        time.sleep(0.01)
    holder.kill()
    pytest.fail(f"{lock} never named process {holder.pid}")


def test_a_second_writer_is_refused_naming_the_holder_and_a_killed_holder_leaves_no_lock(
    cli, cache, run, tmp_path, mnist_dir, capsys
):
    holder = cli.start(
        cache, "train", "--resume", "--out", str(run), "--no-eval", "--set", "training.epochs=999"
    )
    try:
        recorded = wait_until_locked(holder, run / ".lock")
        assert recorded == f"process {holder.pid} (advnets train --resume)"
        os.kill(holder.pid, signal.SIGSTOP)  # hold still: the run must not change under us
        before = snapshot(run)
        code, _, err = finish(cli.start(cache, "evaluate", str(run)))
        assert_refused(code, err, str(run), f"is being written by {recorded}")
        assert snapshot(run) == before
        # a reader does not need the lock
        assert main(["sample", str(run), "-n", "4", "-o", str(tmp_path / "s.npy")]) == 0
        assert snapshot(run) == before
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # stopped or not: the OS releases its lock
        holder.communicate()
    capsys.readouterr()
    assert main(["train", "--resume", "--out", str(run), "--no-eval", *EPOCHS_AS_BEFORE]) == 0
    assert "resuming" in capsys.readouterr().out
    assert (run / ".lock").read_text() == ""  # emptied on release


def test_a_toy_run_holds_its_lock_and_a_second_one_into_the_same_out_is_refused(
    cli, cache, tmp_path
):
    out = tmp_path / "lab"
    toy = ["toy", "ring", "--out", str(out), "--set", "data.toy_points=200"]
    holder = cli.start(cache, *toy, "--epochs", "999")
    try:
        recorded = wait_until_locked(holder, out / ".lock")
        assert recorded == f"process {holder.pid} (advnets toy ring)"
        os.kill(holder.pid, signal.SIGSTOP)
        before = snapshot(out)
        code, _, err = finish(cli.start(cache, *toy, "--epochs", "1"))
        assert_refused(code, err, str(out), f"is being written by {recorded}")
        assert snapshot(out) == before
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.communicate()


def test_a_new_run_whose_lock_file_is_removed_before_it_is_taken_makes_it_again(
    tmp_path, monkeypatch
):
    """A new run that ends with nothing in it removes its lock file while it holds the lock;
    a process that opened that file meanwhile takes the lock on a file that is gone, sees
    it, and locks a file of its own."""
    run = RunDir(tmp_path / "new")
    lock_file = run.lock_file
    flock = runlock.fcntl.flock
    opened = []

    def removed_first(handle, operation):  # the holder's clean-up, between open and flock
        if not opened:
            lock_file.unlink()
            run.path.rmdir()
        opened.append(os.fstat(handle.fileno()).st_ino)
        flock(handle, operation)

    monkeypatch.setattr(runlock.fcntl, "flock", removed_first)
    with run.writing("advnets train", new=True):
        assert len(opened) == 2 and lock_file.stat().st_ino == opened[1]
        assert lock_file.read_text() == f"process {os.getpid()} (advnets train)\n"
    assert not run.path.exists()


# --- nothing written before the checks pass -----------------------------------------------------


def test_a_resume_refused_late_leaves_every_byte_of_the_run(cli, run, tmp_path_factory):
    """Other data: refused after the lock, the config's checks, the data and the checkpoint
    are read, where config.yaml used to be rewritten already."""
    before = snapshot(run)
    other = build_cache(tmp_path_factory.mktemp("other-mnist"), 250, 100, 100)
    code, _, err = finish(
        cli.start(other, "train", "--resume", "--out", str(run), "--set", "training.epochs=5")
    )
    assert_refused(code, err, "last.safetensors was trained on data with sha256")
    assert snapshot(run) == before


def test_refused_training_commands_leave_every_byte_of_the_run(config_file, run, capsys):
    before = snapshot(run)
    resume = ["train", "--resume", "--out", str(run), "--set", "training.epochs=5"]
    for argv, words in (
        ([*resume, "--set", "training.lr=0.5"], ["cannot resume", "training.lr (0.1 -> 0.5)"]),
        ([*resume, "--set", "training.epochs=-1"], ["training.epochs"]),
        (["train", str(config_file), "--out", str(run)], ["already holds a run", "--resume"]),
        (["train", str(config_file), "--out", str(run), "--fork-from", str(run)], ["--resume"]),
    ):
        code = main(argv)
        assert_refused(code, capsys.readouterr().err, *words)
        assert snapshot(run) == before


def test_a_new_run_refused_after_taking_its_lock_leaves_nothing_behind(
    config_file, run, tmp_path, mnist_dir, capsys, monkeypatch
):
    """Refusals that come once a new run's lock is taken (its data, the size of its model, a
    fork whose checkpoints are all damaged) remove the lock and the folders the command made;
    a folder the user made stays, as it was."""
    place, no_data = tmp_path / "place", tmp_path / "no-data"
    (place / "mine").mkdir(parents=True)
    no_data.mkdir()
    monkeypatch.chdir(place)
    for name in ("last", "last.prev", "best"):
        flip_a_weight_bit(run / "checkpoints" / f"{name}.safetensors")
    source = snapshot(run)
    train = ["train", str(config_file)]
    wide = ",".join(["65536"] * limits.MAX_LAYERS)
    for argv, words in (
        ([*train, "--out", "a/b/new", "--data-dir", str(no_data)], ["MNIST is not available"]),
        ([*train, "--set", f"model.generator_hidden=[{wide}]"], ["the model", "GiB"]),
        ([*train, "--out", "mine", "--fork-from", str(run)], ["no checkpoint verifies"]),
    ):
        code, err = main(argv), capsys.readouterr().err  # MNIST's files listed, one a line
        assert code == 2 and err.startswith("advnets: error: "), err
        assert all(word in err for word in words), err
        assert sorted(place.rglob("*")) == [place / "mine"]  # runs/<preset>-<time> gone too
    assert snapshot(run) == source


# --- integrity ----------------------------------------------------------------------------------


def resume_for_one_step(run: Path, step: int) -> list[str]:
    """The command that resumes ``run`` from ``step`` for one more step."""
    return [
        "train",
        "--resume",
        "--out",
        str(run),
        "--no-eval",
        "--set",
        f"training.max_steps={step + 1}",
    ]


def header(path: Path) -> dict:
    """The JSON header of a safetensors file."""
    with open(path, "rb") as handle:
        return json.loads(handle.read(int.from_bytes(handle.read(8), "little")))


def flip_a_weight_bit(path: Path, tensor: str = "generator.output.weight") -> None:
    """Flip one low bit inside a tensor's bytes: still a valid safetensors file."""
    start, _ = header(path)[tensor]["data_offsets"]
    blob = bytearray(path.read_bytes())
    blob[8 + int.from_bytes(blob[:8], "little") + start + 1] ^= 0x01
    path.write_bytes(bytes(blob))


def newest_good_checkpoint(run: Path) -> tuple[Path, dict]:
    """The checkpoint a run whose last one is damaged goes on from (the newer of last.prev
    and best, the first on a tie), and its state (step, epoch...)."""
    candidates = [run / "checkpoints" / f"{name}.safetensors" for name in ("last.prev", "best")]
    states = {path: read_state(path)["state"] for path in candidates}
    fallback = max(candidates, key=lambda path: states[path]["g_updates"])
    return fallback, states[fallback]


def test_a_damaged_checkpoint_is_named_and_resume_falls_back_to_an_earlier_good_one(
    cli, cache, run, tmp_path, capsys
):
    checkpoints = run / "checkpoints"
    last = checkpoints / "last.safetensors"
    flip_a_weight_bit(last)
    before = snapshot(run)
    code = main(["sample", str(run), "--checkpoint", "last", "-o", str(tmp_path / "s.npy")])
    assert_refused(code, capsys.readouterr().err, f"{last} is damaged", "SHA-256")
    assert snapshot(run) == before and not (tmp_path / "s.npy").exists()

    fallback, state = newest_good_checkpoint(run)
    step = state["g_updates"]
    code, out, err = finish(cli.start(cache, *resume_for_one_step(run, step)))
    assert code == 0, err
    assert f"warning: {last} is damaged" in err and f"resuming from {fallback}." in err
    assert f"resuming {run} at epoch {state['epoch']}, step {step}" in out
    assert load_checkpoint(last)[1]["state"]["g_updates"] == step + 1  # written anew, verified


def test_a_fork_from_a_run_whose_last_checkpoint_is_damaged_starts_from_the_newest_good_one(
    cli, cache, config_file, run, tmp_path
):
    last = run / "checkpoints" / "last.safetensors"
    flip_a_weight_bit(last)
    source = snapshot(run)
    fallback, state = newest_good_checkpoint(run)
    step = state["g_updates"]
    fork = tmp_path / "fork"
    code, out, err = finish(
        cli.start(
            cache, "train", str(config_file), "--out", str(fork), "--fork-from", str(run),
            "--no-eval", "--set", f"training.max_steps={step + 1}",
        )
    )  # fmt: skip
    assert code == 0, err
    assert f"warning: {last} is damaged" in err and f"forking from {fallback}." in err
    assert f"forked from {fallback} at epoch {state['epoch']}, step {step}" in out
    assert json.loads((fork / "run.json").read_text())["forked_from"] == str(fallback)
    assert read_state(fork / "checkpoints" / "last.safetensors")["state"]["g_updates"] == step + 1
    assert snapshot(run) == source


def test_a_checkpoint_written_before_digests_were_recorded_still_loads(run, tmp_path):
    best = run / "checkpoints" / "best.safetensors"
    metadata = {k: v for k, v in header(best)["__metadata__"].items() if k != "sha256"}
    save_file(load_file(best), best, metadata=metadata)
    assert "sha256" not in header(best)["__metadata__"]
    assert main(["sample", str(run), "-n", "4", "-o", str(tmp_path / "s.npy")]) == 0


def damage_config(run: Path, case: str, marker: Path) -> None:
    config = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(
        {
            "empty": "",
            "a list": "- 1\n- 2\n",
            "an unknown key": config + "surprise: 1\n",
            "a wrong type": config.replace("epochs: 2", "epochs: two"),
            "malformed YAML": "seed: [0\n",
            "a python tag": f"!!python/object/apply:os.system ['touch {marker}']\n",
        }[case]
    )


@pytest.mark.parametrize(
    "case",
    ["empty", "a list", "an unknown key", "a wrong type", "malformed YAML", "a python tag"],
)
def test_a_damaged_config_yaml_is_refused_naming_it(case, run, tmp_path, capsys):
    marker = tmp_path / "code-ran"
    damage_config(run, case, marker)
    before = snapshot(run)
    for argv in (
        ["train", "--resume", "--out", str(run)],  # never "all defaults"
        ["evaluate", str(run)],
        ["figures", str(run)],
        ["sample", str(run), "-o", str(tmp_path / "s.npy")],
    ):
        code = main(argv)
        assert_refused(code, capsys.readouterr().err, f"{run / 'config.yaml'} ")
        assert snapshot(run) == before
    assert not marker.exists() and not (tmp_path / "s.npy").exists()


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("", "is empty"),
        ('{"seed": 0', "is not valid JSON"),
        ("[]", "is empty"),
        ('["seed"]', "holds a list"),
        ('{"seed": 0, "surprise": 1}', "unknown entries 'surprise'"),
        ('{"seed": "zero"}', "wrong type: seed"),
    ],
)
def test_a_damaged_run_json_is_refused_naming_it(case, words, run, capsys):
    (run / "run.json").write_text(case)
    before = snapshot(run)
    for command in ("evaluate", "report", "figures"):
        code = main([command, str(run)])
        assert_refused(code, capsys.readouterr().err, f"{run / 'run.json'} ", words)
        assert snapshot(run) == before


# --- a metrics line cut short -------------------------------------------------------------------


def test_a_metrics_line_cut_short_is_skipped_once_and_the_next_writer_starts_a_fresh_line(
    cli, cache, run, mnist_dir, capsys
):
    metrics = run / "metrics.jsonl"
    torn = b'{"kind": "train", "step": 13, "d_lo'
    whole = metrics.read_bytes()
    line = whole.count(b"\n") + 1
    metrics.write_bytes(whole + torn)  # what a crash in the middle of a write leaves

    # report evaluates the run first (evaluate's own writer), then draws the curves
    code, _, err = finish(cli.start(cache, "report", str(run), "--no-ceiling"))
    assert code == 0, err
    warnings = [text for text in err.splitlines() if "metrics.jsonl" in text]
    assert warnings == [
        f"WARNING advnets.runs.logs: {metrics}, line {line}, is not a whole record "
        "(a write cut short?): skipped"
    ]
    lines = metrics.read_bytes().splitlines()
    assert lines[line - 1] == torn  # left alone, on its own line
    assert json.loads(lines[line])["kind"] == "test_evaluation"

    step = read_state(run / "checkpoints" / "last.safetensors")["state"]["g_updates"]
    assert main(resume_for_one_step(run, step)) == 0
    assert "resuming" in capsys.readouterr().out
    records = [json.loads(text) for text in metrics.read_text().splitlines()]  # all whole again
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1, 2]
