"""Multi-process training (DDP over gloo, launched by torchrun) against one process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from conftest import make_dataset, tiny_config

from advnets.experiments.callbacks import training_callbacks
from advnets.runs import checkpoint as ckpt
from advnets.runs.rundir import RunDir
from advnets.training.loop import Trainer

pytestmark = pytest.mark.skipif(not dist.is_gloo_available(), reason="needs the gloo backend")

WORKER = Path(__file__).with_name("ddp_worker.py")
NO_DROPOUT = ["model.discriminator_input_keep=1", "model.discriminator_hidden_keep=1"]


# How a launch can fail on a loaded machine without anything of ours at fault: a rank aborted
# by gloo's threads at exit, or a port taken between torchrun choosing it and binding it.
LAUNCH_FAILURES = (
    "terminate called without an active exception",
    "Address already in use",
    "Connection closed by peer",
    "Connection reset by peer",
)


def torchrun(*arguments: str, processes: int = 2, fresh: Path | None = None):
    """``torchrun --nproc_per_node N ARGUMENTS`` on this machine, one thread per process.

    A launch that fails in one of the ``LAUNCH_FAILURES`` ways is tried once more (after
    removing ``fresh``, the run directory a new run creates), with a warning that says so;
    any other failure, or a second one, fails the test."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc_per_node={processes}", *arguments]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    for attempt in (1, 2):
        done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
        failed_to_launch = any(failure in done.stderr for failure in LAUNCH_FAILURES)
        if done.returncode == 0 or attempt == 2 or not failed_to_launch:
            break
        warnings.warn(
            f"torchrun failed to launch, tried again:\n{done.stderr[-2000:]}", stacklevel=2
        )
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def train_alone(path: Path, *overrides: str) -> None:
    config = tiny_config(*overrides)
    dataset = make_dataset()
    run = RunDir(path)
    run.create(config, dataset.sha256, dataset.source)
    Trainer(config, dataset, run, callbacks=training_callbacks(config, dataset)).train()


def weights(path: Path, name: str = "last") -> tuple[dict[str, torch.Tensor], dict]:
    tensors, meta = ckpt.load_checkpoint(path / "checkpoints" / f"{name}.safetensors")
    return tensors, meta


@pytest.mark.parametrize(
    "update",
    [
        ["training.update=simultaneous"],
        ["training.update=alternating", "training.k=2", "training.generator_loss=minimax"],
    ],
    ids=["simultaneous", "alternating-k2"],
)
def test_two_processes_compute_what_one_process_computes(tmp_path, update):
    """The same global minibatch of 20, split 10 + 10: the same weights after 2 epochs
    (with their end-of-epoch validation and best checkpoint), up to summation order."""
    overrides = [*NO_DROPOUT, *update, "training.threads=1"]
    train_alone(tmp_path / "one", *overrides)
    torchrun(str(WORKER), str(tmp_path / "two"), *overrides, fresh=tmp_path / "two")
    for name in ("last", "best"):
        one, one_meta = weights(tmp_path / "one", name)
        two, two_meta = weights(tmp_path / "two", name)
        assert (one_meta["world_size"], two_meta["world_size"]) == (1, 2)
        assert one_meta["state"]["g_updates"] == two_meta["state"]["g_updates"] > 0
        assert one_meta["state"]["best_epoch"] == two_meta["state"]["best_epoch"]
        for key in ("rng.data", "rng.noise", "data.permutation"):
            assert torch.equal(one[key], two[key]), key
        parameters = [k for k in one if k.startswith(("generator.", "discriminator."))]
        assert len(parameters) >= 6
        for key in parameters:
            torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5, msg=key)
    moved = (weights(tmp_path / "two")[0]["generator.output.weight"] != 0).any()
    assert moved


def test_a_multi_process_run_with_dropout_resumes_bit_for_bit(tmp_path):
    """Each rank's dropout RNG is saved and restored: 25 steps, stop, resume to 40 equals 40."""
    common = ["training.threads=1", "training.checkpoint_every_steps=5"]
    torchrun(str(WORKER), str(tmp_path / "straight"), *common, fresh=tmp_path / "straight")
    resumed = tmp_path / "resumed"
    torchrun(str(WORKER), str(resumed), *common, "training.max_steps=25", fresh=resumed)
    assert weights(tmp_path / "resumed")[1]["state"]["g_updates"] == 25
    torchrun(str(WORKER), str(tmp_path / "resumed"), "--resume", *common)
    straight, _ = weights(tmp_path / "straight")
    resumed, meta = weights(tmp_path / "resumed")
    assert meta["state"]["g_updates"] == 40
    assert straight["rng.torch"].shape[0] == 2  # one dropout stream per rank
    assert not torch.equal(straight["rng.torch"][0], straight["rng.torch"][1])
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key


def test_the_command_line_trains_under_torchrun(tmp_path):
    """``torchrun -m advnets train`` on a toy preset: one run directory, written once."""
    out = tmp_path / "ring"
    done = torchrun(
        "-m", "advnets", "train", "toy-ring", "--out", str(out),
        "--set", "training.max_steps=30", "--set", "logging.progress=false", fresh=out,
    )  # fmt: skip
    assert done.stdout.count("training into") == 1
    assert "2 processes on cpu, 50 examples each" in done.stdout
    _, meta = weights(out)
    assert meta["world_size"] == 2 and meta["state"]["g_updates"] == 30
    records = (out / "metrics.jsonl").read_text().splitlines()
    steps = [r for r in records if '"kind": "train"' in r]
    assert len(steps) == len(set(steps)) > 0  # one writer


def test_ctrl_c_stops_every_rank_at_the_same_step_and_the_run_resumes(tmp_path):
    """SIGINT to the whole process group, as Ctrl-C sends it: one checkpoint, one message."""
    out = tmp_path / "ring"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node=2", "-m", "advnets", "train", "toy-ring", "--out", str(out)]
    command += ["--set", "logging.progress=false", "--set", "training.checkpoint_every_steps=20"]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env=environment, start_new_session=True
    )
    checkpoint = out / "checkpoints" / "last.safetensors"
    deadline = time.monotonic() + 120
    while not checkpoint.is_file() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert checkpoint.is_file(), "no checkpoint before the deadline"
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    stopped = re.findall(r"advnets: interrupted at step (\d+); checkpoint saved", stderr)
    assert len(stopped) == 1, stderr[-3000:]  # rank 0 reports, for both ranks
    step = int(stopped[0])
    state = ckpt.read_state(checkpoint)
    assert state["state"]["g_updates"] == step and state["world_size"] == 2
    torchrun(
        "-m", "advnets", "train", "--resume", "--out", str(out),
        "--set", f"training.max_steps={step + 10}",
    )  # fmt: skip
    assert ckpt.read_state(checkpoint)["state"]["g_updates"] == step + 10


def test_a_minibatch_that_does_not_divide_among_the_processes_is_refused(tmp_path):
    from advnets.config import ConfigError
    from advnets.training.distributed import Processes

    config = tiny_config("training.batch_size=15")
    dataset = make_dataset()
    with pytest.raises(ConfigError, match="must divide evenly among the 2 processes"):
        Trainer(config, dataset, RunDir(tmp_path / "run"), Processes(rank=0, world_size=2))
