"""Devices and precision: the CPU, a CUDA GPU when there is one, and bf16 autocast."""

from __future__ import annotations

import pytest
import torch
from conftest import make_dataset, tiny_config

from advnets.cli import main
from advnets.config import ConfigError
from advnets.runs.rundir import RunDir
from advnets.training.distributed import resolve_device
from advnets.training.loop import Trainer

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def train(
    tmp_path, name: str, *overrides: str, steps: int = 15
) -> tuple[torch.Tensor, torch.Tensor]:
    """All weights of the tiny paper model, flattened, before and after ``steps`` updates."""
    config = tiny_config(f"training.max_steps={steps}", *overrides)
    dataset = make_dataset()
    run = RunDir(tmp_path / name)
    run.create(config, dataset.sha256, dataset.source)
    trainer = Trainer(config, dataset, run)
    nets = (trainer.game.generator, trainer.game.discriminator)

    def weights() -> torch.Tensor:
        return torch.cat([p.detach().cpu().flatten() for n in nets for p in n.parameters()])

    before = weights()
    trainer.train()
    return before, weights()


def relative_difference(run, reference) -> float:
    """How far two runs from the same start ended apart, relative to how far training moved."""
    (start, end), (reference_start, reference_end) = run, reference
    assert torch.equal(start, reference_start)
    return float((end - reference_end).norm() / (reference_end - reference_start).norm())


def test_auto_is_the_cpu_without_a_gpu_and_cuda_without_one_is_refused():
    if torch.cuda.is_available():
        assert resolve_device("auto").type == "cuda"
    else:
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(ConfigError, match="sees no CUDA GPU"):
            resolve_device("cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without a GPU")
def test_device_cuda_without_a_gpu_is_one_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "toy-ring", "--device", "cuda", "--out", "run"]) == 2
    assert "sees no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_bf16_autocast_updates_close_to_fp32(tmp_path):
    # One update from the same weights, minibatch, noise and dropout masks: bf16's rounding
    # alone separates the two. (Over many updates the runs part chaotically, by an amount
    # that depends on the CPU's kernels: 0.19 relative after 15 updates here, 1.17 on
    # another CPU, so a bound on that would test the CPU, not the code.)
    fp32 = train(tmp_path, "fp32", "training.device=cpu", steps=1)
    bf16 = train(tmp_path, "bf16", "training.device=cpu", "training.precision=bf16", steps=1)
    assert torch.isfinite(bf16[1]).all()
    assert bf16[1].dtype == torch.float32  # weights and updates stay fp32
    assert relative_difference(bf16, fp32) > 0  # bf16 products were used
    step_fp32, step_bf16 = fp32[1] - fp32[0], bf16[1] - bf16[0]
    # the same update up to bf16's rounding: measured cosine 0.97, lengths within 2%
    assert torch.nn.functional.cosine_similarity(step_bf16, step_fp32, dim=0) > 0.9
    assert 0.9 < float(step_bf16.norm() / step_fp32.norm()) < 1.1


def trainer_with_fixed_randomness(tmp_path, name: str, *overrides: str) -> Trainer:
    """A trainer of the tiny paper model whose noise and dropout masks come from CPU streams
    seeded the same in every such trainer, whatever its device: the same z and masks."""
    config = tiny_config(*overrides)
    dataset = make_dataset()
    run = RunDir(tmp_path / name)
    run.create(config, dataset.sha256, dataset.source)
    trainer = Trainer(config, dataset, run)
    noise = torch.Generator().manual_seed(11)
    trainer.game._noise = lambda batch: (
        torch.rand(batch.size, 100, generator=noise).mul(2 * 3**0.5).sub(3**0.5).to(trainer.device)
    )
    return trainer


@pytest.fixture
def cpu_drawn_dropout(monkeypatch):
    """Dropout masks drawn on the CPU from one stream, reset per trainer by calling it."""
    from advnets.models import layers

    masks = torch.Generator()

    def forward(self, x):
        if not self.training or self.keep == 1:
            return x
        keep = torch.rand(x.shape, generator=masks).lt(self.keep).to(x.device, x.dtype)
        return x * keep.mul_(1 / self.keep)

    monkeypatch.setattr(layers.Dropout, "forward", forward)
    return lambda: masks.manual_seed(13)


def weights(trainer: Trainer) -> torch.Tensor:
    nets = (trainer.game.generator, trainer.game.discriminator)
    return torch.cat([p.detach().cpu().flatten() for n in nets for p in n.parameters()])


@needs_cuda
@pytest.mark.parametrize(("precision", "tolerance"), [("fp32", 1e-4), ("bf16", 0.1)])
def test_one_update_on_the_gpu_is_the_cpus(tmp_path, cpu_drawn_dropout, precision, tolerance):
    # The same weights, minibatch, noise and dropout masks: one simultaneous update of the
    # paper's model on the GPU (hyperparameters held on the device, as in training) against
    # the CPU in fp32. TF32 off: fp32 products are fp32 on both.
    torch.backends.cuda.matmul.allow_tf32 = False
    steps, stats = [], []
    for device, p in (("cpu", "fp32"), ("cuda", precision)):
        cpu_drawn_dropout()
        trainer = trainer_with_fixed_randomness(
            tmp_path,
            device,
            f"training.device={device}",
            f"training.precision={p}",
            "training.cuda_graphs=false",
        )
        trainer.prepare()
        before = weights(trainer)
        stats.append(trainer.train_minibatch(trainer.train_data[:20].clone()).cpu())
        steps.append(weights(trainer) - before)
    difference = float((steps[1] - steps[0]).norm() / steps[0].norm())
    print(f"one update, GPU {precision} vs CPU fp32: relative difference {difference:.2e}")
    assert difference < tolerance
    assert torch.allclose(stats[1], stats[0], rtol=tolerance, atol=tolerance)


