"""Shared fixtures: tiny data sets written in the real file formats, and small models."""

from __future__ import annotations

import os

# Before torch is imported, here and in every notebook kernel nbval starts: threads that wait
# passively (see vaelib/__init__.py), so tests beside other work do not slow to a crawl.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import gzip
import struct

import numpy as np
import pytest
import torch

import vaelib


def write_idx(path, array: np.ndarray, compress: bool = True) -> None:
    """Write a uint8 array as an IDX file (MNIST's format), gzipped when ``compress``."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(f"{path}.gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def make_tiny_mnist(root, name: str = "MNIST", n_train: int = 64, n_test: int = 32, seed: int = 0) -> None:
    """Write a tiny MNIST-layout data set of random 'digits' under root/name/raw."""
    rng = np.random.default_rng(seed)
    raw = root / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = (rng.random((n, 28, 28)) < 0.2) * rng.integers(0, 256, (n, 28, 28))
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n))


@pytest.fixture
def tiny_data_dir(tmp_path):
    """A data folder with tiny MNIST, Fashion-MNIST and Frey Face files in their real formats."""
    from scipy.io import savemat

    make_tiny_mnist(tmp_path, "MNIST")
    make_tiny_mnist(tmp_path, "FashionMNIST", seed=1)
    (tmp_path / "FreyFace").mkdir()
    faces = np.random.default_rng(2).integers(0, 256, (560, 50), dtype=np.uint8)
    savemat(tmp_path / "FreyFace" / "frey_rawface.mat", {"ff": faces})
    return tmp_path


@pytest.fixture
def tiny_images():
    """64 binary-ish 1x28x28 images with structure a VAE can learn quickly (bars at random rows)."""
    generator = torch.Generator().manual_seed(0)
    images = torch.zeros(64, 1, 28, 28)
    rows = torch.randint(4, 24, (64,), generator=generator)
    for i, row in enumerate(rows):
        images[i, 0, row : row + 3, 4:24] = 1.0
    return images


@pytest.fixture
def small_model():
    """A small MNIST-shaped model that trains in well under a second per epoch."""
    vaelib.seed_everything(0)
    return vaelib.ConvVAE(1, 28, latent_dim=4, hidden_channels=(8, 16), hidden_dim=32)
