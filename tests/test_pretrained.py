"""The checkpoints shipped inside the package load, match their manifest, and stay small."""

import json

import pytest
import torch

import vaelib
from vaelib.pretrained import PRETRAINED_DIR, RECIPES, pretrained_path

MANIFEST = json.loads((PRETRAINED_DIR / "manifest.json").read_text())


def test_every_model_is_shipped_and_listed_in_the_manifest():
    assert set(vaelib.available_pretrained()) == set(RECIPES) == set(MANIFEST)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_shipped_checkpoint_loads_and_matches_its_manifest(name):
    checkpoint = vaelib.load_pretrained(name)
    entry = MANIFEST[name]
    assert checkpoint.model.config.to_dict() == entry["model_config"]
    recipe = RECIPES[name]  # the shipped weights were trained from the registry's recipe
    assert checkpoint.model.config == vaelib.ConvVAE(**recipe.model).config
    assert checkpoint.train_config["dataset"] == recipe.dataset == entry["dataset"]
    for key, value in recipe.train.items():
        assert checkpoint.train_config[key] == value, key
    assert checkpoint.train_config["epochs"] == entry["train_config"]["epochs"] == len(checkpoint.history)
    assert checkpoint.metrics["elbo"] == pytest.approx(entry["test_metrics"]["elbo"])
    assert entry["command"].startswith("python benchmarks/train_pretrained.py")
    assert not checkpoint.model.training  # returned ready for inference
    images = checkpoint.model.sample(4, generator=torch.Generator().manual_seed(0))
    assert images.shape == (4, checkpoint.model.config.in_channels, *checkpoint.model.config.image_size)


def test_shipped_checkpoints_are_small():
    total = sum(pretrained_path(name).stat().st_size for name in RECIPES)
    assert total < 20e6, f"the shipped checkpoints take {total / 1e6:.1f} MB"


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
