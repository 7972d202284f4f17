"""Helpers for multi-process training launched by ``torchrun`` (DistributedDataParallel)."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """True inside an initialised process group."""
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """Rank 0 writes logs, checkpoints and images; the other ranks only train."""
    return get_rank() == 0


def launched_by_torchrun() -> bool:
    """True when torchrun set the environment variables of a multi-process run."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_distributed(device_type: str | None = None) -> torch.device:
    """Join the process group that torchrun describes and return this process's device.

    The backend is NCCL when CUDA is available (one GPU per process, chosen by LOCAL_RANK),
    gloo on the CPU. Outside torchrun this does nothing and returns the CPU or first GPU.
    """
    use_cuda = torch.cuda.is_available() if device_type is None else device_type == "cuda"
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if launched_by_torchrun() and not is_distributed():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return device


def cleanup_distributed() -> None:
    """Leave the process group (call at the end of a torchrun script)."""
    if is_distributed():
        dist.destroy_process_group()
