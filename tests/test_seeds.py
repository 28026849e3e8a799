"""Many seeds in one run: each seed as it trains alone, exact resume, refusals."""

from __future__ import annotations

import signal

import pytest
import torch
import yaml
from conftest import make_dataset, tiny_config
from test_cli import TINY

from advnets import limits
from advnets.cli import main
from advnets.experiments.callbacks import training_callbacks
from advnets.runs import checkpoint as ckpt
from advnets.runs.rundir import RunDir
from advnets.training.callbacks import Callback
from advnets.training.loop import Trainer, TrainingInterrupted
from advnets.training.seeds import ManySeeds, parse_seeds, seed_config, seed_run

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
NO_DROPOUT = ("model.discriminator_input_keep=1", "model.discriminator_hidden_keep=1")
WEIGHTS = ("generator.", "discriminator.", "optimizer.")


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def many(tmp_path, name, seeds, *overrides):
    config = tiny_config(*overrides)
    dataset = make_dataset()
    configs = [seed_config(config, seed) for seed in seeds]
    runs = [seed_run(tmp_path / name, seed) for seed in seeds]
    for seeded, run in zip(configs, runs, strict=True):
        run.create(seeded, dataset.sha256, dataset.source)
    return ManySeeds(configs, dataset, runs, lambda c: training_callbacks(c, dataset))


def alone(tmp_path, name, seed, *overrides):
    config = seed_config(tiny_config(*overrides), seed)
    dataset = make_dataset()
    run = RunDir(tmp_path / name)
    run.create(config, dataset.sha256, dataset.source)
    return Trainer(config, dataset, run, callbacks=training_callbacks(config, dataset))


def checkpoint(run: RunDir, name: str = "last"):
    return ckpt.load_checkpoint(run.checkpoint(name))


