"""The training objectives beside the ELBO, against brute-force and torch.distributions references."""

import math

import pytest
import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

import vaelib
from vaelib.objectives import kl_decomposition, log_standard_normal


@pytest.fixture
def model_and_batch():
    torch.manual_seed(0)
    model = vaelib.ConvVAE(1, 12, 3, hidden_channels=(4, 8), hidden_dim=16)
    x = (torch.rand(6, 1, 12, 12) > 0.5).float()
    return model, x


def sampled_elbo_loss(model, x, eps):
    """-(log p(x|z) + log p(z) - log q(z|x)) for one code per image, averaged: the brute-force reference."""
    output, mu, log_var = model(x, eps)
    z = model.reparameterize(mu, log_var, eps)
    log_q = Independent(Normal(mu, torch.exp(0.5 * log_var)), 1).log_prob(z)
    log_p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1).log_prob(z)
    return (model.reconstruction_nll(output, x) + log_q - log_p).mean()


def test_iwae_with_one_sample_is_the_elbo_with_a_sampled_kl(model_and_batch):
    model, x = model_and_batch
    eps = torch.randn(6, 3)
    terms = vaelib.objective_terms(model, model, x, eps[None], 1.0, "iwae")
    torch.testing.assert_close(terms.loss, sampled_elbo_loss(model, x, eps))
    elbo = vaelib.objective_terms(model, model, x, eps, 1.0, "elbo")
    torch.testing.assert_close(terms.recon, elbo.recon)  # the logged terms are the ELBO's
    torch.testing.assert_close(terms.kl, elbo.kl)


def test_iwae_with_one_sample_averages_to_the_closed_form_elbo(model_and_batch):
    # On the same noise the two differ only in the KL term: sampled against closed form,
    # which is its expectation, so the differences average to zero.
    model, x = model_and_batch
    with torch.no_grad():
        differences = torch.stack([
            vaelib.objective_terms(model, model, x, eps[None], 1.0, "iwae").loss
            - vaelib.objective_terms(model, model, x, eps, 1.0, "elbo").loss
            for eps in torch.randn(2000, 6, 3, generator=torch.Generator().manual_seed(5))])
    assert differences.std() > 0.01  # the sampled KL does vary
    assert abs(differences.mean()) < 4 * differences.std() / math.sqrt(len(differences))


def test_iwae_loss_equals_the_evaluation_bound_on_the_same_noise(model_and_batch):
    model, x = model_and_batch
    with torch.no_grad():
        estimate = vaelib.iwae_log_likelihood(model, x, num_samples=20, chunk_size=20,
                                              generator=torch.Generator().manual_seed(3))
        eps = torch.randn(20, 6, 3, generator=torch.Generator().manual_seed(3))
        terms = vaelib.objective_terms(model, model, x, eps, 1.0, "iwae")
    torch.testing.assert_close(terms.loss, -estimate.mean())


def test_iwae_loss_falls_as_the_number_of_samples_grows(model_and_batch):
    model, x = model_and_batch
    generator = torch.Generator().manual_seed(1)
    means = []
    with torch.no_grad():
        for k in (1, 5, 50):
            losses = [vaelib.objective_terms(model, model, x, torch.randn(k, 6, 3, generator=generator),
                                             1.0, "iwae").loss for _ in range(200)]
            means.append(torch.stack(losses).mean().item())
    assert means[0] > means[1] > means[2]


def test_the_three_kl_parts_sum_to_the_sampled_kl():
    torch.manual_seed(2)
    mu, log_var = torch.randn(32, 5), torch.randn(32, 5) * 0.5
    z = mu + torch.exp(0.5 * log_var) * torch.randn(32, 5)
    parts = kl_decomposition(z, mu, log_var, dataset_size=1000)
    sampled = vaelib.gaussian_log_prob(z, mu, log_var).sum(-1) - log_standard_normal(z)
    torch.testing.assert_close(sum(parts), sampled)


