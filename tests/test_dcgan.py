"""DCGAN's networks and the AC-GAN variants: shapes, layers, initialisation, gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advnets.models import count_parameters
from advnets.models.dcgan import DCGANDiscriminator, DCGANGenerator, start_side

SHAPES = [(1, 28, 28), (3, 28, 28), (1, 32, 32), (3, 32, 32)]
POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d, nn.LPPool2d)


def networks(shape, base=8, classes=0):
    torch.manual_seed(0)
    return (
        DCGANGenerator(shape, latent_dim=20, base_channels=base, num_classes=classes),
        DCGANDiscriminator(shape, base_channels=base, num_classes=classes),
    )


def expected_counts(shape, latent, base, classes):
    """(G, D) parameter counts from the architecture's definition, layer by layer."""
    channels, side, _ = shape
    start, doublings = {28: (7, 2), 32: (4, 3)}[side]
    width = base * 2 ** (doublings - 1)
    cells = width * start * start
    g = (latent + classes) * cells + 2 * cells  # projection (no bias) + its batch norm
    for _ in range(doublings - 1):  # kernel 4x4, no bias; batch norm
        g += width * (width // 2) * 16 + 2 * (width // 2)
        width //= 2
    g += width * channels * 16 + channels  # output layer with bias
    d, width = channels * base * 16 + base, base  # first convolution, with bias
    for _ in range(doublings - 1):
        d += width * 2 * width * 16 + 2 * (2 * width)
        width *= 2
    d += (1 + classes) * (width * start * start + 1)  # real/fake head and class head
    return g, d


def test_start_grid_is_7_for_28_and_4_for_32_and_odd_or_tiny_sides_are_refused():
    assert start_side(28) == (7, 2) and start_side(32) == (4, 3) and start_side(64) == (4, 4)
    with pytest.raises(ValueError, match="even image side"):
        start_side(7)
    with pytest.raises(ValueError, match="square"):
        DCGANGenerator((1, 28, 32))


@pytest.mark.parametrize("shape", SHAPES)
def test_shapes_and_pixel_range_for_28_32_and_1_3_channels(shape):
    generator, discriminator = networks(shape)
    x = generator(generator.sample_latent(6))
    assert x.shape == (6, *shape) and generator.out_shape == shape
    assert x.min() >= 0 and x.max() <= 1
    assert discriminator(x).shape == (6,)
    discriminator.eval()  # batch statistics aside, flat and image input are one input
    assert torch.equal(discriminator(x.flatten(1)), discriminator(x))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("classes", [0, 10])
def test_parameter_counts_follow_the_architecture(shape, classes):
    generator, discriminator = networks(shape, base=16, classes=classes)
    assert (count_parameters(generator), count_parameters(discriminator)) == expected_counts(
        shape, 20, 16, classes
    )


def test_no_pooling_every_resampling_is_kernel_4_stride_2_padding_1():
    for module in networks((3, 32, 32)):
        assert not any(isinstance(m, POOLING) for m in module.modules())
        convolutions = [
            m for m in module.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)
        ]
        assert len(convolutions) == 3
        for m in convolutions:
            assert (m.kernel_size, m.stride, m.padding) == ((4, 4), (2, 2), (1, 1))


def test_batch_norm_on_every_discriminator_layer_but_the_first_and_leaky_relu_0_2():
    _, discriminator = networks((1, 32, 32))
    layers = list(discriminator.features)
    conv_at = [i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)]
    assert isinstance(layers[conv_at[0] + 1], nn.LeakyReLU)  # first: no batch norm
    for i in conv_at[1:]:
        assert isinstance(layers[i + 1], nn.BatchNorm2d)
        assert layers[i].bias is None  # the normalisation's shift replaces it
    relus = [m for m in discriminator.modules() if isinstance(m, nn.LeakyReLU | nn.ReLU)]
    assert len(relus) == len(conv_at)
    assert all(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in relus)


def test_generator_normalises_and_rectifies_every_layer_but_the_sigmoid_output():
    generator, _ = networks((1, 32, 32))
    layers = [*generator.project, *generator.upsample]
    weighted = [i for i, m in enumerate(layers) if isinstance(m, nn.Linear | nn.ConvTranspose2d)]
    for i in weighted[:-1]:
        assert isinstance(layers[i + 1], nn.BatchNorm1d | nn.BatchNorm2d)
        assert isinstance(layers[i + 2], nn.ReLU) and layers[i].bias is None
    assert isinstance(layers[-1], nn.Sigmoid) and weighted[-1] == len(layers) - 2


def test_initialisation_normal_0_02_on_every_weight_and_1_0_02_on_batch_norm_scales():
    generator, discriminator = networks((3, 32, 32), base=32, classes=10)
    modules = [*generator.modules(), *discriminator.modules()]
    kinds = nn.Linear | nn.Conv2d | nn.ConvTranspose2d
    weights = torch.cat([m.weight.flatten() for m in modules if isinstance(m, kinds)])
    scales = torch.cat(
        [m.weight for m in modules if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]
    )
    assert len(weights) > 100_000 and len(scales) > 1_000
    assert abs(weights.mean()) < 1e-3 and abs(weights.std() / 0.02 - 1) < 0.02
    assert abs(scales.mean() - 1) < 2e-3 and abs(scales.std() / 0.02 - 1) < 0.1
    for m in modules:  # each layer, not only the whole, is drawn at 0.02
        if isinstance(m, kinds) and m.weight.numel() >= 500:
            assert abs(m.weight.std() / 0.02 - 1) < 0.2
    biases = [m.bias for m in modules if getattr(m, "bias", None) is not None]
    assert all(torch.count_nonzero(b) == 0 for b in biases)


