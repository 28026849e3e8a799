"""Autoencoders, the convolutional autoencoder and the VAE: shapes, losses, the KL term, the
reparameterisation's gradients, a VAE that learns, and the anomaly score."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from advnets.evaluation.anomaly import auroc, reconstruction_scores
from advnets.models.autoencoder import (
    VAE,
    ConvAutoencoder,
    MLPAutoencoder,
    kl_to_standard_normal,
    reconstruction_error,
    reparameterise,
    standard_normal_log_density,
)


def binary_images(n: int, seed: int = 0) -> torch.Tensor:
    return (torch.rand(n, 784, generator=torch.Generator().manual_seed(seed)) < 0.3).float()


@pytest.mark.parametrize("loss", ["bce", "mse"])
@pytest.mark.parametrize(
    "make",
    [
        lambda loss: MLPAutoencoder(hidden=64, code_dim=8, loss=loss),
        lambda loss: ConvAutoencoder(base_channels=4, loss=loss),
        lambda loss: ConvAutoencoder(
            base_channels=4, activation="leaky-relu", upsampling="nearest", loss=loss
        ),
    ],
)
def test_autoencoders_take_flat_or_image_input_and_reconstruct_in_its_shape(make, loss):
    torch.manual_seed(0)
    autoencoder = make(loss)
    x = binary_images(5)
    for shaped in (x, x.view(5, 1, 28, 28)):
        x_hat = autoencoder(shaped)
        assert x_hat.shape == shaped.shape and x_hat.min() >= 0 and x_hat.max() <= 1
        assert autoencoder.encode(shaped).shape == (5, autoencoder.code_dim)
    error = autoencoder.reconstruction_error(x)
    assert error.shape == (5,) and torch.all(error >= 0)
    torch.testing.assert_close(error, autoencoder.reconstruction_error(x.view(5, 1, 28, 28)))


def test_conv_autoencoder_halves_28_to_7_and_upsamples_as_asked():
    for upsampling, kind in (("transposed", nn.ConvTranspose2d), ("nearest", nn.Upsample)):
        autoencoder = ConvAutoencoder(base_channels=4, upsampling=upsampling)
        strided = [m for m in autoencoder.encoder if isinstance(m, nn.Conv2d)]
        assert [m.stride for m in strided] == [(2, 2), (2, 2)]
        assert sum(isinstance(m, kind) for m in autoencoder.decoder.modules()) == 2
        assert not isinstance(autoencoder.decoder[-1], nn.ReLU)  # it ends in logits


def test_reconstruction_errors_are_the_summed_cross_entropy_and_squared_error():
    logits, x = torch.randn(3, 10), torch.rand(3, 10)
    y = torch.sigmoid(logits)
    bce = -(x * y.log() + (1 - x) * (1 - y).log()).sum(1)
    torch.testing.assert_close(reconstruction_error(logits, x, "bce"), bce)
    torch.testing.assert_close(reconstruction_error(logits, x, "mse"), (y - x).square().sum(1))


def test_bad_choices_are_refused_in_one_sentence():
    with pytest.raises(ValueError, match="unknown reconstruction loss"):
        MLPAutoencoder(loss="l1")
    with pytest.raises(ValueError, match="unknown activation"):
        ConvAutoencoder(activation="gelu")
    with pytest.raises(ValueError, match="unknown up-sampling"):
        ConvAutoencoder(upsampling="bilinear")
    with pytest.raises(ValueError, match="square"):
        ConvAutoencoder((1, 28, 32))
    with pytest.raises(ValueError, match="unconditional"):
        VAE()(torch.zeros(2, 20), torch.zeros(2))


def test_vae_is_a_generator_of_the_protocol_with_kingma_wellings_sizes():
    vae = VAE()
    assert (vae.latent_dim, vae.out_shape, vae.num_classes, vae.prior) == (
        20,
        (784,),
        0,
        "gaussian",
    )
    assert vae.encoder[0].out_features == 500 and vae.decoder[0].out_features == 500
    samples = vae.sample(4, torch.Generator().manual_seed(1))
    assert samples.shape == (4, 784) and samples.min() >= 0 and samples.max() <= 1
    torch.testing.assert_close(samples, vae.sample(4, torch.Generator().manual_seed(1)))
    mean, log_variance = vae.encode(binary_images(3).view(3, 1, 28, 28))
    assert mean.shape == log_variance.shape == (3, 20)
    assert vae.decode(torch.zeros(7, 3, 20)).shape == (7, 3, 784)


def test_kl_matches_torch_closed_form_and_a_monte_carlo_estimate():
    torch.manual_seed(0)
    mean, log_variance = torch.randn(4, 3).double(), torch.randn(4, 3).double()
    q = torch.distributions.Normal(mean, (0.5 * log_variance).exp())
    p = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    closed = kl_to_standard_normal(mean, log_variance)
    torch.testing.assert_close(closed, torch.distributions.kl_divergence(q, p).sum(-1))
    z, _ = reparameterise(mean, log_variance, torch.Generator().manual_seed(0), (200_000,))
    log_ratio = q.log_prob(z).sum(-1) - standard_normal_log_density(z)
    estimate, se = log_ratio.mean(0), log_ratio.std(0) / len(z) ** 0.5
    assert torch.all((estimate - closed).abs() < 4 * se), (estimate, closed, se)


def test_elbo_terms_are_in_nats_and_consistent():
    vae, x = VAE(hidden=32, latent_dim=4), binary_images(6)
    elbo = vae.elbo(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(elbo.elbo, elbo.reconstruction - elbo.kl)
    mean, log_variance = vae.encode(x)
    z, _ = reparameterise(mean, log_variance, torch.Generator().manual_seed(0))
    torch.testing.assert_close(elbo.reconstruction, vae.log_likelihood(x, z))
    y = torch.sigmoid(vae.decode(z))
    expected = (x * y.log() + (1 - x) * (1 - y).log()).sum(1)
    torch.testing.assert_close(elbo.reconstruction, expected)
    assert torch.all(elbo.kl >= 0) and torch.all(elbo.elbo <= 0)


def test_reparameterisation_carries_gradients_to_mean_and_sigma():
    torch.manual_seed(0)
    vae = VAE(hidden=32, latent_dim=4, init_std=0.3)
    vae.elbo(binary_images(8)).reconstruction.sum().backward()  # no KL: gradients only via z
    for layer in (vae.mean, vae.log_variance):
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0


def test_a_hundred_steps_raise_the_elbo_on_binary_patterns():
    g = torch.Generator().manual_seed(0)
    prototypes = (torch.rand(4, 64, generator=g) < 0.5).float()
    flips = (torch.rand(512, 64, generator=g) < 0.05).float()
    data = (prototypes[torch.randint(0, 4, (512,), generator=g)] - flips).abs()
    torch.manual_seed(0)
    vae = VAE(data_dim=64, hidden=32, latent_dim=2)
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
    noise = torch.Generator().manual_seed(1)

    def mean_elbo() -> float:
        with torch.no_grad():
            return vae.elbo(data, torch.Generator().manual_seed(2)).elbo.mean().item()

    before = mean_elbo()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: a second thread only waits, on a busy machine long
    try:
        for _ in range(120):
            batch = data[torch.randint(0, 512, (32,), generator=g)]
            optimizer.zero_grad()
            (-vae.elbo(batch, noise).elbo.mean()).backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    after = mean_elbo()
    # 64 fair coins are 44.4 nats; 4 prototypes with 5% flips ~ 1.4 + 64·0.199 ≈ 14 nats
    assert before < -43 and after > -32, (before, after)


def test_auroc_is_the_probability_that_an_anomaly_scores_higher():
    assert auroc(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 1.0
    assert auroc(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 0.0
    assert auroc(np.ones(4), np.ones(3)) == 0.5
    rng = np.random.default_rng(0)
    normal, anomalous = rng.integers(0, 5, 40).astype(float), rng.integers(1, 7, 30).astype(float)
    pairs = (anomalous[:, None] > normal).mean() + 0.5 * (anomalous[:, None] == normal).mean()
    assert auroc(normal, anomalous) == pytest.approx(pairs)
    with pytest.raises(ValueError, match="at least one"):
        auroc(np.array([]), np.ones(2))


def test_reconstruction_scores_are_per_image_errors_in_evaluation_mode():
    autoencoder = ConvAutoencoder(base_channels=4)
    autoencoder.train()
    x = binary_images(7)
    scores = reconstruction_scores(autoencoder, x, batch_size=3)
    assert scores.shape == (7,) and scores.dtype == np.float64 and autoencoder.training
    np.testing.assert_allclose(scores, autoencoder.reconstruction_error(x).detach(), rtol=1e-6)
