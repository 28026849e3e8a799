"""Algorithm 1, checkpoints and resume on a tiny synthetic dataset."""

from __future__ import annotations

import os
import pickle
import signal

import pytest
import torch
from conftest import make_dataset, new_trainer, tiny_config

from advnets.experiments.callbacks import training_callbacks
from advnets.runs import checkpoint as ckpt
from advnets.runs.logs import read_metrics
from advnets.runs.rundir import RunDir, RunDirError
from advnets.training.callbacks import Callback
from advnets.training.loop import Trainer, TrainingDiverged, TrainingInterrupted


def start(tmp_path, name, *overrides, dataset=None):
    config, dataset = tiny_config(*overrides), dataset or make_dataset()
    return new_trainer(tmp_path / name, config, dataset, training_callbacks(config, dataset))


def resume(tmp_path, name, *overrides):
    config = tiny_config(*overrides)
    run = RunDir(tmp_path / name)
    run.check_resumable(config)
    dataset = make_dataset()
    trainer = Trainer(config, dataset, run, callbacks=training_callbacks(config, dataset))
    trainer.restore(run.checkpoint("last"))
    return trainer


def checkpoint_tensors(trainer: Trainer, name: str = "last") -> dict[str, torch.Tensor]:
    tensors, _ = ckpt.load_checkpoint(trainer.run.checkpoint(name))
    return tensors


def assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), f"{name} differs"


def test_training_writes_a_complete_run_directory(tmp_path):
    trainer = start(tmp_path, "run")
    state = trainer.train()
    run = trainer.run
    assert state.epoch == 2 and state.g_updates == 40
    for path in (
        run.config_file,
        run.info_file,
        run.metrics,
        run.curves,
        run.checkpoint("last"),
        run.checkpoint("best"),
        run.samples / "epoch_0002.png",
        run.samples / "latest.png",
    ):
        assert path.is_file(), path
    records = read_metrics(run.metrics)
    kinds = [r["kind"] for r in records]
    train = next(r for r in records if r["kind"] == "train")
    for key in (
        "d_loss",
        "g_loss",
        "d_real",
        "d_fake",
        "value",
        "lr",
        "momentum",
        "images_per_s",
        "gemm_fraction",
        "step",
        "epoch",
    ):
        assert key in train, key
    machine = next(r for r in records if r["kind"] == "machine")
    assert machine["gemm_gflops"] > 0 and machine["update_mflop_per_image"] > 0
    assert kinds.count("valid_parzen") == 2 and kinds.count("epoch") == 2 and "train" in kinds


def test_interrupted_and_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path):
    straight = start(tmp_path, "straight", "training.max_steps=50")
    straight.train()

    interrupted = start(tmp_path, "interrupted", "training.max_steps=50")
    step_once = interrupted.train_minibatch

    def sigint_then_step(real, *minibatch):
        if interrupted.state.d_updates == 26:  # the signal arrives during update 27, mid-epoch 2
            signal.raise_signal(signal.SIGINT)
        return step_once(real, *minibatch)

    interrupted.train_minibatch = sigint_then_step
    with pytest.raises(TrainingInterrupted, match="--resume"):
        interrupted.train()
    assert interrupted.state.g_updates == 27
    resumed = resume(tmp_path, "interrupted", "training.max_steps=50")
    assert resumed.state.g_updates == 27
    resumed.train()
    assert_identical(checkpoint_tensors(straight), checkpoint_tensors(resumed))
    assert_identical(checkpoint_tensors(straight, "best"), checkpoint_tensors(resumed, "best"))


def test_resume_after_max_steps_continues_exactly(tmp_path):
    straight = start(tmp_path, "straight")
    straight.train()
    first = start(tmp_path, "split", "training.max_steps=13")
    first.train()
    second = resume(tmp_path, "split")
    second.train()
    assert_identical(checkpoint_tensors(straight), checkpoint_tensors(second))


