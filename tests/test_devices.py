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


@needs_cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_cuda_trains_what_the_cpu_trains(tmp_path, precision):
    torch.backends.cuda.matmul.allow_tf32 = False
    cpu = train(tmp_path, "cpu", "training.device=cpu")
    gpu = train(tmp_path, "gpu", "training.device=cuda", f"training.precision={precision}")
    assert relative_difference(gpu, cpu) < (1e-3 if precision == "fp32" else 0.3)


def test_auto_precision_is_chosen_by_measurement_and_kept_on_resume(tmp_path, monkeypatch):
    from advnets.runs.logs import read_metrics
    from advnets.training import precision as precision_module

    def rates(fp32: float, bf16: float):
        return lambda device: {"fp32": fp32, "bf16": bf16}

    assert precision_module.resolve_precision("fp32", torch.device("cpu")) == ("fp32", {})
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
