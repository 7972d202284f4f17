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


@pytest.mark.parametrize("bad", [255.0, -0.5, float("nan")])
def test_bernoulli_term_rejects_targets_outside_unit_interval(bad):
    x = torch.rand(2, 1, 8, 8)
    x[0, 0, 0, 0] = bad
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vaelib.bernoulli_nll(torch.zeros_like(x), x)


def test_gaussian_nll_matches_torch_distributions():
    torch.manual_seed(2)
    mean, x = torch.rand(5, 1, 28, 20), torch.rand(5, 1, 28, 20)
    log_var = torch.randn(1, 28, 20)
    expected = -Normal(mean, torch.exp(0.5 * log_var)).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(vaelib.gaussian_nll(mean, log_var, x), expected)


def test_elbo_loss_sums_per_image_and_averages_over_the_batch(small_model):
    x = torch.rand(6, 1, 28, 28)
    eps = torch.randn(6, 4)
    terms = vaelib.elbo_loss(small_model, x, beta=0.5, eps=eps)
    logits, mu, log_var = small_model(x, eps)
    recon_per_image = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 6
    kl_per_image = (-0.5 * (1 + log_var - mu**2 - log_var.exp()).sum()) / 6
    torch.testing.assert_close(terms.recon, recon_per_image)
    torch.testing.assert_close(terms.kl, kl_per_image)
    torch.testing.assert_close(terms.loss, recon_per_image + 0.5 * kl_per_image)
    torch.testing.assert_close(terms.elbo, -(recon_per_image + kl_per_image))


def test_gaussian_model_uses_gaussian_likelihood():
    model = vaelib.ConvVAE(1, (28, 20), latent_dim=3, likelihood="gaussian", learn_variance=False, gaussian_log_var=0.0)
    x = torch.rand(2, 1, 28, 20)
    logits = torch.zeros_like(x)  # mean 0.5 everywhere
    expected = 0.5 * (math.log(2 * math.pi) + (x - 0.5) ** 2).flatten(1).sum(1)
    torch.testing.assert_close(model.reconstruction_nll(logits, x), expected)
    assert "decoder_log_var" not in dict(model.named_parameters())
    learned = vaelib.ConvVAE(1, (28, 20), latent_dim=3, likelihood="gaussian")
    assert "decoder_log_var" in dict(learned.named_parameters())
