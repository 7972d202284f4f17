"""The reparameterization trick: correct samples, correct gradients, no overflow."""

import torch

import vaelib


def test_reparameterized_samples_have_the_right_moments():
    torch.manual_seed(0)
    mu, log_var = torch.tensor([1.5, -2.0]), torch.tensor([0.0, 2.0])
    z = vaelib.ConvVAE.reparameterize(mu.expand(200_000, 2), log_var.expand(200_000, 2))
    torch.testing.assert_close(z.mean(0), mu, atol=0.03, rtol=0)
    torch.testing.assert_close(z.var(0), log_var.exp(), atol=0.05, rtol=0.02)


def test_reparameterized_gradients_match_analytic_ones():
    # f(z) = z^2 with z ~ N(mu, sigma^2): E[f] = mu^2 + sigma^2 = mu^2 + exp(log_var),
    # so dE/dmu = 2 mu and dE/dlog_var = exp(log_var).
    torch.manual_seed(0)
    mu = torch.tensor([0.7, -1.2], requires_grad=True)
    log_var = torch.tensor([-0.5, 0.3], requires_grad=True)
    n = 400_000
    z = vaelib.ConvVAE.reparameterize(mu.expand(n, 2), log_var.expand(n, 2))
    z.pow(2).mean(0).sum().backward()
    torch.testing.assert_close(mu.grad, 2 * mu.detach(), atol=0.02, rtol=0)
    torch.testing.assert_close(log_var.grad, log_var.detach().exp(), atol=0.02, rtol=0)


def test_fixed_noise_gives_mu_plus_sigma_eps():
    mu, log_var, eps = torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 4)
    z = vaelib.ConvVAE.reparameterize(mu, log_var, eps)
    torch.testing.assert_close(z, mu + torch.sqrt(torch.exp(log_var)) * eps)


def test_stable_form_does_not_overflow_where_sqrt_exp_does():
    log_var = torch.tensor([100.0])  # exp(100) overflows float32, exp(50) does not
    assert torch.isinf(torch.sqrt(torch.exp(log_var))).all()
    z = vaelib.ConvVAE.reparameterize(torch.zeros(1), log_var, torch.ones(1))
    assert torch.isfinite(z).all()