def test_seed_lists_and_ranges_are_parsed_and_bad_ones_refused():
    assert parse_seeds("0-7") == list(range(8))
    assert parse_seeds("0,3,5") == [0, 3, 5]
    assert parse_seeds("2, 4-5") == [2, 4, 5]
    for text, message in [
        ("", "not a range"),
        ("5-2", "reversed"),
        ("0-100", f"more than {limits.MAX_SEEDS}"),
        ("0-99999999999999999999", f"more than {limits.MAX_SEEDS}"),
        ("1,1", "more than once"),
        ("a", "not a range"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_seeds(text)


@pytest.mark.parametrize(
    "device",
    ["cpu", pytest.param("cuda", marks=needs_cuda)],
)
def test_without_dropout_each_seed_equals_its_run_alone(tmp_path, device):
    """20 updates (one epoch); the batched products may sum in another order than the
    unbatched ones, so weights agree to float precision, not necessarily bit for bit (on
    this project's CPUs they are equal)."""
    seeds = [0, 3, 5]
    settings = (*NO_DROPOUT, "training.max_steps=20", f"training.device={device}")
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 products on a GPU, as by default
    together = many(tmp_path, "together", seeds, *settings)
    together.train()
    worst = 0.0
    for seed, trainer in zip(seeds, together.trainers, strict=True):
        solo = alone(tmp_path, f"alone-{seed}", seed, *settings)
        solo.train()
        tensors, meta = checkpoint(trainer.run)
        solo_tensors, solo_meta = checkpoint(solo.run)
        assert tensors.keys() == solo_tensors.keys()
        assert meta.keys() == solo_meta.keys() and meta["state"] == solo_meta["state"]
        assert meta["config"]["seed"] == seed
        for name, tensor in tensors.items():
            if name.startswith(WEIGHTS):
                assert tensor.shape == solo_tensors[name].shape, name
                worst = max(worst, float((tensor - solo_tensors[name]).abs().max()))
            elif name in ("rng.data", "rng.noise", "data.permutation"):
                assert torch.equal(tensor, solo_tensors[name]), name
    print(f"largest difference from the runs alone: {worst:.2e}")
    assert worst < 1e-5


def test_an_interrupted_and_resumed_many_seed_run_equals_an_uninterrupted_one(tmp_path):
    seeds = [1, 2]
    straight = many(tmp_path, "straight", seeds, "training.max_steps=50")
    straight.train()
    interrupted = many(tmp_path, "interrupted", seeds, "training.max_steps=50")
    step_once = interrupted.update

    def sigint_then_step(real):
        if interrupted.trainers[0].state.d_updates == 26:  # during update 27, mid-epoch 2
            signal.raise_signal(signal.SIGINT)
        return step_once(real)

    interrupted.update = sigint_then_step
    with pytest.raises(TrainingInterrupted, match="--resume"):
        interrupted.train()
    dataset = make_dataset()
    resumed = ManySeeds(
        [t.config for t in interrupted.trainers],
        dataset,
        [t.run for t in interrupted.trainers],
        lambda config: training_callbacks(config, dataset),
    )
    resumed.resume()
    assert [t.state.g_updates for t in resumed.trainers] == [27, 27]
    resumed.train()
    for a, b in zip(straight.trainers, resumed.trainers, strict=True):
        for name in ("last", "best"):
            tensors, _ = checkpoint(a.run, name)
            again, _ = checkpoint(b.run, name)
            assert tensors.keys() == again.keys()
            for key in tensors:
                assert torch.equal(tensors[key], again[key]), f"{name}: {key} differs"


def test_the_command_trains_seed_directories_that_other_commands_read(
    tmp_path, mnist_dir, config_file, capsys
):
    out = tmp_path / "seeds"
    assert main(["train", str(config_file), "--seeds", "0,2", "--out", str(out), "--no-eval"]) == 0
    for seed in (0, 2):
        run = seed_run(out, seed)
        assert run.load_config().seed == seed and run.load_info()["seed"] == seed
        assert run.checkpoint("last").is_file() and run.checkpoint("best").is_file()
    assert main(["evaluate", str(out / "seed-2"), "--json"]) == 0
    # all seeds continue together, then one alone as an ordinary run
    more = ["--set", "training.epochs=3", "--no-eval"]
    assert main(["train", "--resume", "--out", str(out), *more]) == 0
    assert ckpt.read_state(seed_run(out, 2).checkpoint("last"))["state"]["epoch"] == 3
    alone = ["--set", "training.epochs=4", "--no-eval"]
    assert main(["train", "--resume", "--out", str(out / "seed-0"), *alone]) == 0
    assert ckpt.read_state(seed_run(out, 0).checkpoint("last"))["state"]["epoch"] == 4
    # now the seeds stand at different steps: together they are refused
    assert main(["train", "--resume", "--out", str(out), *alone]) == 2
    assert "resume it alone" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options, message",
    [
        (["--seeds", "5-2"], "reversed"),
        (["--seeds", "0-64"], f"more than {limits.MAX_SEEDS}"),
        (["--seeds", ""], "not a range"),
        (["--seeds", "0-1", "--set", "training.optimizer=adam"], "training.optimizer"),
        (["--seeds", "0-1", "--set", "training.update=alternating"], "training.update"),
    ],
)
def test_bad_seeds_and_unsupported_settings_are_refused_in_one_sentence(
    tmp_path, config_file, capsys, options, message
):
    out = tmp_path / "seeds"
    try:
        code = main(["train", str(config_file), "--out", str(out), *options])
    except SystemExit as usage:  # argparse's refusal of an option's value
        code = usage.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_more_copies_than_memory_holds_are_refused(
    tmp_path, mnist_dir, config_file, capsys, monkeypatch
):
    monkeypatch.setattr(limits, "available_memory", lambda: 50_000_000)
    out = tmp_path / "seeds"
    assert main(["train", str(config_file), "--seeds", "0-63", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "64 copies of the model" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_one_seed_with_dropout_equals_its_run_alone_bit_for_bit(tmp_path):
    """One copy draws its dropout masks from the stream the run alone draws them from."""
    together = many(tmp_path, "together", [4], "training.max_steps=20")
    together.train()
    solo = alone(tmp_path, "alone", 4, "training.max_steps=20")
    solo.train()
    tensors, _ = checkpoint(together.trainers[0].run)
    solo_tensors, _ = checkpoint(solo.run)
    for name, tensor in tensors.items():
        assert torch.equal(tensor, solo_tensors[name]), name


class EndAfterFirstEpoch(Callback):
    """Patience running out for one seed: its run ends after epoch 1."""

    def evaluate(self, trainer: Trainer) -> bool:
        trainer.state.finished = trainer.state.epoch == 1
        return False


def test_a_seed_whose_patience_ran_out_stays_as_it_ended_while_the_others_go_on(tmp_path):
    config, dataset = tiny_config("training.epochs=3"), make_dataset()
    seeds = [0, 1]
    configs = [seed_config(config, seed) for seed in seeds]
    runs = [seed_run(tmp_path / "out", seed) for seed in seeds]
    for seeded, run in zip(configs, runs, strict=True):
        run.create(seeded, dataset.sha256, dataset.source)

    def callbacks(seeded):
        return [EndAfterFirstEpoch()] if seeded.seed == 1 else []

    first = ManySeeds(configs, dataset, runs, callbacks)
    first.train()
    assert [t.state.epoch for t in first.trainers] == [3, 1]
    assert ckpt.read_state(runs[1].checkpoint("last"))["state"]["epoch"] == 1
    assert ckpt.read_state(runs[0].checkpoint("last"))["state"]["epoch"] == 3
    # resumed for a 4th epoch: seed 1 stays parked, seed 0 goes on
    longer = [seed_config(tiny_config("training.epochs=4"), seed) for seed in seeds]
    resumed = ManySeeds(longer, dataset, runs, lambda seeded: [])
    resumed.resume()
    assert resumed.active == [resumed.trainers[0]]
    resumed.train()
    assert [t.state.epoch for t in resumed.trainers] == [4, 1]
    assert ckpt.read_state(runs[1].checkpoint("last"))["state"]["epoch"] == 1
    assert ckpt.read_state(runs[0].checkpoint("last"))["state"]["epoch"] == 4


def test_seeds_with_column_norm_limits_equal_their_runs_alone(tmp_path):
    """The limit (model.max_col_norm) applies to the stacked weights as to each run's own."""
    settings = (*NO_DROPOUT, "training.max_steps=20", "model.max_col_norm=0.1")
    together = many(tmp_path, "together", [0, 3], *settings)
    together.train()
    for seed, trainer in zip([0, 3], together.trainers, strict=True):
        solo = alone(tmp_path, f"alone-{seed}", seed, *settings)
        solo.train()
        tensors, solo_tensors = checkpoint(trainer.run)[0], checkpoint(solo.run)[0]
        weights = [n for n in tensors if n.startswith(WEIGHTS[:2]) and n.endswith("weight")]
        norms = torch.cat([tensors[n].norm(dim=1) for n in weights])
        assert float(norms.max()) <= 0.1 + 1e-6 and float(norms.max()) > 0.1 - 1e-5
        for name in weights:
            assert torch.allclose(tensors[name], solo_tensors[name], atol=1e-5), name