def test_resume_under_another_torch_version_says_so_once(tmp_path, monkeypatch, capsys):
    start(tmp_path, "run", "training.max_steps=5").train()
    capsys.readouterr()
    resume(tmp_path, "run")
    assert "torch" not in capsys.readouterr().err
    monkeypatch.setattr(torch, "__version__", "9.9.9")
    resumed = resume(tmp_path, "run", "training.max_steps=7")
    err = capsys.readouterr().err
    assert err.count("note:") == 1 and "continuing with torch 9.9.9" in err
    resumed.train()
    assert resumed.state.g_updates == 7


def test_resume_with_a_changed_model_or_objective_is_refused(tmp_path):
    start(tmp_path, "run", "training.max_steps=5").train()
    before = (tmp_path / "run" / "config.yaml").read_text()
    with pytest.raises(RunDirError, match=r"training\.lr"):
        resume(tmp_path, "run", "training.lr=0.5")
    with pytest.raises(RunDirError, match=r"not a run directory \(no config\.yaml\)"):
        RunDir(tmp_path / "elsewhere").check_resumable(tiny_config())
    assert (tmp_path / "run" / "config.yaml").read_text() == before


def test_a_new_run_never_overwrites_an_existing_one(tmp_path):
    start(tmp_path, "run", "training.max_steps=5").train()
    with pytest.raises(RunDirError, match="--resume"):
        start(tmp_path, "run")


def test_nan_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    trainer = start(tmp_path, "run", "training.epochs=1")
    trainer.train()
    good = trainer.run.checkpoint("last").read_bytes()
    poisoned = resume(tmp_path, "run", "training.epochs=2")
    poisoned.data.train[:] = float("nan")
    with pytest.raises(TrainingDiverged, match="NaN"):
        poisoned.train()
    assert trainer.run.checkpoint("last").read_bytes() == good


def test_nan_checked_every_few_minibatches_is_caught_before_any_checkpoint(tmp_path):
    # As on a GPU, where the host looks at the statistics only every 100 minibatches: the
    # NaN is caught at the next check, and a checkpoint due before then is not written.
    trainer = start(tmp_path, "run", "training.epochs=1")
    trainer.train()
    good = trainer.run.checkpoint("last").read_bytes()
    poisoned = resume(tmp_path, "run", "training.epochs=2", "training.checkpoint_every_steps=23")
    poisoned.check_every = 50  # more than the 20 minibatches left before the epoch's end
    poisoned.train_data[:] = float("nan")
    with pytest.raises(TrainingDiverged, match="in the 3 minibatches up to step 23"):
        poisoned.train()
    assert trainer.run.checkpoint("last").read_bytes() == good


def test_an_interrupted_checkpoint_write_leaves_the_previous_one_intact(tmp_path, monkeypatch):
    trainer = start(tmp_path, "run", "training.max_steps=5")
    trainer.train()
    good = trainer.run.checkpoint("last").read_bytes()

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        trainer.save("last")
    assert trainer.run.checkpoint("last").read_bytes() == good
    assert [p.name for p in trainer.run.checkpoints.iterdir()] == ["last.safetensors"]
    monkeypatch.undo()
    assert resume(tmp_path, "run", "training.max_steps=5").state.g_updates == 5  # and it is used


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_crafted_to_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "last.safetensors"
    path.write_bytes(pickle.dumps(_Exploit(marker)))
    with pytest.raises(ckpt.CheckpointError, match="never unpickles"):
        ckpt.load_checkpoint(path)
    assert not marker.exists()


def test_alternating_update_takes_k_discriminator_steps_per_generator_step(tmp_path):
    trainer = start(
        tmp_path, "run", "training.update=alternating", "training.k=2", "training.max_steps=7"
    )
    state = trainer.train()
    assert state.g_updates == 7 and state.d_updates == 14


