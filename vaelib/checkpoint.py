"""Checkpoints: state_dict + config + history, written atomically, loaded with weights_only=True."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .config import VAEConfig
from .files import atomic_write
from .families import model_class
from .model import ConvVAE

CHECKPOINT_FORMAT = "vaelib-checkpoint"
CHECKPOINT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint file is corrupt, not a vaelib checkpoint, or does not match the model."""


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns.

    Attributes:
        model: the rebuilt model (a :class:`ConvVAE`, or the family it was saved as) with its weights loaded.
        history: per-epoch metrics (a list of dicts), empty if none were saved.
        metrics: final metrics (test ELBO...), empty if none were saved.
        train_config: the training settings as a dict, empty if none were saved.
        epoch: number of epochs completed.
        optimizer_state: the optimizer's state_dict, for resuming, or None.
    """

    model: ConvVAE
    history: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    train_config: dict = field(default_factory=dict)
    epoch: int = 0
    optimizer_state: dict | None = None


def save_checkpoint(
    path: str | os.PathLike,
    model: ConvVAE,
    history: list | None = None,
    metrics: dict | None = None,
    train_config: dict | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    epoch: int | None = None,
    half_precision: bool = False,
) -> Path:
    """Write a checkpoint atomically (temporary file, then rename).

    Args:
        half_precision: store floating weights as float16 (half the size; they load back as float32).
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if half_precision:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_family": model.family,
        "model_config": model.config.to_dict(),
        "state_dict": state,
        "history": list(history or []),
        "metrics": dict(metrics or {}),
        "train_config": dict(train_config or {}),
        "epoch": int(epoch if epoch is not None else len(history or [])),
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
    }
    # Serialise in memory first: a write error (a full disk) then surfaces as a plain OSError,
    # not as an error from inside torch's zip writer, and atomic_write keeps the old file.
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write(path, lambda temporary: Path(temporary).write_bytes(buffer.getvalue()))


def _read_payload(path: Path, map_location) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}; check the path or train a model first")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated or corrupt: {type(error).__name__}); "
            "restore it from a copy or pick another file"
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is a PyTorch file but not a vaelib checkpoint (no 'format' marker)")
    if payload.get("version", 0) > CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} was written by a newer vaelib (format {payload['version']}); upgrade vaelib")
    return payload


def config_differences(expected: VAEConfig, found: VAEConfig) -> list[str]:
    """Human-readable list of the fields where two configs differ, e.g. ["latent_dim: 20 != 2"]."""
    a, b = expected.to_dict(), found.to_dict()
    return [f"{key}: {a[key]!r} != {b[key]!r}" for key in a if a[key] != b.get(key)]


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device | None = "cpu", expected_config: VAEConfig | None = None
) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint` and rebuild its model.

    Args:
        map_location: where the tensors go ("cpu" by default; the model can be moved later).
        expected_config: if given, raise :class:`CheckpointError` when the stored config differs.
    """
    path = Path(path)
    payload = _read_payload(path, map_location)
    try:
        # Checkpoints written before the families existed hold a ConvVAE.
        cls = model_class(payload.get("model_family", ConvVAE.family))
        config = cls.config_class.from_dict(payload["model_config"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: its model config is invalid ({error})") from error
    if expected_config is not None and config != expected_config:
        diffs = "; ".join(config_differences(expected_config, config))
        raise CheckpointError(f"{path} holds a model with another config ({diffs}); use a matching model or a new path")
    model = cls(**config.to_dict())
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not fit the stored config: {error}") from error
    if map_location is not None:
        model.to(map_location)
    return Checkpoint(
        model=model,
        history=list(payload.get("history", [])),
        metrics=dict(payload.get("metrics", {})),
        train_config=dict(payload.get("train_config", {})),
        epoch=int(payload.get("epoch", 0)),
        optimizer_state=payload.get("optimizer_state"),
    )
