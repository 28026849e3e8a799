"""The paper's networks: sizes, initialisation, dropout and noise; the model families."""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path

import pytest
import torch
import yaml

from advnets.config import FAMILY_OPTIONS, ModelConfig
from advnets.models import build_models, count_parameters
from advnets.models.latent import UNIFORM_BOUNDS, sample_latent
from advnets.models.layers import Dropout, Maxout
from advnets.models.mlp import logit_of_mean_pixel, minibatch_std
from advnets.models.registry import FAMILIES
from advnets.runs.rundir import RunDir


def test_parameter_counts_match_the_paper_model():
    generator, discriminator = build_models(ModelConfig(), 784)
    assert count_parameters(generator) == 2_503_984
    assert count_parameters(discriminator) == 1_231_441


def test_initialisation_ranges_and_output_bias():
    data = torch.rand(500, 784) * 0.5
    generator, discriminator = build_models(ModelConfig(), 784, logit_of_mean_pixel(data))
    for layer in (generator.hidden[0], generator.hidden[2]):
        assert layer.weight.abs().max() <= 0.05 and layer.weight.abs().max() > 0.045
        assert torch.count_nonzero(layer.bias) == 0
    assert discriminator.output.weight.abs().max() <= 0.005
    mean = data.double().mean(0)
    assert torch.allclose(torch.sigmoid(generator.output.bias.double()), mean, atol=1e-6)


def test_output_bias_is_clipped_for_constant_pixels():
    data = torch.zeros(10, 4)
    data[:, 1] = 1.0
    bias = logit_of_mean_pixel(data)
    assert torch.isfinite(bias).all()
    assert bias[0] < -15 and bias[1] > 15


def test_generator_outputs_probabilities():
    generator, _ = build_models(ModelConfig(), 784)
    x = generator(generator.sample_noise(8))
    assert x.shape == (8, 784) and x.min() >= 0 and x.max() <= 1


def test_uniform_noise_has_unit_variance_and_bounded_support():
    z = sample_latent(200_000, 4, "uniform", torch.Generator().manual_seed(0))
    assert z.abs().max() <= math.sqrt(3)
    assert abs(z.var().item() - 1.0) < 0.01
    g = sample_latent(200_000, 4, "gaussian", torch.Generator().manual_seed(0))
    assert abs(g.var().item() - 1.0) < 0.01 and g.abs().max() > math.sqrt(3)


def test_uniform_priors_fill_their_intervals_and_unknown_priors_are_refused():
    for prior, (low, high) in UNIFORM_BOUNDS.items():
        z = sample_latent(100_000, 2, prior, torch.Generator().manual_seed(0))
        assert low <= z.min() < low + 1e-3 and high - 1e-3 < z.max() <= high
        assert abs(z.mean().item() - (low + high) / 2) < 0.01
    with pytest.raises(ValueError, match="uniform-pm1"):
        sample_latent(1, 1, "laplace")


def test_maxout_takes_max_over_consecutive_pieces():
    layer = Maxout(3, units=2, pieces=3)
    x = torch.randn(5, 3)
    z = layer.linear(x)
    expected = torch.stack([z[:, 0:3].max(1).values, z[:, 3:6].max(1).values], dim=1)
    assert torch.equal(layer(x), expected)


def test_discriminator_dropout_masks_are_independent_per_row_and_off_in_eval():
    _, discriminator = build_models(ModelConfig(), 784)
    x = torch.rand(1, 784).repeat(6, 1)
    torch.manual_seed(0)
    train_out = discriminator(x)
    assert len(set(train_out.tolist())) == 6  # every row drew its own masks
    discriminator.eval()
    eval_out = discriminator(x)
    assert torch.allclose(eval_out, eval_out[0].expand(6))
    assert discriminator.features[0].keep == 0.8 and discriminator.features[2].keep == 0.5


