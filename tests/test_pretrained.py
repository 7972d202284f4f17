"""The checkpoints shipped inside the package load, match their manifest, and stay small."""

import json

import pytest
import torch

import vaelib
from vaelib.pretrained import PRETRAINED_DIR, PRETRAINED_MODELS, pretrained_path

MANIFEST = json.loads((PRETRAINED_DIR / "manifest.json").read_text())


def test_every_model_is_shipped_and_listed_in_the_manifest():
    assert set(vaelib.available_pretrained()) == set(PRETRAINED_MODELS) == set(MANIFEST)


@pytest.mark.parametrize("name", sorted(PRETRAINED_MODELS))
def test_shipped_checkpoint_loads_and_matches_its_manifest(name):
    checkpoint = vaelib.load_pretrained(name)
    entry = MANIFEST[name]
    assert checkpoint.model.config.to_dict() == entry["model_config"]
    assert checkpoint.train_config["epochs"] == entry["train_config"]["epochs"] == len(checkpoint.history)
    assert checkpoint.metrics["elbo"] == pytest.approx(entry["test_metrics"]["elbo"])
    assert entry["command"].startswith("python benchmarks/train_pretrained.py")
    assert not checkpoint.model.training  # returned ready for inference
    images = checkpoint.model.sample(4, generator=torch.Generator().manual_seed(0))
    assert images.shape == (4, checkpoint.model.config.in_channels, *checkpoint.model.config.image_size)


def test_shipped_checkpoints_are_small():
    total = sum(pretrained_path(name).stat().st_size for name in PRETRAINED_MODELS)
    assert total < 10e6, f"the shipped checkpoints take {total / 1e6:.1f} MB"


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="mnist-2d"):
        vaelib.load_pretrained("cifar")
