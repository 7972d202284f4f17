"""The checkpoints shipped inside the package load, match their manifest, and stay small."""

import json

import pytest
import torch

import vaelib
from vaelib.pretrained import PRETRAINED_DIR, RECIPES, pretrained_path, summary_path
from vaelib.families import build_model

MANIFEST = json.loads((PRETRAINED_DIR / "manifest.json").read_text())
WEIGHTS = sorted(name for name, recipe in RECIPES.items() if recipe.ships == "weights")
SUMMARIES = sorted(name for name, recipe in RECIPES.items() if recipe.ships == "summary")


def test_every_model_is_shipped_and_listed_in_the_manifest():
    assert set(vaelib.available_pretrained()) == set(WEIGHTS)
    assert set(RECIPES) == set(MANIFEST)
    assert all(summary_path(name).exists() for name in SUMMARIES)


@pytest.mark.parametrize("name", SUMMARIES)
def test_shipped_run_summary_matches_its_recipe_and_manifest(name):
    summary = vaelib.load_run_summary(name, train_if_missing=False)
    recipe = RECIPES[name]
    assert summary["recipe"]["train"] == recipe.train and summary["recipe"]["model"] == recipe.model
    assert len(summary["history"]) == recipe.train["epochs"] == MANIFEST[name]["train_config"]["epochs"]
    latent_dim = recipe.model["latent_dim"]
    assert all(len(summary[key]) == latent_dim for key in ("kl_per_dim", "mu_variance", "mean_posterior_variance"))
    # The average KL of the dimensions is the KL term of the test ELBO (same images, closed form).
    assert sum(summary["kl_per_dim"]) == pytest.approx(summary["test"]["kl"], rel=1e-4)
    assert torch.tensor(summary["reconstructions"]).shape == (10, 1, 28, 28)
    with pytest.raises(ValueError, match="load_run_summary"):
        vaelib.load_pretrained(name)


def test_run_summary_measures_what_latent_usage_and_evaluate_elbo_measure(tiny_data_dir, monkeypatch):
    monkeypatch.setenv("VAELIB_DATA_DIR", str(tiny_data_dir))
    checkpoint = vaelib.Checkpoint(model=vaelib.ConvVAE(1, 28, latent_dim=16, hidden_dim=128).eval(),
                                   history=[], metrics={}, train_config={}, epoch=0)
    summary = vaelib.run_summary("kl-beta-4", checkpoint)
    test = vaelib.binarize_once(vaelib.load_dataset("mnist", "test").images[:2000], seed=0)
    usage = vaelib.latent_usage(checkpoint.model, test)
    assert summary["kl_per_dim"] == pytest.approx(usage["kl_per_dim"].tolist())
    assert summary["test"]["elbo"] == pytest.approx(vaelib.evaluate_elbo(checkpoint.model, test, seed=0)["elbo"])
    assert len(summary["reconstructions"]) == min(10, len(test))


@pytest.mark.parametrize("name", WEIGHTS)
def test_shipped_checkpoint_loads_and_matches_its_manifest(name):
    checkpoint = vaelib.load_pretrained(name)
    entry = MANIFEST[name]
    assert checkpoint.model.config.to_dict() == entry["model_config"]
    recipe = RECIPES[name]  # the shipped weights were trained from the registry's recipe
    assert checkpoint.model.config == build_model(recipe.model, recipe.family).config
    assert checkpoint.train_config["dataset"] == recipe.dataset == entry["dataset"]
    for key, value in recipe.train.items():
        assert checkpoint.train_config[key] == value, key
    assert checkpoint.train_config["epochs"] == entry["train_config"]["epochs"] == len(checkpoint.history)
    assert checkpoint.metrics["elbo"] == pytest.approx(entry["test_metrics"]["elbo"])
    assert entry["command"].startswith("python benchmarks/train_pretrained.py")
    assert not checkpoint.model.training  # returned ready for inference
    images = checkpoint.model.sample(4, generator=torch.Generator().manual_seed(0))
    assert images.shape == (4, checkpoint.model.config.in_channels, *checkpoint.model.config.image_size)


