"""The paper's optimisation schedules (reference config of Goodfellow et al. 2014).

- Learning rate: 0.1, divided by 1.000004 after every update, floored at 1e-6
  (Pylearn2's ``ExponentialDecay``).
- Not in the paper: Zhu et al. 2017's (CycleGAN's) lr, held for some epochs and then decayed
  linearly towards 0 (``training.lr_constant_epochs``), multiplies the lr above.
- Momentum: ramped linearly from 0.5 at epoch 1 to 0.7 at epoch 250, then held
  (Pylearn2's ``MomentumAdjustor(start=1, saturate=250)``).
"""

from __future__ import annotations


def decayed_learning_rate(initial: float, decay: float, minimum: float, updates: int) -> float:
    """lr after ``updates`` updates: max(initial / decay**updates, minimum)."""
    return max(initial / decay**updates, minimum)


def annealed_learning_rate(
    initial: float,
    decay: float,
    minimum: float,
    updates: int,
    anneal_after: int | None,
    anneal_decay: float,
) -> float:
    """lr after ``updates`` updates: :func:`decayed_learning_rate` up to ``anneal_after``
    updates, then divided by ``anneal_decay`` per update from where it stood (floor
    ``minimum``); ``anneal_after`` None: the plain decay throughout."""
    if anneal_after is None or updates <= anneal_after:
        return decayed_learning_rate(initial, decay, minimum, updates)
    start = decayed_learning_rate(initial, decay, minimum, anneal_after)
    return decayed_learning_rate(start, anneal_decay, minimum, updates - anneal_after)


def linear_decay_factor(epoch: int, constant_epochs: int, epochs: int) -> float:
    """Zhu et al.'s lr multiplier during 1-based ``epoch`` of ``epochs``: 1 for the first
    ``constant_epochs``, then 1 − (epoch − constant) / (epochs − constant + 1), the authors'
    code's linear rule (its last epoch runs at 1 / (N + 1) of the lr, N the decaying epochs)."""
    decaying = max(epochs - constant_epochs, 0)
    return max(1.0 - max(epoch - constant_epochs, 0) / (decaying + 1), 0.0)


def ramped_momentum(start: float, end: float, saturate_epoch: int, epoch: int) -> float:
    """Momentum during 1-based ``epoch``: linear from ``start`` (epoch 1) to ``end`` (saturate)."""
    if saturate_epoch <= 1:
        return end
    alpha = min(max((epoch - 1) / (saturate_epoch - 1), 0.0), 1.0)
    return start + (end - start) * alpha
