"""The learned priors (mixture, VampPrior) against torch.distributions and brute-force references."""

import math

import pytest
import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

import vaelib

SMALL = dict(hidden_channels=(4, 8), hidden_dim=16)


def mixture_reference(means, log_vars, log_weights):
    components = Independent(Normal(means, torch.exp(0.5 * log_vars)), 1)
    return MixtureSameFamily(Categorical(logits=log_weights), components)


@pytest.mark.parametrize("prior", ["mixture", "vamp"])
def test_log_prior_is_the_mixture_density(prior):
    torch.manual_seed(0)
    model = vaelib.PriorVAE(1, 12, 3, prior=prior, prior_components=5, **SMALL)
    if prior == "mixture":
        with torch.no_grad():
            model.prior_logits.copy_(torch.randn(5))
            model.prior_log_vars.copy_(torch.randn(5, 3) * 0.5)
    z = torch.randn(4, 6, 3)
    with torch.no_grad():
        expected = mixture_reference(*model.prior_components()).log_prob(z)
        torch.testing.assert_close(model.log_prior(z), expected)


def test_the_vampprior_at_the_training_images_is_the_aggregate_posterior():
    torch.manual_seed(1)
    images = torch.rand(6, 1, 12, 12) * 0.98 + 0.01
    model = vaelib.PriorVAE(1, 12, 3, prior="vamp", prior_components=6, **SMALL)
    with torch.no_grad():
        model.pseudo_logits.copy_(torch.logit(images))
        mu, log_var = model.encode(images)  # (6, 3): q(z|x_n) for each image
        z = torch.randn(10, 3)
        per_image = Independent(Normal(mu, torch.exp(0.5 * log_var)), 1).log_prob(z[:, None, :])  # (10, 6)
        aggregate = torch.logsumexp(per_image, dim=1) - math.log(6)
        torch.testing.assert_close(model.log_prior(z), aggregate)


def standard_normal_as_mixture():
    model = vaelib.PriorVAE(1, 12, 3, prior="mixture", prior_components=1, **SMALL)
    with torch.no_grad():
        model.prior_means.zero_()
        model.prior_log_vars.zero_()
    return model


def test_the_sampled_kl_is_unbiased_for_the_closed_form():
    torch.manual_seed(2)
    model = standard_normal_as_mixture()
    mu, log_var = torch.randn(4, 3), torch.randn(4, 3) * 0.5
    with torch.no_grad():
        z = mu + torch.exp(0.5 * log_var) * torch.randn(20000, 4, 3)
        sampled = model.kl(mu.expand_as(z), log_var.expand_as(z), z)  # (20000, 4)
    closed = vaelib.gaussian_kl(mu, log_var)
    error = sampled.std(0) / math.sqrt(len(sampled))
    assert torch.all((sampled.mean(0) - closed).abs() < 4 * error)


def test_a_one_component_standard_mixture_gives_the_convvae_bounds():
    torch.manual_seed(3)
    model = standard_normal_as_mixture()
    plain = vaelib.ConvVAE(1, 12, 3, **SMALL)
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("prior_")})
    x = (torch.rand(5, 1, 12, 12) > 0.5).float()
    a = vaelib.iwae_log_likelihood(model, x, 16, generator=torch.Generator().manual_seed(0))
    b = vaelib.iwae_log_likelihood(plain, x, 16, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)


def test_samples_follow_the_mixture_weights():
    torch.manual_seed(4)
    model = vaelib.PriorVAE(1, 12, 2, prior="mixture", prior_components=2, **SMALL)
    with torch.no_grad():
        model.prior_means.copy_(torch.tensor([[-10.0, 0.0], [10.0, 0.0]]))
        model.prior_log_vars.fill_(-2.0)
        model.prior_logits.copy_(torch.tensor([0.0, math.log(3.0)]))  # weights 1/4 and 3/4
    z = model.sample_prior(8000, generator=torch.Generator().manual_seed(0))
    assert abs((z[:, 0] > 0).float().mean().item() - 0.75) < 0.02
    assert abs(z[z[:, 0] > 0, 0].std().item() - math.exp(-1.0)) < 0.02


