"""The paper's game as the trainer sees it: its phases, its checkpoint tensors."""

from __future__ import annotations

import torch
from conftest import make_dataset, tiny_config

from advnets.games import build_game
from advnets.games.base import Minibatch


def game(*overrides: str, seed: int = 0):
    torch.manual_seed(seed)
    return build_game(tiny_config(*overrides), make_dataset(), torch.device("cpu"))


def test_the_simultaneous_update_is_one_phase_of_both_networks():
    (phase,) = game().phases()
    assert phase.updates == ("d", "g") and phase.logged
    assert phase.due({"d": 7, "g": 7})


def test_algorithm_1_is_a_d_phase_then_a_g_phase_after_every_k_d_updates():
    d_phase, g_phase = game("training.update=alternating", "training.k=3").phases()
    assert (d_phase.updates, g_phase.updates) == (("d",), ("g",))
    assert d_phase.logged and not g_phase.logged
    assert [g_phase.due({"d": d, "g": 0}) for d in range(1, 7)] == [0, 0, 1, 0, 0, 1]


def test_a_phase_steps_only_its_own_network():
    played = game("training.update=alternating")
    d_phase, g_phase = played.phases()
    before = {k: v.clone() for k, v in played.state_tensors()[0].items()}
    batch = Minibatch(make_dataset().train[:20], 20, torch.Generator().manual_seed(1))
    stats = d_phase.run(batch)
    assert stats.shape == (len(played.stat_names),)
    after = played.state_tensors()[0]
    changed = [n for n in after if n not in before or not torch.equal(before[n], after[n])]
    assert all(name.startswith(("discriminator.", "optimizer.d.")) for name in changed)
    assert any(name.startswith("discriminator.") for name in changed)
    assert g_phase.run(batch).shape == (1,)


def test_a_game_continues_from_the_tensors_it_hands_a_checkpoint():
    first = game("training.generator_average=0.9", "training.optimizer=adam")
    batch = Minibatch(make_dataset().train[:20], 20, torch.Generator().manual_seed(1))
    first.phases()[0].run(batch)
    tensors, meta = first.state_tensors()
    second = game("training.generator_average=0.9", "training.optimizer=adam", seed=5)
    second.load_state_tensors(tensors, meta)
    again, again_meta = second.state_tensors()
    assert again.keys() == tensors.keys() and again_meta == meta
    assert all(torch.equal(again[name], tensors[name]) for name in tensors)


def test_column_norm_limits_hold_after_every_update_of_both_networks():
    """Pylearn2's max_col_norm: each unit's incoming weights at most the limit, the limit
    reached where the update pushed past it, nothing else moved but by its 1e-7."""
    limit = 0.3
    played = game("model.max_col_norm=0.3", "training.lr=0.5")
    free = game("training.lr=0.5")
    batch = Minibatch(make_dataset().train[:20], 20, torch.Generator().manual_seed(1))
    for _ in range(3):
        played.phases()[0].run(batch)
        free.phases()[0].run(batch)
    limited, unlimited = played.state_tensors()[0], free.state_tensors()[0]
    names = [n for n in limited if n.endswith("weight") and limited[n].ndim == 2]
    assert any(n.startswith("generator.") for n in names)
    assert any(n.startswith("discriminator.") for n in names)
    for name in names:
        norms = limited[name].norm(dim=1)
        assert float(norms.max()) <= limit * (1 + 1e-6), name
    assert any(float(unlimited[n].norm(dim=1).max()) > limit for n in names)  # it bound