def test_minibatch_weighted_sampling_against_mixtures_of_torch_distributions():
    # MWS: q(z) ~ (1 / (N M)) sum_m q(z|x_m), i.e. a uniform mixture of the batch's posteriors over N.
    torch.manual_seed(3)
    batch, dims, size = 16, 4, 500
    mu, log_var = torch.randn(batch, dims), torch.randn(batch, dims) * 0.3
    z = mu + torch.exp(0.5 * log_var) * torch.randn(batch, dims)
    std = torch.exp(0.5 * log_var)
    uniform = Categorical(torch.ones(batch))
    joint = MixtureSameFamily(uniform, Independent(Normal(mu, std), 1)).log_prob(z) - math.log(size)
    marginals = sum(MixtureSameFamily(uniform, Normal(mu[:, j], std[:, j])).log_prob(z[:, j])
                    for j in range(dims)) - dims * math.log(size)
    own = Independent(Normal(mu, std), 1).log_prob(z)
    information, total_correlation, dimension_kl = kl_decomposition(z, mu, log_var, size)
    torch.testing.assert_close(information, own - joint)
    torch.testing.assert_close(total_correlation, joint - marginals)
    torch.testing.assert_close(dimension_kl, marginals - log_standard_normal(z))


def test_total_correlation_separates_a_factorised_code_from_a_correlated_one():
    # Point-like posteriors: z is the code itself. Independent columns have a smaller TC estimate
    # than the same columns made equal (a code whose dimensions are one number repeated).
    torch.manual_seed(4)
    codes = torch.randn(256, 2)
    log_var = torch.full_like(codes, -4.0)
    correlated = torch.cat([codes[:, :1], codes[:, :1]], dim=1)
    independent = kl_decomposition(codes, codes, log_var, 256)[1].mean()
    repeated = kl_decomposition(correlated, correlated, log_var, 256)[1].mean()
    assert repeated > independent + 1.0


def test_tcvae_with_weight_one_is_the_sampled_elbo_and_heavier_weights_add_the_tc(model_and_batch):
    model, x = model_and_batch
    eps = torch.randn(6, 3)
    one = vaelib.objective_terms(model, model, x, eps, 1.0, "tcvae", tc_weight=1.0, dataset_size=100)
    torch.testing.assert_close(one.loss, sampled_elbo_loss(model, x, eps))
    six = vaelib.objective_terms(model, model, x, eps, 1.0, "tcvae", tc_weight=6.0, dataset_size=100)
    _, mu, log_var = model(x, eps)
    tc = kl_decomposition(model.reparameterize(mu, log_var, eps), mu, log_var, 100)[1].mean()
    torch.testing.assert_close(six.loss - one.loss, 5 * tc)


def test_an_unknown_objective_names_the_choices(model_and_batch):
    model, x = model_and_batch
    with pytest.raises(ValueError, match="iwae"):
        vaelib.objective_terms(model, model, x, torch.randn(6, 3), 1.0, "vampire")


@pytest.mark.parametrize("settings, message", [
    (dict(objective="wake-sleep"), "objective must be one of"),
    (dict(num_samples=5), "only with objective='iwae'"),
    (dict(objective="iwae", num_samples=0), "at least 1"),
    (dict(objective="tcvae", tc_weight=-1.0), "tc_weight"),
])
def test_train_config_rejects_bad_objective_settings(settings, message):
    with pytest.raises(ValueError, match=message):
        vaelib.TrainConfig(**settings)


@pytest.mark.parametrize("objective, settings", [("iwae", dict(num_samples=3)), ("tcvae", dict(tc_weight=4.0))])
def test_fit_trains_with_each_objective_and_records_it(objective, settings, tmp_path):
    torch.manual_seed(0)
    images = (torch.rand(64, 1, 12, 12) * 255).to(torch.uint8)
    model = vaelib.ConvVAE(1, 12, 3, hidden_channels=(4, 8), hidden_dim=16)
    config = vaelib.TrainConfig(epochs=2, batch_size=16, lr=3e-3, objective=objective, progress=False,
                                device="cpu", **settings)
    history = vaelib.fit(model, images, images[:16], config, checkpoint_path=tmp_path / "run.pt")
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    checkpoint = vaelib.load_checkpoint(tmp_path / "run.pt")
    assert checkpoint.train_config["objective"] == objective
    other = vaelib.TrainConfig(epochs=3, batch_size=16, lr=3e-3, progress=False, device="cpu")
    with pytest.raises(vaelib.training.ResumeMismatchError, match="objective"):
        vaelib.fit(model, images, None, other, checkpoint_path=tmp_path / "run.pt")
