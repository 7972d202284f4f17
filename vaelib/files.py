"""Writing files safely: every file vaelib writes goes through :func:`atomic_write`.

A crash or Ctrl-C half-way through a write leaves the old file intact, because the new
content is written to a temporary file in the same folder and then renamed over the target
(a rename is atomic on one file system).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import torch


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(temporary_path)``, then rename the result onto ``path``; return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"  # same folder: rename stays atomic
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a text file atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda temporary: Path(temporary).write_text(text))


def save_image_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int = 8) -> Path:
    """Write images (N, C, H, W) in [0, 1] as one PNG grid, atomically.

    Raises ``ValueError`` unless the file name ends in ``.png``.
    """
    import torchvision

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"the output file must end in .png, got {path.name}")
    return atomic_write(path, lambda temporary: torchvision.utils.save_image(images.cpu(), temporary, nrow=nrow, format="png"))
