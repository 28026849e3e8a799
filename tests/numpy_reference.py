"""One update of the paper's reference code, transcribed into NumPy (float64, no autograd).

The reference is the public code of Goodfellow et al. 2014, the ``adversarial``
repository (``mnist.yaml``; ``AdversaryPair``, ``Generator`` and ``AdversaryCost2``
in ``__init__.py``), and the Pylearn2 classes that configuration names: ``MLP``
with ``RectifiedLinear``, ``Sigmoid`` and ``Maxout`` layers, ``SGD`` with the
``Momentum`` learning rule, the ``ExponentialDecay`` update callback and the
``MomentumAdjustor`` extension. Everything below is written from those sources'
semantics with hand-written backpropagation, so that it checks our trainer
instead of restating it.

Layout follows Pylearn2: a layer computes ``state_below @ W + b`` with ``W`` of
shape (inputs, outputs). Parameters are named ``"G.h0.W"``, ..., ``"D.y.b"`` after
the layer names of ``mnist.yaml`` (h0, h1, y in both networks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Params = dict[str, np.ndarray]
LAYERS = ("h0", "h1", "y")  # the layer names of both MLPs in mnist.yaml


def sigmoid(a: np.ndarray) -> np.ndarray:
    """σ(a) = 1 / (1 + exp(−a)), written with tanh to stay finite for any a."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def softplus(a: np.ndarray) -> np.ndarray:
    """softplus(a) = log(1 + exp(a))."""
    return np.logaddexp(0.0, a)


@dataclass(frozen=True)
class DiscriminatorDropout:
    """``AdversaryCost2``'s dropout of D as ``mnist.yaml`` sets it, one value per D layer
    (h0, h1, y), each applied to that layer's *input*: kept with ``include_probs`` and
    multiplied by ``scales`` (``MLP.dropout_fprop``, ``MLP.apply_dropout``)."""

    include_probs: tuple[float, float, float] = (0.8, 0.5, 0.5)
    scales: tuple[float, float, float] = (1.25, 2.0, 2.0)
    pieces: int = 5  # Maxout num_pieces of h0 and h1


@dataclass
class DiscriminatorPass:
    """What one dropped-out pass of D keeps for its backward pass."""

    inputs: list[np.ndarray]  # each layer's input after dropout
    masks: list[np.ndarray]  # each layer's input mask times its scale
    pre_maxout: list[np.ndarray]  # z = input @ W + b of h0 and h1
    logit: np.ndarray  # (m,) the Sigmoid layer's pre-activation


def discriminator_forward(
    params: Params, x: np.ndarray, uniforms: list[np.ndarray], dropout: DiscriminatorDropout
) -> DiscriminatorPass:
    """``MLP.dropout_fprop`` of D on x: before each layer, state ← state · mask · scale with
    mask = [u < include_prob] (``MRG_RandomStreams.binomial``, one mask per example);
    h0, h1: maxout over consecutive groups of ``pieces`` (``Maxout.fprop``); y: the logit."""
    inputs, masks, pre_maxout = [], [], []
    state = x
    for index, name in enumerate(LAYERS):
        mask = (uniforms[index] < dropout.include_probs[index]) * dropout.scales[index]
        state = state * mask
        inputs.append(state)
        masks.append(mask)
        z = state @ params[f"D.{name}.W"] + params[f"D.{name}.b"]
        if name != "y":
            pre_maxout.append(z)
            state = z.reshape(len(z), -1, dropout.pieces).max(axis=2)
    return DiscriminatorPass(inputs, masks, pre_maxout, z[:, 0])


def discriminator_backward(
    params: Params, saved: DiscriminatorPass, d_logit: np.ndarray, pieces: int
) -> tuple[Params, np.ndarray]:
    """Gradients of a scalar objective with respect to D's parameters and to x, given
    ∂objective/∂logit. A maxout unit passes its gradient to its maximal piece (exact
    ties, which continuous values do not produce, aside)."""
    grads: Params = {}
    d_state = d_logit[:, None]
    for index in (2, 1, 0):
        name = LAYERS[index]
        if name != "y":
            z = saved.pre_maxout[index].reshape(len(d_state), -1, pieces)
            is_max = z.argmax(axis=2)[:, :, None] == np.arange(pieces)
            d_state = (is_max * d_state[:, :, None]).reshape(len(d_state), -1)
        grads[f"D.{name}.W"] = saved.inputs[index].T @ d_state
        grads[f"D.{name}.b"] = d_state.sum(axis=0)
        d_state = (d_state @ params[f"D.{name}.W"].T) * saved.masks[index]
    return grads, d_state


def generator_forward(params: Params, z: np.ndarray) -> list[np.ndarray]:
    """G's ``MLP.fprop`` (no dropout: ``generator_default_input_include_prob`` = 1):
    h0 = relu(z W + b), h1 = relu(h0 W + b), S = sigmoid(h1 W + b).
    Returns [z, h0, h1, S]."""
    states = [z]
    for name in LAYERS:
        a = states[-1] @ params[f"G.{name}.W"] + params[f"G.{name}.b"]
        states.append(sigmoid(a) if name == "y" else np.where(a > 0.0, a, 0.0))
    return states


