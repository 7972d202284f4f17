"""The ELBO's terms against torch.distributions, and the reduction convention."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

import vaelib


def test_gaussian_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, log_var = torch.randn(16, 7) * 2, torch.randn(16, 7)
    q = Independent(Normal(mu, torch.exp(0.5 * log_var)), 1)
    p = Independent(Normal(torch.zeros(7), torch.ones(7)), 1)
    torch.testing.assert_close(vaelib.gaussian_kl(mu, log_var), kl_divergence(q, p))


def test_kl_per_dim_sums_to_kl_and_is_zero_at_the_prior():
    mu, log_var = torch.randn(4, 5), torch.randn(4, 5)
    torch.testing.assert_close(vaelib.gaussian_kl_per_dim(mu, log_var).sum(-1), vaelib.gaussian_kl(mu, log_var))
    assert torch.all(vaelib.gaussian_kl(torch.zeros(3, 5), torch.zeros(3, 5)) == 0)


@pytest.mark.parametrize("binary", [True, False])
def test_bernoulli_nll_matches_torch_distributions(binary):
    torch.manual_seed(1)
    logits = torch.randn(8, 1, 28, 28) * 5
    x = torch.rand(8, 1, 28, 28)
    if binary:
        x = x.round()
    # validate_args=False: gray-level targets are outside the Bernoulli support but the formula still holds.
    expected = -Bernoulli(logits=logits, validate_args=False).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(vaelib.bernoulli_nll(logits, x), expected)


def test_bernoulli_nll_is_finite_for_extreme_logits():
    logits = torch.tensor([[1e4, -1e4]])
    assert torch.isfinite(vaelib.bernoulli_nll(logits, torch.tensor([[0.0, 1.0]]))).all()


@pytest.mark.parametrize("bad", [255.0, -0.5, float("nan"), float("inf")])
def test_images_outside_the_unit_interval_are_rejected_where_data_enter(bad):
    x = torch.rand(2, 1, 8, 8)
    x[0, 0, 0, 0] = bad
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vaelib.check_images(x)


@pytest.mark.parametrize("logit", [-4.0, -1.0, 0.0, 1e-4, 0.7, 5.0])
def test_continuous_bernoulli_is_a_normalised_density_on_the_unit_interval(logit):
    grid = torch.linspace(0, 1, 2001, dtype=torch.float64)
    logits = torch.full((len(grid), 1), logit, dtype=torch.float64)
    density = torch.exp(-vaelib.continuous_bernoulli_nll(logits, grid.view(-1, 1)))
    assert abs(torch.trapezoid(density, grid).item() - 1) < 1e-4


def test_continuous_bernoulli_is_the_bernoulli_term_plus_its_normaliser():
    logits = torch.tensor([[-2.0, 1.5, 3.0]])
    x = torch.tensor([[0.2, 0.9, 0.5]])
    lam = torch.sigmoid(logits)
    log_normaliser = torch.log(2 * torch.atanh(1 - 2 * lam) / (1 - 2 * lam))  # C(lambda) away from 1/2
    expected = vaelib.bernoulli_nll(logits, x) - log_normaliser.sum(1)
    torch.testing.assert_close(vaelib.continuous_bernoulli_nll(logits, x), expected)


def test_gaussian_nll_matches_torch_distributions():
    torch.manual_seed(2)
    mean, x = torch.rand(5, 1, 28, 20), torch.rand(5, 1, 28, 20)
    log_var = torch.randn(1, 28, 20)
    expected = -Normal(mean, torch.exp(0.5 * log_var)).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(vaelib.gaussian_nll(mean, log_var, x), expected)


def test_elbo_loss_sums_per_image_and_averages_over_the_batch(small_model):
    x = torch.rand(6, 1, 28, 28)
    eps = torch.randn(6, 4)
    logits, mu, log_var = small_model(x, eps)
    terms = vaelib.elbo_loss(logits, mu, log_var, x, beta=0.5)
    recon_per_image = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 6
    kl_per_image = (-0.5 * (1 + log_var - mu**2 - log_var.exp()).sum()) / 6
    torch.testing.assert_close(terms.recon, recon_per_image)
    torch.testing.assert_close(terms.kl, kl_per_image)
    torch.testing.assert_close(terms.loss, recon_per_image + 0.5 * kl_per_image)
    torch.testing.assert_close(terms.elbo, -(recon_per_image + kl_per_image))


def test_gaussian_model_uses_gaussian_likelihood():
    model = vaelib.ConvVAE(1, (28, 20), latent_dim=3, likelihood="gaussian", gaussian_variance="fixed", gaussian_log_var=0.0)
    x = torch.rand(2, 1, 28, 20)
    logits = torch.zeros_like(x)  # mean 0.5 everywhere
    expected = 0.5 * (math.log(2 * math.pi) + (x - 0.5) ** 2).flatten(1).sum(1)
    torch.testing.assert_close(model.reconstruction_nll(logits, x), expected)
    assert "decoder_log_var" not in dict(model.named_parameters())
    learned = vaelib.ConvVAE(1, (28, 20), latent_dim=3, likelihood="gaussian")
    assert "decoder_log_var" in dict(learned.named_parameters())


def test_gaussian_decoder_that_predicts_its_variance_matches_torch_distributions():
    vaelib.seed_everything(0)
    model = vaelib.ConvVAE(1, (28, 20), latent_dim=3, likelihood="gaussian", gaussian_variance="decoder", min_log_var=-8.0)
    x = torch.rand(4, 1, 28, 20)
    output = model.decode(torch.randn(4, 3))
    assert output.shape == (4, 2, 28, 20)  # a mean logit and a log-variance per pixel
    mean, log_var = torch.sigmoid(output[:, :1]), output[:, 1:]
    assert (log_var > -8.0).all()  # above the floor
    expected = -Normal(mean, torch.exp(0.5 * log_var)).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(model.reconstruction_nll(output, x), expected)
    assert model.decode_images(torch.randn(4, 3)).shape == (4, 1, 28, 20)
