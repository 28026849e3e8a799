"""Optimisers: the paper's classical-momentum SGD, and Adam as an option."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from advnets.config import TrainingConfig


class ClassicalMomentumSGD(torch.optim.Optimizer):
    """SGD with classical momentum, as in Pylearn2 (the paper's reference code).

        v <- mu * v - lr * g
        theta <- theta + v

    This differs from ``torch.optim.SGD`` (v <- mu v + g; theta <- theta - lr v)
    whenever the learning rate changes, which the paper's schedule does on every
    update, so it is implemented here exactly.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            velocities = []
            for p in params:
                state = self.state[p]
                if "velocity" not in state:
                    state["velocity"] = torch.zeros_like(p)
                velocities.append(state["velocity"])
            grads = [p.grad for p in params]
            lr, momentum = group["lr"], group["momentum"]
            torch._foreach_mul_(velocities, momentum)
            if torch.is_tensor(lr):  # a device tensor (see hyperparameters_on_device)
                torch._foreach_sub_(velocities, torch._foreach_mul(grads, lr))
            else:
                torch._foreach_add_(velocities, grads, alpha=-lr)
            torch._foreach_add_(params, velocities)
        return None


class RootEpsilonAdam(torch.optim.Optimizer):
    """Adam as Salimans et al. 2016's code steps it (improved-gan, nn.py ``adam_updates``):

        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g²,
        theta <- theta - lr m^ / sqrt(v^ + 1e-8),   m^ = m / (1 - b1^t), v^ = v / (1 - b2^t),

    the epsilon inside the square root where ``torch.optim.Adam`` adds it outside
    (sqrt(v^) + 1e-8): a coordinate whose gradients stay below about 1e-4 moves by less than
    lr per step (by 0.1 lr at 1e-5), where torch's Adam moves it by about lr."""

    def __init__(
        self, params: Iterable[torch.Tensor], lr: float, betas: list[float], eps: float = 1e-8
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": (betas[0], betas[1]), "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            (b1, b2), lr, eps = group["betas"], group["lr"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:  # the step count on the device, for CUDA graphs
                    state["step"] = torch.zeros((), device=p.device)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                t.add_(1)
                m.lerp_(p.grad, 1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                root = (v / (1 - b2**t)).add_(eps).sqrt_()
                p.sub_((m / (1 - b1**t)).div_(root).mul_(lr))
        return None


HYPERPARAMETERS = ("lr", "momentum")  # what the schedules change during training


def hyperparameters_on_device(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """Hold the scheduled hyperparameters of every group in tensors on ``device``.

    A CUDA graph replays the arithmetic it captured, numbers included: a learning rate
    given as a Python float would stay the value it had at capture. As device tensors the
    schedules update them in place (:func:`set_hyperparameters`) and every replay reads the
    current value. The eager steps use the same tensors, so they compute what replays do.
    """
    for group in optimizer.param_groups:
        for key in HYPERPARAMETERS:
            if key in group and not torch.is_tensor(group[key]):
                group[key] = torch.tensor(float(group[key]), device=device)


def set_hyperparameters(
    optimizer: torch.optim.Optimizer, lr: float, momentum: float | None
) -> None:
    """Set the learning rate (and, for momentum SGD, the momentum) of every group; held in
    device tensors, in place, without waiting for the device."""
    for group in optimizer.param_groups:
        for key, value in (("lr", lr), ("momentum", momentum)):
            if value is None or key not in group:
                continue
            if torch.is_tensor(group[key]):
                group[key].fill_(value)
            else:
                group[key] = value


def hyperparameter(group: dict, key: str) -> float:
    """A group's hyperparameter as a number (NaN where it has none); waits for the device
    where it is held there."""
    return float(group[key]) if key in group else float("nan")


def adam(params: list[torch.Tensor], lr: float, betas: list[float]) -> torch.optim.Optimizer:
    """Adam (Kingma & Ba 2015) with its fused kernel where this PyTorch has one for the
    parameters' device: on a CPU, its step costs about a quarter of the per-tensor loop's,
    which for the paper's 3.7M parameters is a large share of an update. On a GPU it keeps
    its step count on the device (``capturable``), so that a CUDA graph can replay it."""
    on_gpu = bool(params) and params[0].is_cuda
    options = {"lr": lr, "betas": (betas[0], betas[1]), "capturable": on_gpu}
    try:
        return torch.optim.Adam(params, fused=True, **options)
    except RuntimeError:  # no fused kernel for this device in this PyTorch
        return torch.optim.Adam(params, **options)


def build_optimizer(
    training: TrainingConfig, params: Iterable[torch.Tensor]
) -> torch.optim.Optimizer:
    """The optimiser a training config names for ``params``: 'sgd' (classical momentum, at
    its starting momentum) or 'adam', at the initial learning rate."""
    if training.optimizer == "sgd":
        return ClassicalMomentumSGD(params, lr=training.lr, momentum=training.momentum_start)
    if training.optimizer == "adam":
        return adam(list(params), training.lr, training.adam_betas)
    raise ValueError(f"unknown optimizer {training.optimizer!r}; choose 'sgd' or 'adam'.")


def weight_matrices(named: Iterable[tuple[str, torch.Tensor]]) -> list[torch.Tensor]:
    """The weight matrices among ``named`` parameters (a module's ``named_parameters()``, or
    stacked copies' names and tensors): rows are units or maxout pieces, the last axis their
    inputs; biases and batch-norm scales are left out."""
    return [p for name, p in named if name.endswith("weight") and p.ndim >= 2]


@torch.no_grad()
def limit_column_norms_(weights: Iterable[torch.Tensor], max_norm: float) -> None:
    """Pylearn2's ``max_col_norm`` constraint, applied in place after an update: each unit's
    incoming weight vector w (a row here, a column of Pylearn2's W; a stacked weight's last
    axis) becomes w · min(‖w‖, c) / (1e-7 + ‖w‖), the 1e-7 included as Pylearn2 has it."""
    for weight in weights:
        norms = torch.linalg.vector_norm(weight, dim=-1, keepdim=True)
        weight.mul_(norms.clamp(max=max_norm) / (norms + 1e-7))


def limit_column_norms_after_steps(
    optimizer: torch.optim.Optimizer, weights: list[torch.Tensor], max_norm: float
) -> None:
    """Apply :func:`limit_column_norms_` to ``weights`` after every step of ``optimizer``."""
    optimizer.register_step_post_hook(lambda *_: limit_column_norms_(weights, max_norm))