def test_simultaneous_update_applies_each_loss_to_its_own_network(tmp_path):
    """D's update must not depend on G's loss; G's update must."""
    results = {}
    for loss in ("minimax", "non_saturating"):
        trainer = start(tmp_path, loss, f"training.generator_loss={loss}", "training.max_steps=3")
        trainer.train()
        results[loss] = checkpoint_tensors(trainer)
    d_keys = [k for k in results["minimax"] if k.startswith("discriminator.")]
    g_keys = [k for k in results["minimax"] if k.startswith("generator.")]
    a, b = results["minimax"], results["non_saturating"]
    assert all(torch.equal(a[k], b[k]) for k in d_keys)
    assert not all(torch.equal(a[k], b[k]) for k in g_keys)


def test_discriminator_lr_gives_d_its_own_rate_under_the_same_schedule(tmp_path):
    """Two time scales: D starts at training.discriminator_lr, G at training.lr, and the
    paper's decay divides each once per update of its own."""
    trainer = start(tmp_path, "run", "training.discriminator_lr=0.03", "training.max_steps=3")
    trainer.train()
    decay = trainer.config.training.lr_decay
    lr = {role: trainer.current_learning_rate(role) for role in ("d", "g")}
    assert lr["d"] == pytest.approx(0.03 / decay**2) and lr["g"] == pytest.approx(0.1 / decay**2)
    same = start(tmp_path, "same", "training.max_steps=3")
    same.train()
    assert same.current_learning_rate("d") == pytest.approx(lr["g"])
    d_keys = [k for k in checkpoint_tensors(same) if k.startswith("discriminator.")]
    assert not all(torch.equal(checkpoint_tensors(same)[k], checkpoint_tensors(trainer)[k])
                   for k in d_keys)  # fmt: skip


def test_discriminator_lr_is_refused_where_there_is_no_discriminator():
    from advnets.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=r"training\.discriminator_lr belong"):
        load_config("vae-mnist-quick", ["training.discriminator_lr=0.01"])
    with pytest.raises(ConfigError, match="discriminator_lr must be > 0"):
        load_config("mnist-paper", ["training.discriminator_lr=0"])


def test_batch_larger_than_the_data_is_refused(tmp_path):
    from advnets.config import ConfigError

    with pytest.raises(ConfigError, match="larger than the 400 training images"):
        start(tmp_path, "run", "training.batch_size=500")


def test_a_run_killed_during_an_epochs_end_logs_that_epoch_once_after_resuming(tmp_path):
    """With checkpoints every 10 steps (half an epoch), a crash after the epoch's records are
    written but before its checkpoint: the resumed run redoes the epoch end, logged once."""
    trainer = start(tmp_path, "run", "training.checkpoint_every_steps=10")

    class Crash(Callback):
        def epoch_done(self, trainer):
            raise KeyboardInterrupt  # stands for a kill: nothing after this line runs

    trainer.callbacks.insert(-1, Crash())
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    assert [r["epoch"] for r in read_metrics(trainer.run.metrics) if r["kind"] == "epoch"] == [1]
    resumed = resume(tmp_path, "run", "training.checkpoint_every_steps=10")
    resumed.train()
    records = read_metrics(resumed.run.metrics)
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1, 2]
    assert [r["epoch"] for r in records if r["kind"] == "valid_parzen"] == [1, 2]


AVERAGED = (
    "model.generator_batchnorm=true",
    "model.discriminator_minibatch_std=4",
    "training.optimizer=adam",
    "training.lr=0.0002",
    "training.generator_average=0.9",
)


def test_the_weight_average_follows_its_rule_and_resumes_exactly(tmp_path):
    trainer = start(tmp_path, "one", *AVERAGED)
    before = [p.clone() for p in trainer.game.average.generator.parameters()]
    trainer.train_minibatch(trainer.train_data[:20])
    for old, avg, live in zip(
        before,
        trainer.game.average.generator.parameters(),
        trainer.game.generator.parameters(),
        strict=True,
    ):
        assert torch.allclose(avg, 0.9 * old + 0.1 * live, atol=1e-7)

    straight = start(tmp_path, "straight", *AVERAGED)
    straight.train()
    first = start(tmp_path, "split", *AVERAGED, "training.max_steps=13")
    first.train()
    second = resume(tmp_path, "split", *AVERAGED)
    second.train()
    tensors = checkpoint_tensors(straight)
    assert any(name.startswith("generator_average.") for name in tensors)
    assert_identical(tensors, checkpoint_tensors(second))