@pytest.mark.parametrize("classes", [0, 10])
def test_gradients_reach_every_parameter(classes):
    generator, discriminator = networks((1, 28, 28), classes=classes)
    c = torch.arange(8) % 10 if classes else None
    out = discriminator(generator(generator.sample_latent(8), c))
    logit, class_logits = out if classes else (out, None)
    loss = logit.sum()
    if classes:
        loss = loss + nn.functional.cross_entropy(class_logits, c)
    loss.backward()
    for module in (generator, discriminator):
        for name, p in module.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_same_seed_same_networks_and_samples():
    (g1, d1), (g2, d2) = networks((1, 28, 28)), networks((1, 28, 28))
    for a, b in ((g1, g2), (d1, d2)):
        for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            assert torch.equal(x, y), name
    z1 = g1.sample_latent(4, torch.Generator().manual_seed(3))
    z2 = g2.sample_latent(4, torch.Generator().manual_seed(3))
    assert torch.equal(g1(z1), g2(z2))
    assert g1.prior == "uniform-pm1" and z1.abs().max() <= 1


def test_acgan_generator_takes_labels_and_discriminator_returns_class_logits():
    generator, discriminator = networks((1, 28, 28), classes=10)
    generator.eval()
    z = generator.sample_latent(1).expand(10, -1)  # one z, every class
    x = generator(z, torch.arange(10))
    assert not torch.equal(x[0], x[1])  # the label changes the image
    logit, class_logits = discriminator(x)
    assert logit.shape == (10,) and class_logits.shape == (10, 10)
    with pytest.raises(ValueError, match="conditional"):
        generator(z)
    unconditional, _ = networks((1, 28, 28))
    with pytest.raises(ValueError, match="unconditional"):
        unconditional(z, torch.arange(10))


def test_the_dcgan_family_trains_and_its_runs_are_read_like_any_other(tmp_path):
    from conftest import make_dataset, tiny_config

    from advnets.evaluation.runs import load_generator
    from advnets.models.dcgan import FlatImageGenerator
    from advnets.runs.rundir import RunDir
    from advnets.sampling import generate
    from advnets.training.loop import Trainer

    config = tiny_config(
        "model.family=dcgan",
        "model.noise=uniform-pm1",
        "model.base_channels=4",
        "training.optimizer=adam",
        "training.lr=0.0002",
        "training.max_steps=6",
    )
    dataset = make_dataset()
    run = RunDir(tmp_path / "run")
    run.create(config, dataset.sha256, dataset.source)
    trainer = Trainer(config, dataset, run)
    assert isinstance(trainer.game.generator, FlatImageGenerator)
    assert trainer.game._separate_halves  # D's batch norm sees real and fake apart
    before = [p.detach().clone() for p in trainer.game.discriminator.parameters()]
    trainer.train()
    after = list(trainer.game.discriminator.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    generator, _, meta = load_generator(run, "last")
    assert meta["data_dim"] == 784
    samples = generate(generator, 10, seed=0)
    assert samples.shape == (10, 784) and samples.min() >= 0 and samples.max() <= 1


def test_the_dcgan_family_refuses_images_it_cannot_shape():
    from advnets.config import ConfigError, load_config
    from advnets.models import build_models

    config = load_config("dcgan-mnist", ["model.base_channels=4"])
    with pytest.raises(ConfigError, match="this data has 100"):
        build_models(config.model, 100)


def test_multiply_adds_of_convolutions_count_each_kernel_window():
    from advnets.games.gan import layer_macs

    conv = nn.Conv2d(3, 8, 4, stride=2, padding=1)  # 32x32 -> 16x16: 8*16*16 outputs
    assert layer_macs(conv, torch.zeros(2, 3, 32, 32)) == [8 * 16 * 16 * 3 * 4 * 4]
    transposed = nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1)  # 8*16*16 inputs
    assert layer_macs(transposed, torch.zeros(2, 8, 16, 16)) == [8 * 16 * 16 * 3 * 4 * 4]


@pytest.mark.parametrize("classes", [0, 10])
def test_the_authors_fully_connected_layers_sit_between_z_and_the_projection_and_before_d_output(
    classes,
):
    torch.manual_seed(0)
    generator = DCGANGenerator((1, 28, 28), 20, 8, num_classes=classes, hidden=64)
    discriminator = DCGANDiscriminator((1, 28, 28), 8, classes, hidden=64)
    plain_g, plain_d = networks((1, 28, 28), base=8, classes=classes)
    g_extra = (20 + classes) * 64 + 2 * 64 + 64 * 16 * 49 - (20 + classes) * 16 * 49
    d_extra = 16 * 49 * 64 + 2 * 64 + (1 + classes) * (64 - 16 * 49)
    assert count_parameters(generator) == count_parameters(plain_g) + g_extra
    assert count_parameters(discriminator) == count_parameters(plain_d) + d_extra
    first = generator.project[:3]
    assert isinstance(first[0], nn.Linear) and first[0].out_features == 64
    assert isinstance(first[1], nn.BatchNorm1d) and isinstance(first[2], nn.ReLU)
    top = discriminator.features[-3:]
    assert isinstance(top[0], nn.Linear) and isinstance(top[2], nn.LeakyReLU)
    labels = torch.arange(5) % 10 if classes else None
    x = generator(generator.sample_latent(5), labels)
    output = discriminator(x)
    assert (output[0] if classes else output).shape == (5,)