def test_dropout_keeps_the_given_share_and_scales_by_its_inverse():
    dropout = Dropout(0.8)
    x = torch.ones(200_000)
    torch.manual_seed(0)
    y = dropout(x)
    assert set(y.unique().tolist()) == {0.0, 1.25}
    assert abs(float((y > 0).float().mean()) - 0.8) < 0.005  # 5 standard errors
    assert abs(float(y.mean()) - 1.0) < 0.01  # E[y] = x (inverted scaling)
    dropout.eval()
    assert torch.equal(dropout(x), x)


def test_batchnorm_generator_normalises_each_hidden_layer_and_samples_in_eval_mode():
    generator, _ = build_models(ModelConfig(generator_batchnorm=True), 784)
    norms = [m for m in generator.hidden if isinstance(m, torch.nn.BatchNorm1d)]
    linears = [m for m in generator.hidden if isinstance(m, torch.nn.Linear)]
    assert len(norms) == 2 and all(layer.bias is None for layer in linears)
    # 2 x 1200 biases give way to 2 x 1200 scales and 2 x 1200 shifts
    assert count_parameters(generator) == 2_503_984 + 2 * 1200
    h = generator.hidden[:2](generator.sample_noise(500))
    assert h.mean(0).abs().max() < 1e-4 and (h.var(0, unbiased=False) - 1).abs().max() < 1e-2
    generator.eval()  # running statistics: one sample alone is well defined
    x = generator(generator.sample_noise(1))
    assert x.shape == (1, 784) and torch.isfinite(x).all()


def test_minibatch_std_groups_never_mix_real_and_fake_and_see_a_collapse():
    config = ModelConfig(discriminator_minibatch_std=4, discriminator_init_range=0.05)
    _, discriminator = build_models(config, 784)
    assert count_parameters(discriminator) == 1_231_441 + 1  # the output's extra input
    discriminator.eval()  # no dropout: the same input gives the same logit
    real, fake = torch.rand(8, 784), torch.rand(1, 784).repeat(8, 1)
    together = discriminator(torch.cat([real, fake]))
    assert torch.allclose(together, torch.cat([discriminator(real), discriminator(fake)]))
    features = discriminator.features(torch.cat([real, fake]))
    spread = minibatch_std(features, 4)
    assert spread.shape == (16,) and torch.equal(spread[:4], spread[:1].expand(4))
    assert spread[:8].min() > 10 * spread[8:].max()  # the collapsed fakes barely spread


RUN_CONFIGS = Path(__file__).parent / "data" / "run-configs"


@pytest.mark.parametrize("path", sorted(RUN_CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_run_configs_written_before_the_family_registry_load_and_build(tmp_path, path):
    """config.yaml of each preset as run directories stored it before models had a registry:
    it loads, writes back every setting it held unchanged (options added since appear beside
    them with their defaults), and builds."""
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.config_file.write_text(path.read_text())
    config = run.load_config()
    old, new = yaml.safe_load(path.read_text()), yaml.safe_load(config.to_yaml())
    for section, values in old.items():
        if isinstance(values, dict):
            assert {key: new[section][key] for key in values} == values, section
        else:
            assert new[section] == values, section
    dim = 784 if config.data.dataset == "mnist" else 2
    generator, discriminator = build_models(config.model, dim)
    assert isinstance(generator, torch.nn.Module) and isinstance(discriminator, torch.nn.Module)


def test_every_family_in_the_schema_is_registered():
    assert set(typing.get_args(typing.get_type_hints(ModelConfig)["family"])) == set(FAMILIES)


def test_a_family_option_is_in_its_families_sections_alone():
    for name, owners in FAMILY_OPTIONS.items():
        for family_name, entry in FAMILIES.items():
            fields = {field.name for field in dataclasses.fields(entry.settings)}
            assert (name in fields) == (family_name in owners), (name, family_name)


def test_a_family_reads_only_model_settings():
    model_keys = {field.name for field in dataclasses.fields(ModelConfig)}
    for entry in FAMILIES.values():
        assert {field.name for field in dataclasses.fields(entry.settings)} <= model_keys
