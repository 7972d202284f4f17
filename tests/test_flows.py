"""The inverse autoregressive flow on q(z|x) (vaelib.IAFVAE) against brute-force Jacobians."""

import math

import pytest
import torch
from torch.autograd.functional import jacobian

import vaelib
from vaelib.flows import AutoregressiveNetwork

SMALL = dict(hidden_channels=(4, 8), hidden_dim=16)


def randomised(module, scale=0.5, seed=0):
    """The module with every parameter redrawn, so that the flow is far from the identity."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    return module


def iaf_model(latent_dim=4, steps=2, seed=0):
    torch.manual_seed(seed)
    model = vaelib.IAFVAE(1, 12, latent_dim, flow_steps=steps, flow_hidden=12, **SMALL)
    randomised(model.flow, seed=seed)
    return model


def test_each_output_of_the_masked_network_sees_only_earlier_dimensions():
    network = randomised(AutoregressiveNetwork(dim=5, context_dim=3, hidden=9))
    z, context = torch.randn(5), torch.randn(3)
    for output in (0, 1):  # the shift m and the gate logit s
        grad = jacobian(lambda v: network(v, context)[output], z)  # (5, 5): d out_j / d z_i
        assert torch.count_nonzero(torch.triu(grad)) == 0  # j depends on no z_i with i >= j
        assert torch.count_nonzero(torch.tril(grad, -1)) > 0  # ... but on the earlier ones


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_the_flows_log_determinant_is_the_brute_force_one(steps):
    model = iaf_model(steps=steps)
    context = torch.randn(8)
    for seed in range(3):
        z0 = torch.randn(4, generator=torch.Generator().manual_seed(seed))
        z, log_det = model.flow(z0, context)
        full = jacobian(lambda v: model.flow(v, context)[0], z0)  # (4, 4), not triangular after a reversal
        torch.testing.assert_close(log_det, torch.linalg.slogdet(full).logabsdet, atol=1e-5, rtol=1e-5)


def test_sample_posterior_gives_the_change_of_variables_density():
    model = iaf_model()
    x = torch.rand(3, 1, 12, 12)
    with torch.no_grad():
        mu, log_var = model.encode(x)
    eps = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    z, log_q = model.sample_posterior(mu, log_var, eps)
    for i in range(3):  # log q(z_T) = log N(z_0; mu, sigma^2) - log |det dz_T / dz_0|
        z0 = mu[i] + torch.exp(0.5 * log_var[i]) * eps[i]
        context = torch.cat([mu[i], log_var[i]])
        full = jacobian(lambda v: model.flow(v, context)[0], z0)
        base = torch.distributions.Normal(mu[i], torch.exp(0.5 * log_var[i])).log_prob(z0).sum()
        torch.testing.assert_close(log_q[i], base - torch.linalg.slogdet(full).logabsdet, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(z[i], model.flow(z0, context)[0])


def test_the_flow_density_integrates_to_one():
    # 1-D codes: q is a density on the line; integrate it over a grid of z_0 pushed through the flow.
    model = iaf_model(latent_dim=1, steps=2)
    mu, log_var = torch.tensor([[0.3]]), torch.tensor([[-0.4]])
    eps = torch.linspace(-8, 8, 20001).view(-1, 1, 1)  # (N, 1, 1)
    with torch.no_grad():
        z, log_q = model.sample_posterior(mu, log_var, eps)
    z, q = z.view(-1), log_q.view(-1).exp()
    assert torch.all(z[1:] > z[:-1])  # the flow is increasing, so the grid maps to a grid
    integral = torch.trapezoid(q, z)
    assert abs(integral.item() - 1.0) < 1e-3


def test_iwae_with_one_sample_is_the_sampled_elbo_of_the_flow():
    model = iaf_model()
    x = (torch.rand(5, 1, 12, 12) > 0.5).float()
    eps = torch.randn(5, 4, generator=torch.Generator().manual_seed(2))
    elbo = vaelib.objective_terms(model, model, x, eps, 1.0, "elbo")
    iwae = vaelib.objective_terms(model, model, x, eps[None], 1.0, "iwae")
    torch.testing.assert_close(iwae.loss, elbo.loss)
    with torch.no_grad():  # and the ELBO is recon + log q - log p with the flow's log q
        output, mu, log_var = model(x, eps)
        z, log_q = model.sample_posterior(mu, log_var, eps)
        expected = model.reconstruction_nll(output, x) + log_q - model.log_prior(z)
    torch.testing.assert_close(elbo.loss, expected.mean())


def test_evaluation_uses_the_flows_density():
    model = iaf_model()
    x = (torch.rand(4, 1, 12, 12) > 0.5).float()
    with torch.no_grad():
        estimate = vaelib.iwae_log_likelihood(model, x, 16, chunk_size=16, generator=torch.Generator().manual_seed(3))
        mu, log_var = model.encode(x)
        eps = torch.randn(16, 4, 4, generator=torch.Generator().manual_seed(3))
        z, log_q = model.sample_posterior(mu, log_var, eps)
        log_w = model.decoder_log_prob(x, z) + model.log_prior(z) - log_q
    torch.testing.assert_close(estimate, torch.logsumexp(log_w, 0) - math.log(16))
    with pytest.raises(ValueError, match="pass log_posterior"):
        model.kl(mu, log_var, z[0])  # a Gaussian log q would be the wrong density


def test_a_flow_fits_a_correlated_gaussian_that_no_diagonal_gaussian_can():
    # Target N(0, S) with correlation 0.9. The best diagonal Gaussian q (minimising KL(q || p))
    # has variances 1 / (S^-1)_jj and KL = 0.5 log(prod_j (S^-1)_jj / det S^-1) = 0.5 log(1 / 0.19)
    # = 0.83 nats. One IAF step can shear z_2 by z_1, so the flow can get close to 0.
    torch.manual_seed(7)
    target = torch.distributions.MultivariateNormal(torch.zeros(2), torch.tensor([[1.0, 0.9], [0.9, 1.0]]))
    best_diagonal_kl = 0.5 * math.log(1 / 0.19)
    flow = vaelib.InverseAutoregressiveFlow(dim=2, context_dim=1, steps=2, hidden=16)
    base_mu, base_log_var = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.Adam([*flow.parameters(), base_mu, base_log_var], lr=1e-2)
    context = torch.zeros(512, 1)

    def kl_estimate(eps):  # E_q[log q(z) - log p(z)] from the codes z = flow(mu + sigma * eps)
        z0 = base_mu + torch.exp(0.5 * base_log_var) * eps
        z, log_det = flow(z0, context)
        log_q = vaelib.gaussian_log_prob(z0, base_mu, base_log_var).sum(-1) - log_det
        return (log_q - target.log_prob(z)).mean()

    for _ in range(600):
        optimizer.zero_grad()
        kl_estimate(torch.randn(512, 2)).backward()
        optimizer.step()
    with torch.no_grad():
        kl = torch.stack([kl_estimate(torch.randn(512, 2)) for _ in range(20)]).mean()
    assert kl < 0.25 * best_diagonal_kl


def test_an_iaf_checkpoint_loads_back_as_the_same_model(tmp_path):
    model = iaf_model(steps=3)
    vaelib.save_checkpoint(tmp_path / "m.pt", model)
    loaded = vaelib.load_checkpoint(tmp_path / "m.pt").model
    assert isinstance(loaded, vaelib.IAFVAE) and loaded.config == model.config
    mu, log_var, eps = torch.randn(2, 4), torch.randn(2, 4), torch.randn(2, 4)
    with torch.no_grad():
        for a, b in zip(loaded.sample_posterior(mu, log_var, eps), model.sample_posterior(mu, log_var, eps)):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("objective, settings", [("elbo", {}), ("iwae", dict(num_samples=3))])
def test_an_iaf_vae_trains(objective, settings):
    torch.manual_seed(6)
    images = (torch.rand(64, 1, 12, 12) * 255).to(torch.uint8)
    model = vaelib.IAFVAE(1, 12, 3, flow_steps=2, flow_hidden=8, **SMALL)
    before = [p.detach().clone() for p in model.flow.parameters()]
    config = vaelib.TrainConfig(epochs=2, batch_size=16, lr=3e-3, objective=objective, progress=False,
                                device="cpu", **settings)
    history = vaelib.fit(model, images, images[:16], config)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert all(not torch.equal(p.detach(), b) for p, b in zip(model.flow.parameters(), before))


@pytest.mark.parametrize("fields, message", [
    (dict(flow_steps=0), "flow_steps must be at least 1"),
    (dict(flow_hidden=2), "flow_hidden must be at least latent_dim - 1"),
])
def test_bad_flow_settings_are_named(fields, message):
    with pytest.raises(ValueError, match=message):
        vaelib.IAFVAE(1, 12, 4, **SMALL, **fields)


def test_the_tcvae_objective_refuses_a_flow():
    model = iaf_model()
    with pytest.raises(ValueError, match="diagonal Gaussian"):
        vaelib.objective_terms(model, model, torch.rand(2, 1, 12, 12), torch.randn(2, 4), 1.0, "tcvae",
                               dataset_size=10)
