"""The conditional adversarial net's networks (Mirza & Osindero 2014): sizes as published,
initialisation, dropout, labels, gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advnets.models import count_parameters
from advnets.models.conditional import ConditionalMaxoutDiscriminator, ConditionalMLPGenerator
from advnets.models.layers import Dropout


def networks(**discriminator):
    torch.manual_seed(0)
    return ConditionalMLPGenerator(), ConditionalMaxoutDiscriminator(**discriminator)


def linear(in_features, out_features):
    return in_features * out_features + out_features


def test_layer_sizes_are_the_published_ones():
    generator, discriminator = networks()
    sizes = [
        (m.in_features, m.out_features) for m in generator.modules() if isinstance(m, nn.Linear)
    ]
    assert sizes == [(100, 200), (10, 1000), (1200, 1200), (1200, 784)]
    maxouts = [discriminator.image, discriminator.label, discriminator.joint]
    assert [(m.linear.in_features, m.units, m.pieces) for m in maxouts] == [
        (784, 240, 5),
        (10, 50, 5),
        (240 + 50, 240, 4),
    ]
    assert (discriminator.output.in_features, discriminator.output.out_features) == (240, 1)
    assert count_parameters(generator) == (
        linear(100, 200) + linear(10, 1000) + linear(1200, 1200) + linear(1200, 784)
    )
    assert count_parameters(discriminator) == (
        linear(784, 240 * 5) + linear(10, 50 * 5) + linear(290, 240 * 4) + linear(240, 1)
    )


def test_initialisation_as_the_reference_config_and_unit_hypercube_noise():
    generator, discriminator = networks()
    for module, bound in ((generator, 0.05), (discriminator, 0.005)):
        for layer in (m for m in module.modules() if isinstance(m, nn.Linear)):
            assert bound * 0.9 < layer.weight.abs().max() <= bound
            assert torch.count_nonzero(layer.bias) == 0
    z = generator.sample_latent(10_000)
    assert z.shape == (10_000, 100) and z.min() >= 0 and z.max() <= 1 and z.min() < 1e-3
    generator.set_output_bias(torch.full((784,), -2.0))
    assert torch.equal(generator.output.bias, torch.full((784,), -2.0))


def test_outputs_and_the_label_conditions_both_networks():
    generator, discriminator = networks()
    generator.eval()
    discriminator.eval()
    z, c = generator.sample_latent(1).expand(10, -1), torch.arange(10)
    x = generator(z, c)
    assert x.shape == (10, 784) and x.min() >= 0 and x.max() <= 1
    assert generator.out_shape == (784,) and generator.num_classes == 10
    assert len({tuple(row.tolist()) for row in x}) == 10  # one z, ten images
    same_x = x[:1].expand(10, -1)
    scores = discriminator(same_x, c)
    assert scores.shape == (10,) and len(set(scores.tolist())) == 10  # one x, ten scores
    assert torch.equal(discriminator(x.view(10, 1, 28, 28), c), discriminator(x, c))
    with pytest.raises(ValueError, match="conditional"):
        generator(z)


def test_dropout_placement_and_keep_probabilities():
    generator, discriminator = networks()
    assert generator.dropout.keep == 0.5
    assert discriminator.input_dropout.keep == 0.8 and discriminator.dropout.keep == 0.5
    assert sum(isinstance(m, Dropout) for m in discriminator.modules()) == 2
    x, c = torch.rand(1, 784).expand(6, -1), torch.full((6,), 3)
    torch.manual_seed(0)
    assert len(set(discriminator(x, c).tolist())) == 6  # every row its own masks
    assert len({tuple(row.tolist()) for row in generator(torch.rand(1, 100).expand(6, -1), c)}) == 6
    discriminator.eval()
    evaluated = discriminator(x, c)
    assert torch.allclose(evaluated, evaluated[:1].expand(6))
    _, without = networks(input_keep=1.0, hidden_keep=1.0)
    trained = without(x, c)  # training mode, but nothing to drop
    without.eval()
    assert torch.equal(trained, without(x, c))


def test_gradients_reach_every_parameter():
    generator, discriminator = networks()
    c = torch.arange(20) % 10
    discriminator(generator(generator.sample_latent(20), c), c).sum().backward()
    for module in (generator, discriminator):
        for name, p in module.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_same_seed_same_networks():
    (g1, d1), (g2, d2) = networks(), networks()
    for a, b in ((g1, g2), (d1, d2)):
        for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            assert torch.equal(x, y), name