#: What the package may ship, in bytes: the weights go into every install and every Colab session,
#: so they stay a few seconds' download (a PyPI file may be 100 MB; torch alone is hundreds).
SHIPPED_LIMIT = 40e6


def test_shipped_checkpoints_are_small():
    total = sum(pretrained_path(name).stat().st_size for name in WEIGHTS)
    total += sum(summary_path(name).stat().st_size for name in SUMMARIES)
    assert total < SHIPPED_LIMIT, f"the shipped checkpoints take {total / 1e6:.1f} MB"


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="mnist-2d"):
        vaelib.load_pretrained("cifar")


def test_a_missing_checkpoint_is_trained_from_the_same_recipe(tiny_data_dir, monkeypatch, tmp_path):
    monkeypatch.setattr("vaelib.pretrained.PRETRAINED_DIR", tmp_path)  # no shipped weights here
    monkeypatch.setenv("VAELIB_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("VAELIB_SMOKE", "1")
    checkpoint = vaelib.load_pretrained("mnist-2d")
    assert checkpoint.model.config == vaelib.ConvVAE(**RECIPES["mnist-2d"].model).config
    assert checkpoint.train_config["dataset"] == "mnist" and len(checkpoint.history) == 1
    assert not checkpoint.model.training and "elbo" in checkpoint.metrics
    with pytest.raises(FileNotFoundError, match="train_pretrained.py mnist-2d"):
        vaelib.load_pretrained("mnist-2d", train_if_missing=False)


def test_fine_tuning_recipes_start_from_a_shipped_model_with_the_same_network():
    tuned = {name: recipe for name, recipe in RECIPES.items() if recipe.starts_from}
    assert tuned  # the book's best model is one
    for name, recipe in tuned.items():
        base = RECIPES[recipe.starts_from]
        assert base.ships == "weights" and base.dataset == recipe.dataset, name
        network = {k: v for k, v in recipe.model.items() if k not in ("prior", "prior_components")}
        assert network == base.model, name


def test_a_fine_tuning_recipe_trains_from_the_base_weights(tiny_data_dir, monkeypatch, tmp_path):
    monkeypatch.setattr("vaelib.pretrained.PRETRAINED_DIR", tmp_path)
    monkeypatch.setenv("VAELIB_DATA_DIR", str(tiny_data_dir))
    small = dict(in_channels=1, image_size=28, latent_dim=3, hidden_channels=(4, 8), hidden_dim=16)
    base = vaelib.Recipe("tiny base", "mnist", model=small, train=dict(epochs=1, batch_size=16))
    tuned = vaelib.Recipe("tiny VampPrior on top", "mnist", model={**small, "prior": "vamp", "prior_components": 4},
                          train=dict(epochs=1, batch_size=16, objective="iwae", num_samples=2),
                          starts_from="tiny-base", family="prior-vae")
    monkeypatch.setitem(RECIPES, "tiny-base", base)
    monkeypatch.setitem(RECIPES, "tiny-tuned", tuned)
    trained = vaelib.train_pretrained("tiny-base", progress=False)
    vaelib.save_checkpoint(pretrained_path("tiny-base"), trained.model, trained.history, metrics=trained.metrics,
                           train_config=trained.train_config)
    seen = {}

    def record_start(model, *args, **kwargs):  # stands in for fit: what the training would start from
        seen.update({k: v.clone() for k, v in model.state_dict().items()})
        return []

    monkeypatch.setattr("vaelib.pretrained.fit", record_start)
    vaelib.train_pretrained("tiny-tuned", progress=False)
    for key, value in trained.model.state_dict().items():
        torch.testing.assert_close(seen[key], value.cpu())  # every base weight carried over
    images = vaelib.load_dataset("mnist", "train").images[:4]
    torch.testing.assert_close(torch.sigmoid(seen["pseudo_logits"]), vaelib.to_float(images).clamp(0.02, 0.98))
