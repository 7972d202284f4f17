"""Small helpers every notebook and script uses first: seeding, device choice, smoke mode."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

SMOKE_ENV_VAR = "VAELIB_SMOKE"


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and PyTorch's random generators (CPU and every GPU).

    Call this first in every notebook and script so that results repeat.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def get_device(preferred: str | None = None, verbose: bool = True) -> torch.device:
    """Return the best available device: CUDA, then Apple's MPS, then the CPU.

    Args:
        preferred: force a device ("cpu", "cuda", "cuda:1", "mps"); None picks automatically.
        verbose: print which device was chosen.
    """
    if preferred is not None:
        device = torch.device(preferred)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {preferred!r} was requested but CUDA is not available; use 'cpu'")
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    if verbose:
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
        print(f"Using device: {device} ({name})")
    return device


def is_smoke_mode() -> bool:
    """True when ``VAELIB_SMOKE=1``: notebooks shrink data and epochs so they run in seconds."""
    return os.environ.get(SMOKE_ENV_VAR, "0").strip().lower() in {"1", "true", "yes", "on"}
