"""Remedies for mode collapse: PacGAN's packing, the minibatch standard deviation, unrolled
D steps; their settings, their refusals, and the lab's `toy ring --remedy`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from advnets.cli import main
from advnets.config import REMEDIES, ConfigError, load_config, remedy_overrides
from advnets.data.toy import load_toy, toy_distribution
from advnets.experiments.lab import FINAL_SAMPLES, SNAPSHOT_POINTS, Lab, lab_config
from advnets.figures.toy import save_remedies_figure
from advnets.games import build_game
from advnets.games.base import Minibatch
from advnets.games.losses import discriminator_loss
from advnets.games.remedies import UnrolledDiscriminator, pack

SMALL = ["model.generator_hidden=[16, 16]", "model.discriminator_units=[16, 16]"]


def toy_game(*overrides: str, dataset: str = "ring"):
    config = load_config("toy-ring", [*SMALL, f"data.dataset={dataset}", *overrides])
    torch.manual_seed(0)
    return build_game(config, load_toy(dataset, 200, 200), torch.device("cpu"))


def minibatch(n: int = 12) -> Minibatch:
    return Minibatch(load_toy("ring", 200, 200).train[:n], n, torch.Generator().manual_seed(1))


def test_pack_puts_m_consecutive_samples_side_by_side():
    samples = torch.arange(24.0).view(12, 2)
    packed = pack(samples, 3)
    assert packed.shape == (4, 6)
    assert torch.equal(packed[1], samples[3:6].flatten())  # samples 3, 4, 5 in one pack
    assert pack(samples, 1) is samples
    with pytest.raises(ValueError, match="packs of 5"):
        pack(samples, 5)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_a_packed_d_sees_m_times_d_inputs_in_packs_all_real_or_all_fake(m):
    game = toy_game(f"model.discriminator_pack={m}", "training.batch_size=12")
    assert game.discriminator.hidden[0].in_features == 2 * m
    seen = []
    game.discriminator.register_forward_hook(lambda module, inputs, out: seen.append(inputs[0]))
    batch = minibatch(12)
    fake = torch.full((12, 2), 100.0)  # far from every real point
    real_logits, fake_logits = game._discriminate(batch, fake)
    assert real_logits.shape == fake_logits.shape == (12 // m,)
    (inputs,) = seen
    assert inputs.shape == (24 // m, 2 * m)
    assert torch.equal(inputs[: 12 // m], pack(batch.real, m))  # real packs hold real samples
    assert (inputs[12 // m :] == 100.0).all()  # fake packs hold fakes only
    d_phase, g_phase = game.phases()
    assert torch.isfinite(d_phase.run(batch)).all() and torch.isfinite(g_phase.run(batch)).all()


def test_the_minibatch_std_remedy_gives_the_toy_d_one_more_feature():
    game = toy_game(*remedy_overrides("minibatch-std"), "training.batch_size=12")
    assert game.discriminator.minibatch_std == 4
    assert game.discriminator.output.in_features == 16 + 1
    assert torch.isfinite(game.phases()[0].run(minibatch(12))).all()


def test_unrolling_leaves_d_and_its_optimiser_untouched():
    game = toy_game(*remedy_overrides("unrolled5"))
    d_phase, g_phase = game.phases()
    batch = minibatch(12)
    d_phase.run(batch)  # D's optimiser now has buffers, which the unrolled copy starts from
    d_before = {k: v.clone() for k, v in game.discriminator.state_dict().items()}
    opt = game.optimizers["d"]
    state_before = {k: v.clone() for s in opt.state.values() for k, v in s.items()}
    g_before = [p.clone() for p in game.generator.parameters()]
    g_phase.run(batch)
    assert all(torch.equal(v, d_before[k]) for k, v in game.discriminator.state_dict().items())
    state_after = {k: v for s in opt.state.values() for k, v in s.items()}
    assert all(torch.equal(v, state_before[k]) for k, v in state_after.items())
    unrolled = list(game.unrolled.network.parameters())
    pairs = zip(unrolled, game.discriminator.parameters(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)  # the copy moved 5 D steps away
    pairs = zip(g_before, game.generator.parameters(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)
    assert game.unrolled.optimizer.state[unrolled[0]]["step"] == 1 + 5  # from D's 1, 5 more


def _unrolling_setup(second_order: bool):
    """A small float64 D with an Adam that has taken one step, unrolled 3 steps."""
    torch.manual_seed(0)
    d = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1)).double()

    def build(params):
        return torch.optim.Adam(params, lr=0.05, betas=(0.5, 0.999))

    optimizer = build(list(d.parameters()))
    real = torch.randn(8, 2, dtype=torch.float64)
    discriminator_loss(d(real), d(real + 1)).backward()
    optimizer.step()
    return d, optimizer, real, UnrolledDiscriminator(d, optimizer, build, 3, second_order)


def _g_loss(unrolled, real, fake, keep_graph: bool) -> torch.Tensor:
    """The non-saturating G loss of ``fake`` against D unrolled on ``real`` and ``fake``."""
    used = fake if keep_graph else fake.detach()
    critic = unrolled.advance(lambda net: discriminator_loss(net(real), net(used)))
    return torch.nn.functional.softplus(-critic(fake)).mean()


def test_second_order_unrolling_takes_the_first_order_steps_and_differentiates_through_them():
    d, optimizer, real, first = _unrolling_setup(second_order=False)
    second = _unrolling_setup(second_order=True)[3]
    fake = (torch.randn(8, 2, dtype=torch.float64) * 0.5).requires_grad_()
    before = [w.clone() for w in d.parameters()]
    (g_first,) = torch.autograd.grad(_g_loss(first, real, fake, False), fake)
    (g_second,) = torch.autograd.grad(_g_loss(second, real, fake, True), fake)
    # the same three Adam steps: the unrolled weights agree with the copy's
    weights = second.advance(lambda net: discriminator_loss(net(real), net(fake.detach())))
    probe = torch.randn(5, 2, dtype=torch.float64)
    assert torch.allclose(weights(probe), first.network(probe), rtol=0, atol=1e-12)
    assert all(torch.equal(w, b) for w, b in zip(d.parameters(), before, strict=True))
    assert optimizer.state[next(d.parameters())]["step"] == 1  # D's optimiser untouched
    # the second-order gradient is the whole derivative: central differences agree with it
    direction = torch.randn_like(fake)
    step = 1e-6
    plus = _g_loss(second, real, (fake + step * direction).detach().requires_grad_(), True)
    minus = _g_loss(second, real, (fake - step * direction).detach().requires_grad_(), True)
    numeric = (plus - minus).item() / (2 * step)
    assert (g_second * direction).sum().item() == pytest.approx(numeric, rel=1e-5)
    assert (g_first * direction).sum().item() != pytest.approx(numeric, rel=1e-2)


def test_remedy_names_are_validated():
    assert remedy_overrides("none") == []
    assert set(REMEDIES) == {
        "none",
        "pack2",
        "pack3",
        "pack4",
        "minibatch-std",
        "unrolled5",
        "unrolled5-exact",
        "pack4-std",
    }
    with pytest.raises(ConfigError, match="remedy 'pack5' is not valid; choose one of none"):
        remedy_overrides("pack5")
    assert lab_config("ring", [], "pack3").model.discriminator_pack == 3
    assert lab_config("grid", [], "unrolled5").training.unrolled_steps == 5
    both = lab_config("ring", [], "pack4-std")  # brings its minibatch: every preset takes it
    assert (both.model.discriminator_pack, both.model.discriminator_minibatch_std) == (4, 50)
    assert both.training.batch_size == 200
    with pytest.raises(SystemExit):
        main(["toy", "ring", "--remedy", "unrolled"])


@pytest.mark.parametrize(
    ("preset", "setting", "message"),
    [
        ("dcgan-mnist", "model.discriminator_pack=2", "of the mlp-toy family only, not of dcgan"),
        ("mnist-quick", "model.discriminator_pack=2", "of the mlp-toy family only"),
        ("dcgan-mnist", "model.discriminator_minibatch_std=4", "mlp-maxout and mlp-toy families"),
        ("toy-ring", "model.discriminator_pack=3", "divide into whole packs"),
        ("toy-ring", "training.update=simultaneous", "needs training.update: alternating"),
    ],
)
def test_a_remedy_a_setup_cannot_take_is_refused_before_any_work(preset, setting, message):
    extra = ["training.unrolled_steps=5"] if "simultaneous" in setting else []
    with pytest.raises(ConfigError, match=message):
        load_config(preset, [*extra, setting])


def test_unrolling_is_refused_in_more_than_one_process():
    config = load_config("toy-ring", remedy_overrides("unrolled5"))
    with pytest.raises(ConfigError, match="one process only"):
        build_game(config, load_toy("ring", 200, 200), torch.device("cpu"), world_size=2)


def test_packing_is_refused_by_the_1d_experiments(tmp_path):
    config = lab_config("1d", ["model.discriminator_pack=2"])
    with pytest.raises(ConfigError, match="judge packs of points"):
        Lab(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert main(["toy", "1d", "--remedy", "pack2", "--out", str(tmp_path / "x")]) == 2


def test_the_pacgan_presets_build_pacgans_networks():
    config = load_config("toy-ring-pacgan")
    game = build_game(config, load_toy("ring-pacgan", 200, 200), torch.device("cpu"))
    norms = [m for m in game.generator.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(norms) == 4 and {m.momentum for m in norms} == {0.05}
    assert [layer.linear.out_features for layer in game.discriminator.hidden] == [1000] * 3
    assert game.discriminator.hidden[0].linear.in_features == 2 * 2
    assert load_config("toy-grid-pacgan").data.dataset == "grid"


def test_pack_slots_apart_draws_each_slot_of_the_packs_in_its_own_call():
    """PacGAN's code calls G once per slot of the packs, so G's batch norm normalises each
    slot's samples apart; the rows keep their order, so packs are formed as before."""
    config = load_config("toy-ring-pacgan", ["training.batch_size=8", "data.toy_points=400"])
    game = build_game(config, load_toy("ring-pacgan", 400, 0), torch.device("cpu"))
    noise_rng = torch.Generator().manual_seed(3)
    batch = Minibatch(torch.zeros(8, 2), 8, noise_rng)
    together = load_config("toy-ring-pacgan", ["model.pack_slots_apart=false"])
    assert config.model.pack_slots_apart and not together.model.pack_slots_apart
    with torch.no_grad():
        apart = game._generate(game.generator, batch)
        noise_rng.manual_seed(3)
        z = game.generator.sample_noise(8, noise_rng)
        by_slot = [game.generator(z[0::2]), game.generator(z[1::2])]
        one_call = game.generator(z)
    assert torch.equal(apart[0::2], by_slot[0]) and torch.equal(apart[1::2], by_slot[1])
    assert not torch.allclose(apart, one_call)  # batch statistics over 4 rows, not 8
    gan = ["model.discriminator_pack=1", "training.batch_size=100", "data.toy_points=100000"]
    assert load_config("toy-ring-pacgan", gan).model.pack_slots_apart  # one slot: one call