def generator_backward(params: Params, states: list[np.ndarray], d_samples: np.ndarray) -> Params:
    """Gradients with respect to G's parameters given ∂objective/∂S:
    sigmoid' = S(1 − S); ``RectifiedLinear``'s switch(a > 0, a, 0)' = [a > 0]."""
    grads: Params = {}
    d_state = d_samples * states[3] * (1.0 - states[3])
    for index in (2, 1, 0):
        name = LAYERS[index]
        grads[f"G.{name}.W"] = states[index].T @ d_state
        grads[f"G.{name}.b"] = d_state.sum(axis=0)
        if index:
            d_state = (d_state @ params[f"G.{name}.W"].T) * (states[index] > 0.0)
    return grads


@dataclass
class Objectives:
    """``AdversaryCost2``'s two objectives on one minibatch and their gradients."""

    d_obj: float  # ½ [mean softplus(−a(x)) + mean softplus(a(G(z)))]
    g_obj: float  # mean softplus(−a(G(z))), i.e. −mean log D(G(z))
    grads: Params  # ∂d_obj/∂θ_D and ∂g_obj/∂θ_G


def adversary_cost2(
    params: Params,
    x: np.ndarray,
    z: np.ndarray,
    uniforms_real: list[np.ndarray],
    uniforms_fake: list[np.ndarray],
    dropout: DiscriminatorDropout,
) -> Objectives:
    """``AdversaryCost2.get_samples_and_objectives`` and ``get_gradients``: S = G(z) once;
    D's dropped-out passes on X and on S, each with its own masks; with ``Sigmoid.cost``
    (targets y, the mean over the batch of y·softplus(−a) + (1 − y)·softplus(a)):

        d_obj = ½ [cost(1, a(X)) + cost(0, a(S))],   g_obj = cost(1, a(S)),

    g_obj taken through the *same* dropped-out pass of S; D's gradient is that of
    d_obj, G's that of g_obj, both at the same parameters."""
    m = len(x)
    states = generator_forward(params, z)
    real = discriminator_forward(params, x, uniforms_real, dropout)
    fake = discriminator_forward(params, states[-1], uniforms_fake, dropout)
    d_obj = 0.5 * (softplus(-real.logit).mean() + softplus(fake.logit).mean())
    g_obj = softplus(-fake.logit).mean()
    # ∂softplus(−a)/∂a = σ(a) − 1 and ∂softplus(a)/∂a = σ(a), each over the batch mean
    d_real, _ = discriminator_backward(
        params, real, 0.5 * (sigmoid(real.logit) - 1.0) / m, dropout.pieces
    )
    d_fake, _ = discriminator_backward(params, fake, 0.5 * sigmoid(fake.logit) / m, dropout.pieces)
    _, d_samples = discriminator_backward(
        params, fake, (sigmoid(fake.logit) - 1.0) / m, dropout.pieces
    )
    grads = {name: d_real[name] + d_fake[name] for name in d_real}
    grads.update(generator_backward(params, states, d_samples))
    return Objectives(float(d_obj), float(g_obj), grads)


@dataclass
class ReferenceSGD:
    """Pylearn2's ``SGD`` as ``mnist.yaml`` configures it: the ``Momentum`` learning rule,
    the ``ExponentialDecay`` update callback and the ``MomentumAdjustor`` extension."""

    learning_rate: float = 0.1
    decay_factor: float = 1.000004
    min_lr: float = 1e-6
    init_momentum: float = 0.5
    final_momentum: float = 0.7
    start: int = 1
    saturate: int = 250
    updates: int = 0  # SGD steps taken: ExponentialDecay's _count
    velocities: Params = field(default_factory=dict)
    increments: Params = field(default_factory=dict)  # what the last step added to each param

    def current_learning_rate(self) -> float:
        """``ExponentialDecay.__call__`` runs *after* each step and sets
        lr = base / decay_factor**count (floored at min_lr), so step n + 1 uses
        base / decay_factor**n: the first step uses the base rate."""
        return max(self.learning_rate / self.decay_factor**self.updates, self.min_lr)

    def current_momentum(self, epoch: int) -> float:
        """``MomentumAdjustor.current_momentum``. Its ``on_monitor`` runs once before
        training and after every epoch, so 1-based ``epoch`` trains with _count = epoch:
        μ = init·(1 − α) + final·α, α = clip((epoch − start) / (saturate − start), 0, 1)."""
        alpha = min(max((epoch - self.start) / (self.saturate - self.start), 0.0), 1.0)
        return self.init_momentum * (1.0 - alpha) + alpha * self.final_momentum

    def increment(
        self, velocity: np.ndarray, grad: np.ndarray, lr: float, momentum: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """``Momentum.get_updates`` (nesterov_momentum False): vel ← μ·vel − lr·grad;
        param ← param + vel. Returns (new velocity, increment added to the parameter)."""
        velocity = momentum * velocity - lr * grad
        return velocity, velocity

    def step(self, params: Params, grads: Params, epoch: int) -> Params:
        """One SGD update of every parameter during 1-based ``epoch``; returns new params."""
        lr, momentum = self.current_learning_rate(), self.current_momentum(epoch)
        updated = {}
        for name, param in params.items():
            velocity = self.velocities.get(name, np.zeros_like(param))
            self.velocities[name], self.increments[name] = self.increment(
                velocity, grads[name], lr, momentum
            )
            updated[name] = param + self.increments[name]
        self.updates += 1
        return updated