@pytest.mark.parametrize("prior", ["mixture", "vamp"])
def test_a_prior_vae_checkpoint_loads_back_as_the_same_model(prior, tmp_path):
    torch.manual_seed(5)
    model = vaelib.PriorVAE(1, 12, 3, prior=prior, prior_components=4, **SMALL)
    vaelib.save_checkpoint(tmp_path / "m.pt", model)
    loaded = vaelib.load_checkpoint(tmp_path / "m.pt").model
    assert isinstance(loaded, vaelib.PriorVAE) and loaded.config == model.config
    z = torch.randn(7, 3)
    with torch.no_grad():
        torch.testing.assert_close(loaded.log_prior(z), model.log_prior(z))


def test_a_checkpoint_without_a_family_is_a_convvae(tmp_path):
    model = vaelib.ConvVAE(1, 12, 3, **SMALL)
    vaelib.save_checkpoint(tmp_path / "m.pt", model)
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    del payload["model_family"]  # as written before model families existed
    torch.save(payload, tmp_path / "old.pt")
    assert type(vaelib.load_checkpoint(tmp_path / "old.pt").model) is vaelib.ConvVAE


def test_evaluation_uses_the_models_own_prior():
    torch.manual_seed(6)
    model = vaelib.PriorVAE(1, 12, 3, prior="mixture", prior_components=3, **SMALL)
    x = (torch.rand(4, 1, 12, 12) > 0.5).float()
    with torch.no_grad():
        estimate = vaelib.iwae_log_likelihood(model, x, 32, chunk_size=32, generator=torch.Generator().manual_seed(1))
        mu, log_var = model.encode(x)
        eps = torch.randn(32, 4, 3, generator=torch.Generator().manual_seed(1))
        z = mu + torch.exp(0.5 * log_var) * eps
        log_w = (model.decoder_log_prob(x, z) + mixture_reference(*model.prior_components()).log_prob(z)
                 - Independent(Normal(mu, torch.exp(0.5 * log_var)), 1).log_prob(z))
    torch.testing.assert_close(estimate, torch.logsumexp(log_w, 0) - math.log(32))


@pytest.mark.parametrize("objective, settings", [("elbo", {}), ("iwae", dict(num_samples=3))])
def test_a_prior_vae_trains_and_its_prior_learns(objective, settings):
    torch.manual_seed(7)
    images = (torch.rand(64, 1, 12, 12) * 255).to(torch.uint8)
    model = vaelib.PriorVAE(1, 12, 3, prior="vamp", prior_components=4, **SMALL)
    before = model.pseudo_logits.detach().clone()
    config = vaelib.TrainConfig(epochs=2, batch_size=16, lr=3e-3, objective=objective, progress=False,
                                device="cpu", **settings)
    history = vaelib.fit(model, images, images[:16], config)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert not torch.equal(model.pseudo_logits.detach(), before)  # the prior is trained too


def test_the_tcvae_objective_refuses_a_learned_prior():
    model = vaelib.PriorVAE(1, 12, 3, prior="mixture", prior_components=2, **SMALL)
    with pytest.raises(ValueError, match="standard prior"):
        vaelib.objective_terms(model, model, torch.rand(2, 1, 12, 12), torch.randn(2, 3), 1.0, "tcvae",
                               dataset_size=10)


@pytest.mark.parametrize("settings, message", [(dict(prior="flow"), "prior must be one of"),
                                               (dict(prior_components=0), "at least 1")])
def test_bad_prior_settings_name_the_problem(settings, message):
    with pytest.raises(ValueError, match=message):
        vaelib.PriorVAE(1, 12, 3, **settings)