@pytest.mark.parametrize("preset", ["toy-ring-pacgan", "toy-grid-pacgan"])
def test_the_pacgan_presets_train_as_their_code(preset):
    """Their training algorithm applies both players' gradients from one forward pass, and
    their minibatch is 100 packs and their epoch 100,000 packs, whatever the packing."""
    config = load_config(preset)
    m = config.model.discriminator_pack
    assert config.training.update == "simultaneous" and config.model.pack_slots_apart
    assert config.training.batch_size == 100 * m and config.data.toy_points == 100_000 * m
    assert config.data.toy_points // config.training.batch_size == 1000


def test_toy_ring_with_a_remedy_end_to_end(tmp_path, capsys):
    capsys.readouterr()
    argv = ["toy", "ring", "--remedy", "pack2", "--epochs", "1", "--out", str(tmp_path / "r")]
    assert main([*argv, "--set", "data.toy_points=300", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    expected = {"remedy", "modes", "modes_covered", "high_quality_fraction", "mode_kl"}
    timings = {"train_seconds", "train_cpu_seconds", "threads"}
    assert expected | timings | {"dataset", "by_epoch"} <= set(summary)
    assert summary["remedy"] == "pack2" and summary["modes"] == 8
    assert 0 <= summary["modes_covered"] <= 8
    points = np.load(tmp_path / "r" / FINAL_SAMPLES)  # what the remedies figure draws
    assert points.shape == (SNAPSHOT_POINTS, 2)


def test_the_remedies_figure_draws_a_row_per_remedy(tmp_path):
    centres = toy_distribution("ring").centres
    rng = np.random.default_rng(0)
    runs = [
        {"seed": seed, "points": rng.normal(size=(50, 2)), "mode_counts": [seed] * 8}
        for seed in (0, 1)
    ]
    rows = [
        {"label": "none", "runs": [{**r, "modes_covered": 1} for r in runs]},
        {"label": "pack4", "runs": [{**r, "modes_covered": 8} for r in runs[:1]]},
    ]
    path = save_remedies_figure(tmp_path / "remedies.png", rows, centres, 3.5)
    assert Image.open(path).size[1] > Image.open(path).size[0] / 3  # two rows of panels
