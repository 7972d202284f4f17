"""Shared by the benchmark scripts: where results go, how the machine is described, the anchors."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from vaelib.files import atomic_write_text

RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: Published negative log-likelihoods on dynamically binarized MNIST (nats, test set), each with
#: the protocol it was measured under: K importance samples, binarization, test set.
_BURDA = {"num_samples": 5000, "binarization": "dynamic binarization", "test_set": "the MNIST test set (10,000 images)",
          "cite": "burda2016importance"}
_KINGMA = {"num_samples": 128, "binarization": "dynamic binarization (Burda et al.'s MNIST)",
           "test_set": "the MNIST test set (10,000 images)", "cite": "kingma2016improved"}
_TOMCZAK = {"num_samples": 5000, "binarization": "dynamic binarization",
            "test_set": "the MNIST test set (10,000 images)", "cite": "tomczak2018vae"}
PUBLISHED_MNIST_NLL = [
    {"model": "VAE, 1 stochastic layer, diagonal Gaussian q (Burda et al. 2016)", "nll": 86.76, **_BURDA},
    {"model": "IWAE k=5, 1 stochastic layer (Burda et al. 2016)", "nll": 85.54, **_BURDA},
    {"model": "IWAE k=50, 1 stochastic layer (Burda et al. 2016)", "nll": 84.78, **_BURDA},
    {"model": "IWAE k=50, 2 stochastic layers (Burda et al. 2016)", "nll": 82.90, **_BURDA},
    {"model": "VAE, 2 stochastic layers, VampPrior (Tomczak & Welling 2018)", "nll": 81.24, **_TOMCZAK},
    {"model": "ResNet VAE, diagonal Gaussian q (Kingma et al. 2016)", "nll": 81.08, **_KINGMA},
    {"model": "ResNet VAE, IAF posterior (Kingma et al. 2016)", "nll": 79.10, **_KINGMA},
]


def hardware() -> str:
    """One line describing where a measurement ran."""
    if torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name()}, torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    try:
        model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
        cpu = model
    except (OSError, StopIteration):
        pass
    return f"CPU {cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def command_line() -> str:
    """The command that is running, as a user would type it."""
    return "python " + " ".join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])


def write_results(name: str, results: dict) -> Path:
    """Write results/<name>.json atomically, stamped with the command, hardware and date."""
    results = {"command": command_line(), "hardware": hardware(), "date": time.strftime("%Y-%m-%d"), **results}
    path = atomic_write_text(RESULTS_DIR / f"{name}.json", json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")
    return path