def test_a_run_with_a_weight_average_samples_from_it(tmp_path):
    from advnets.evaluation.runs import load_generator
    from advnets.sampling import generate

    trainer = start(tmp_path, "run", *AVERAGED)
    trainer.train()
    generator, _, _ = load_generator(trainer.run, "last")
    expected = generate(trainer.game.average.generator, 16, seed=5)
    assert torch.equal(generate(generator, 16, seed=5), expected)
    assert not torch.equal(generate(trainer.game.generator, 16, seed=5), expected)


def test_scoring_during_training_does_not_change_what_training_computes(tmp_path):
    from advnets.data.datasets import Dataset

    blobs = make_dataset()
    as_mnist = Dataset.from_arrays(
        "mnist", *(t.numpy() for t in (blobs.train, blobs.valid, blobs.test)), (28, 28), "x", "y"
    )
    runs = []
    for scored in ("true", "false"):
        trainer = start(
            tmp_path, f"scored-{scored}", f"evaluation.domain_metrics={scored}", dataset=as_mnist
        )
        trainer.train()
        runs.append(checkpoint_tensors(trainer))
    assert_identical(*runs)


def test_every_kth_epoch_is_kept_beside_last_and_best(tmp_path):
    trainer = start(tmp_path, "kept", "training.epochs=5", "training.keep_every_epochs=2")
    trainer.train()
    kept = sorted(p.name for p in trainer.run.checkpoints.glob("epoch_*.safetensors"))
    assert kept == ["epoch_00002.safetensors", "epoch_00004.safetensors"]
    _, meta = ckpt.load_checkpoint(trainer.run.checkpoint("epoch_00002"))
    assert meta["state"]["epoch"] == 2  # the epoch's own state, not a later one's
    assert trainer.run.checkpoint("last").is_file()
    assert ckpt.read_state(trainer.run.checkpoint("last"))["state"]["epoch"] == 5


def test_last_is_written_every_nth_epoch_and_at_the_end(tmp_path, monkeypatch):
    trainer = start(
        tmp_path,
        "sparse",
        "training.epochs=5",
        "training.checkpoint_every_epochs=2",
        "training.keep_every_epochs=3",
    )
    saved, save = [], trainer.save
    monkeypatch.setattr(
        trainer, "save", lambda name: saved.append((trainer.state.epoch, name)) or save(name)
    )
    trainer.train()
    # epochs 2 and 4 by the cadence, 3 to keep a copy, 5 as the last
    assert [epoch for epoch, name in saved if name == "last"] == [2, 3, 4, 5]
    kept = sorted(p.name for p in trainer.run.checkpoints.glob("epoch_*.safetensors"))
    assert kept == ["epoch_00003.safetensors"]
    assert ckpt.read_state(trainer.run.checkpoint("last"))["state"]["epoch"] == 5


def test_the_training_clock_goes_on_from_the_reading_kept_at_the_step_resumed_from(tmp_path):
    from advnets.runs.logs import MetricsLog
    from advnets.training.throughput import TrainingClock

    log = MetricsLog(tmp_path / "metrics.jsonl")
    for step in (10, 20, 30):
        log.write({"kind": "train", "step": step, "train_seconds": 10.0 * step,
                   "train_cpu_seconds": 5.0 * step})  # fmt: skip
    log.write({"kind": "machine", "step": 20})  # a record without a reading
    reading = TrainingClock.continuing(log.truncate_after(25)).reading()
    assert 200 <= reading["train_seconds"] < 201 and 100 <= reading["train_cpu_seconds"] < 101
    assert TrainingClock.continuing([{"kind": "machine", "step": 0}]).reading()["train_seconds"] < 1
