"""Train the checkpoints shipped in vaelib/pretrained/ and record how they were made.

    python benchmarks/train_pretrained.py            # all of them
    python benchmarks/train_pretrained.py mnist      # one of them

Each checkpoint stores its model config, training config, history and test metrics;
vaelib/pretrained/manifest.json lists the command, hardware, time and metrics of each.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict

import torch

import vaelib
from vaelib.checkpoint import atomic_write_text
from vaelib.pretrained import PRETRAINED_DIR, pretrained_path

RECIPES = {
    "mnist": dict(
        dataset="mnist",
        model=dict(in_channels=1, image_size=28, latent_dim=20, hidden_dim=256),
        train=dict(epochs=30, batch_size=128, lr=1e-3, dynamic_binarization=True),
    ),
    "mnist-2d": dict(
        dataset="mnist",
        model=dict(in_channels=1, image_size=28, latent_dim=2, hidden_dim=128),
        train=dict(epochs=20, batch_size=128, lr=1e-3, dynamic_binarization=True),
    ),
    "fashion-mnist": dict(
        dataset="fashion-mnist",
        model=dict(in_channels=1, image_size=28, latent_dim=20, hidden_dim=128),
        train=dict(epochs=15, batch_size=128, lr=1e-3, dynamic_binarization=False),
    ),
    "frey-face": dict(
        dataset="frey-face",
        model=dict(in_channels=1, image_size=(28, 20), latent_dim=10, hidden_dim=128, likelihood="gaussian"),
        train=dict(epochs=300, batch_size=100, lr=1e-3, dynamic_binarization=False, kl_warmup_epochs=30),
    ),
}

MANIFEST = PRETRAINED_DIR / "manifest.json"


def train_one(name: str, epochs: int | None = None) -> dict:
    """Train one recipe, save its half-precision checkpoint, and return its manifest entry."""
    recipe = RECIPES[name]
    vaelib.seed_everything(0)
    train_data = vaelib.load_dataset(recipe["dataset"], "train")
    test_data = vaelib.load_dataset(recipe["dataset"], "test")
    model = vaelib.ConvVAE(**recipe["model"])
    config = vaelib.TrainConfig(**{**recipe["train"], **({"epochs": epochs} if epochs else {})})
    start = time.perf_counter()
    history = vaelib.fit(model, train_data, test_data, config)
    seconds = time.perf_counter() - start
    test_images = test_data.images
    if config.dynamic_binarization:
        test_images = vaelib.binarize_once(test_images, config.test_binarization_seed)
    model.cpu()
    metrics = vaelib.evaluate_elbo(model, test_images)
    command = f"python benchmarks/train_pretrained.py {name}" + (f" --epochs {epochs}" if epochs else "")
    metrics.update(train_seconds=seconds)
    vaelib.save_checkpoint(
        pretrained_path(name), model, history, metrics=metrics, train_config=asdict(config), half_precision=True
    )
    return {
        "description": vaelib.pretrained.PRETRAINED_MODELS[name],
        "command": command,
        "dataset": recipe["dataset"],
        "model_config": model.config.to_dict(),
        "train_config": asdict(config),
        "test_metrics": metrics,
        "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        + ("GPU " + torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU only"),
        "torch": torch.__version__,
        "file_bytes": pretrained_path(name).stat().st_size,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"recipes to train, among {list(RECIPES)} (default: all)")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    args = parser.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    for name in args.names or list(RECIPES):
        manifest[name] = train_one(name, args.epochs)
        atomic_write_text(MANIFEST, json.dumps(manifest, indent=2) + "\n")
        print(f"{name}: {manifest[name]['test_metrics']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
