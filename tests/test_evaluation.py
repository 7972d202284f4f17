"""Importance-sampled log-likelihood: a bound that tightens with K and converges to the truth."""

import math

import pytest
import torch
from torch import nn
from torch.distributions import MultivariateNormal

import vaelib


class LinearGaussianModel(nn.Module):
    """p(z) = N(0, I), p(x|z) = N(W z + b, s^2 I), so p(x) = N(b, W W^T + s^2 I) is exact.

    Its encoder is deliberately imperfect: the true posterior mean with an inflated variance,
    so the ELBO is strictly below log p(x) and importance sampling has a gap to close.
    """

    def __init__(self, x_dim=5, z_dim=2, noise_std=0.5, variance_inflation=3.0):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.W = torch.randn(x_dim, z_dim, generator=generator)
        self.b = torch.randn(x_dim, generator=generator)
        self.noise_var = noise_std**2
        precision = torch.eye(z_dim) + self.W.T @ self.W / self.noise_var
        self.posterior_cov = torch.linalg.inv(precision)
        self.inflation = variance_inflation

    def encode(self, x):
        mu = (x - self.b) @ self.W @ self.posterior_cov.T / self.noise_var
        log_var = torch.log(self.inflation * torch.diagonal(self.posterior_cov)).expand_as(mu)
        return mu, log_var

    reparameterize = staticmethod(vaelib.ConvVAE.reparameterize)

    def decoder_log_prob(self, x, z):
        mean = z @ self.W.T + self.b
        return -0.5 * ((x - mean) ** 2 / self.noise_var + math.log(2 * math.pi * self.noise_var)).sum(-1)

    def exact_log_prob(self, x):
        cov = self.W @ self.W.T + self.noise_var * torch.eye(len(self.b))
        return MultivariateNormal(self.b, cov).log_prob(x)


@pytest.fixture
def linear_model_and_data():
    model = LinearGaussianModel()
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(200, 2, generator=generator) @ model.W.T + model.b + 0.5 * torch.randn(200, 5, generator=generator)
    return model, x


def elbo_of(model, x, n=2000):
    """Monte Carlo ELBO per point: the mean log-weight."""
    return vaelib.evaluation.log_importance_weights(model, x, n).mean(0)


def test_iwae_converges_to_exact_log_likelihood(linear_model_and_data):
    torch.manual_seed(0)
    model, x = linear_model_and_data
    exact = model.exact_log_prob(x)
    estimate = vaelib.iwae_log_likelihood(model, x, num_samples=5000, chunk_size=700)
    assert abs((estimate - exact).mean()) < 0.01  # no bias left at K = 5000
    assert (estimate - exact).abs().mean() < 0.03  # and little Monte Carlo noise per point
    assert (elbo_of(model, x) - exact).mean() < -0.1  # the ELBO is visibly below: the test has teeth


def test_iwae_is_at_least_the_elbo_and_rises_with_k(linear_model_and_data):
    torch.manual_seed(0)
    model, x = linear_model_and_data
    means = [vaelib.iwae_log_likelihood(model, x, num_samples=k).mean().item() for k in (1, 10, 100, 1000)]
    assert means == sorted(means)
    assert means[1] >= elbo_of(model, x).mean().item()
    assert means[-1] <= model.exact_log_prob(x).mean().item() + 0.01


def test_chunking_does_not_change_the_estimate(linear_model_and_data):
    model, x = linear_model_and_data
    torch.manual_seed(3)
    one_chunk = vaelib.iwae_log_likelihood(model, x, num_samples=600, chunk_size=600)
    torch.manual_seed(3)
    many_chunks = vaelib.iwae_log_likelihood(model, x, num_samples=600, chunk_size=200)
    # Different chunking draws the noise in a different order, so compare the means closely.
    assert abs(one_chunk.mean() - many_chunks.mean()) < 0.01


def test_iwae_on_conv_vae_is_above_elbo(small_model):
    torch.manual_seed(0)
    with torch.no_grad():  # a wide posterior (log_var = 2) leaves a large gap for importance sampling
        small_model.to_posterior.bias[small_model.config.latent_dim :] = 2.0
    x = torch.rand(8, 1, 28, 28).round()
    elbo = vaelib.evaluate_elbo(small_model, x)["elbo"]
    result = vaelib.evaluate_log_likelihood(small_model, x, num_samples=64, batch_size=4, chunk_size=16)
    assert result["log_likelihood"] > elbo
    assert result["nll"] == pytest.approx(-result["log_likelihood"])
    assert result["bits_per_dim"] == pytest.approx(result["nll"] / (784 * math.log(2)))


def test_bits_per_dim_conversion():
    assert vaelib.bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)


def test_bad_sample_counts_raise(linear_model_and_data):
    model, x = linear_model_and_data
    with pytest.raises(ValueError, match="positive"):
        vaelib.iwae_log_likelihood(model, x, num_samples=0)


def test_evaluate_elbo_accepts_uint8_and_matches_float(small_model):
    images = (torch.rand(10, 1, 28, 28) > 0.5).to(torch.uint8) * 255
    torch.manual_seed(0)
    a = vaelib.evaluate_elbo(small_model, images)
    torch.manual_seed(0)
    b = vaelib.evaluate_elbo(small_model, images.float() / 255)
    assert a["elbo"] == pytest.approx(b["elbo"], rel=1e-6)
    assert a["elbo"] == pytest.approx(-(a["recon"] + a["kl"]))
