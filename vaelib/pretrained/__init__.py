"""Pretrained checkpoints shipped inside the package (float16 weights, a few MB in all).

Each was trained by ``benchmarks/train_pretrained.py``; the checkpoint itself stores the
model config, the training config, the history and the test metrics.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..checkpoint import Checkpoint, load_checkpoint

PRETRAINED_DIR = Path(__file__).parent

#: name -> what the model is (the checkpoint's file is ``<name>.pt`` beside this module).
PRETRAINED_MODELS = {
    "mnist": "MNIST, Bernoulli decoder, 20-D latent space: the book's main model",
    "mnist-2d": "MNIST, Bernoulli decoder, 2-D latent space: for the manifold grid and scatter plots",
    "fashion-mnist": "Fashion-MNIST, Bernoulli decoder, 20-D latent space",
    "frey-face": "Frey Face (28x20), Gaussian decoder with learned per-pixel variance, 10-D latent space",
}


def pretrained_path(name: str) -> Path:
    """The file of a shipped checkpoint (it may not exist in a source checkout that lacks weights)."""
    if name not in PRETRAINED_MODELS:
        raise ValueError(f"no pretrained model named {name!r}; choose one of {', '.join(PRETRAINED_MODELS)}")
    return PRETRAINED_DIR / f"{name}.pt"


def available_pretrained() -> list[str]:
    """Names of the shipped checkpoints that are present."""
    return [name for name in PRETRAINED_MODELS if pretrained_path(name).exists()]


def load_pretrained(name: str, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a shipped checkpoint: ``load_pretrained("mnist").model`` is a trained ConvVAE (in eval mode)."""
    path = pretrained_path(name)
    if not path.exists():
        raise FileNotFoundError(
            f"the pretrained checkpoint {path.name} is missing from {PRETRAINED_DIR}; "
            f"train it with: python benchmarks/train_pretrained.py {name}"
        )
    checkpoint = load_checkpoint(path, map_location=device)
    checkpoint.model.eval()
    return checkpoint