def gpu_run(tmp_path, name: str, steps: int, *overrides: str, resume_from: str | None = None):
    """All weights after ``steps`` updates of the tiny model on the GPU (graphs unless
    overridden); ``resume_from``: continue that run's directory instead of a new one."""
    config = tiny_config(
        "training.device=cuda", f"training.max_steps={steps}", "training.epochs=10", *overrides
    )
    dataset = make_dataset()
    run = RunDir(tmp_path / (resume_from or name))
    if resume_from is None:
        run.create(config, dataset.sha256, dataset.source)
    trainer = Trainer(config, dataset, run)
    if resume_from is not None:
        trainer.resume()
    trainer.train()
    return weights(trainer)


@needs_cuda
def test_two_gpu_runs_with_the_same_seed_are_bit_identical(tmp_path):
    first, second = gpu_run(tmp_path, "a", 40), gpu_run(tmp_path, "b", 40)
    assert torch.equal(first, second)


@needs_cuda
def test_cuda_graphs_update_as_the_op_by_op_steps_do(tmp_path):
    # 40 updates: 3 op by op, then replays of the captured graph that draw the same noise
    # and masks at the same points of their streams.
    graphed = gpu_run(tmp_path, "graphs", 40)
    eager = gpu_run(tmp_path, "eager", 40, "training.cuda_graphs=false")
    difference = float((graphed - eager).abs().max())
    print(f"40 updates, CUDA graphs vs op by op: largest weight difference {difference:.2e}")
    assert torch.equal(graphed, eager)


@needs_cuda
def test_a_gpu_run_resumed_is_bit_identical_to_an_uninterrupted_one(tmp_path):
    # Stopped at step 30 (mid-epoch: 20 minibatches per epoch) and resumed to 50; the
    # resumed trainer captures its graphs afresh after 3 updates op by op.
    whole = gpu_run(tmp_path, "whole", 50)
    gpu_run(tmp_path, "parts", 30)
    resumed = gpu_run(tmp_path, "unused", 50, resume_from="parts")
    assert torch.equal(resumed, whole)


@needs_cuda
def test_a_gpu_run_continues_on_the_cpu_and_back(tmp_path, capsys):
    # Another kind of device has other random streams: the run goes on with fresh noise and
    # dropout streams (said once on stderr), weights and optimiser state exactly as saved.
    on_gpu = gpu_run(tmp_path, "moved", 30)
    config = tiny_config("training.device=cpu", "training.max_steps=50", "training.epochs=10")
    trainer = Trainer(config, make_dataset(), RunDir(tmp_path / "moved"))
    trainer.resume()
    assert torch.equal(weights(trainer), on_gpu)
    assert "fresh dropout masks and noise" in capsys.readouterr().err
    trainer.train()
    assert trainer.state.g_updates == 50
    assert gpu_run(tmp_path, "unused", 70, resume_from="moved").isfinite().all()


def test_cuda_graphs_fall_back_to_op_by_op_updates_off_the_gpu(tmp_path):
    from advnets.training.graphs import graphs_supported

    assert not graphs_supported(torch.device("cpu"), 1)
    if torch.cuda.is_available():
        assert not graphs_supported(torch.device("cuda"), 2)  # not under DDP
    on = train(tmp_path, "on", "training.device=cpu", "training.cuda_graphs=true")
    off = train(tmp_path, "off", "training.device=cpu", "training.cuda_graphs=false")
    assert torch.equal(on[1], off[1])


def test_auto_precision_is_chosen_by_measurement_and_kept_on_resume(tmp_path, monkeypatch):
    from advnets.runs.logs import read_metrics
    from advnets.training import precision as precision_module

    def rates(fp32: float, bf16: float):
        return lambda device: {"fp32": fp32, "bf16": bf16}

    assert precision_module.resolve_precision("fp32", torch.device("cpu")) == ("fp32", {})
    # a GPU updating op by op keeps fp32, unmeasured (no GPU needed to decide it)
    assert precision_module.resolve_precision("auto", torch.device("cuda")) == ("fp32", {})
    monkeypatch.setattr(precision_module, "measure_precisions", rates(100.0, 150.0))
    assert precision_module.resolve_precision("auto", torch.device("cpu"))[0] == "bf16"
    monkeypatch.setattr(precision_module, "measure_precisions", rates(100.0, 110.0))
    assert precision_module.resolve_precision("auto", torch.device("cpu"))[0] == "fp32"

    monkeypatch.setattr(precision_module, "measure_precisions", rates(100.0, 300.0))
    config = tiny_config("training.precision=auto", "training.epochs=1")
    dataset = make_dataset()
    run = RunDir(tmp_path / "run")
    run.create(config, dataset.sha256, dataset.source)
    trainer = Trainer(config, dataset, run)
    trainer.train()
    machine = next(r for r in read_metrics(run.metrics) if r["kind"] == "machine")
    assert machine["precision"] == "bf16" and machine["gemm_gflops_bf16"] == 300.0
    # Resumed where bf16 would not pay: the run keeps the arithmetic it began with.
    monkeypatch.setattr(precision_module, "measure_precisions", rates(100.0, 50.0))
    resumed = Trainer(tiny_config("training.precision=auto", "training.epochs=2"), dataset, run)
    assert resumed.state.precision == "fp32"
    resumed.resume()
    assert resumed.state.precision == "bf16"
