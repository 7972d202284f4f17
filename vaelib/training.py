"""Training: an Adam loop over in-memory data with a progress bar, KL warm-up, a non-finite
guard, per-epoch history and resumable checkpoints. Works unchanged under torchrun (DDP)."""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import ImageData, binarize_once, check_images, dequantize_once, iterate_batches
from .distributed import get_rank, get_world_size, is_distributed, is_main_process
from .evaluation import evaluate_elbo
from .objectives import OBJECTIVES, objective_terms
from .model import ConvVAE
from .utils import get_device


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite during training."""


class ResumeMismatchError(CheckpointError):
    """An existing checkpoint was trained with another data set, model or training settings."""


#: Training settings that must match for a run to resume (epochs may grow, max_seconds may change).
RESUME_SETTINGS = ("dataset", "batch_size", "lr", "lr_final", "seed", "beta", "kl_warmup_epochs", "dynamic_binarization",
                   "dynamic_dequantization", "test_binarization_seed", "objective", "num_samples", "tc_weight")


@dataclass
class TrainConfig:
    """Settings of :func:`fit`.

    Attributes:
        epochs: passes over the training set.
        batch_size: images per step *per process* (under torchrun the global batch is
            batch_size * number of processes).
        lr: Adam's learning rate (at the start, when ``lr_final`` is set).
        lr_final: decay the learning rate from ``lr`` to this value along a cosine over all
            epochs (None: keep ``lr`` constant). Extending ``epochs`` later stretches the curve.
        seed: all randomness (order, binarization, noise) derives from (seed, epoch).
        beta: weight of the KL term once warm-up is over (1 is the true ELBO).
        kl_warmup_epochs: raise the KL weight linearly from 0 to beta over this many epochs (0: off).
        dynamic_binarization: draw fresh binary images at every step (Bernoulli models on MNIST).
        dynamic_dequantization: add fresh uniform noise to the 8-bit pixels at every step
            (continuous models of 8-bit images; see :func:`vaelib.dequantize`).
        test_binarization_seed: the seed of the one fixed binarization of the test set.
        max_seconds: stop training after this much wall time (None: no limit).
        device: "cpu", "cuda", ...; None picks the best available.
        progress: print the chosen device and one line of metrics per epoch.
        progress_bar: show a tqdm bar within each epoch; None shows it only when the error stream
            is a terminal (not in a log file, a notebook or the rendered book).
        dataset: name of the training data, recorded in checkpoints (e.g. "mnist").
        objective: what is minimised (see :mod:`vaelib.objectives`): "elbo" (the negative ELBO),
            "iwae" (the importance-weighted bound with ``num_samples`` codes per image) or
            "tcvae" (the ELBO with the total correlation weighted by ``tc_weight``).
        num_samples: codes per image for "iwae" (1 for the other objectives).
        tc_weight: the total correlation's weight for "tcvae" (1 gives back the ELBO).
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    lr_final: float | None = None
    seed: int = 0
    beta: float = 1.0
    kl_warmup_epochs: float = 0.0
    dynamic_binarization: bool = True
    dynamic_dequantization: bool = False
    test_binarization_seed: int = 0
    max_seconds: float | None = None
    device: str | None = None
    progress: bool = True
    progress_bar: bool | None = None
    dataset: str | None = None
    objective: str = "elbo"
    num_samples: int = 1
    tc_weight: float = 1.0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.lr_final is not None and not 0 <= self.lr_final <= self.lr:
            raise ValueError(f"lr_final must lie between 0 and lr={self.lr}, got {self.lr_final}")
        if self.beta < 0 or self.kl_warmup_epochs < 0:
            raise ValueError("beta and kl_warmup_epochs must not be negative")
        if self.dynamic_binarization and self.dynamic_dequantization:
            raise ValueError("choose dynamic_binarization or dynamic_dequantization, not both")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if self.num_samples < 1 or (self.num_samples > 1 and self.objective != "iwae"):
            raise ValueError(f"num_samples={self.num_samples}: it must be at least 1, and above 1 only "
                             "with objective='iwae'")
        if self.tc_weight < 0:
            raise ValueError(f"tc_weight must not be negative, got {self.tc_weight}")


def kl_weight(step: int, steps_per_epoch: int, config: TrainConfig) -> float:
    """The KL weight at a global step: linear warm-up from 0 to beta, then beta."""
    if config.kl_warmup_epochs <= 0:
        return config.beta
    return config.beta * min(1.0, step / (config.kl_warmup_epochs * steps_per_epoch))


def learning_rate(step: int, steps_per_epoch: int, config: TrainConfig) -> float:
    """Adam's learning rate at a global step: ``lr``, or a cosine from ``lr`` down to ``lr_final``.

    The cosine spends longer near both ends than a straight line: large steps early, small
    careful steps at the end, which is where most of a VAE's last nats are won.
    """
    if config.lr_final is None:
        return config.lr
    progress = min(1.0, step / (config.epochs * steps_per_epoch))
    return config.lr_final + 0.5 * (config.lr - config.lr_final) * (1.0 + math.cos(math.pi * progress))


def make_adam(model: torch.nn.Module, lr: float) -> torch.optim.Adam:
    """Adam over the model's weights, with its fused kernel where this torch has one for the device.

    The fused kernel updates all weights in one pass instead of about ten passes per weight
    tensor; it computes the same update (to rounding). Build the optimizer after moving the model.
    """
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch, or no fused kernel on this device
        return torch.optim.Adam(model.parameters(), lr=lr)


def _as_images(data) -> torch.Tensor:
    return data.images if isinstance(data, ImageData) else data


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    # One generator per epoch, seeded from (seed, epoch): resuming at an epoch boundary
    # replays exactly the randomness of an uninterrupted run.
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def _training_batches(images, config: TrainConfig, latent_dim: int, generator, device):
    """Yield (x, eps) for this process: each global batch of batch_size * world images is drawn
    (with its binarization and reparameterization noise) identically on every rank, then split,
    so N processes with batch B take exactly the steps of one process with batch N * B."""
    world, rank = get_world_size(), get_rank()
    global_batch = config.batch_size * world
    batches = iterate_batches(
        images, global_batch, shuffle=True, dynamic_binarization=config.dynamic_binarization,
        dynamic_dequantization=config.dynamic_dequantization, generator=generator, drop_last=world > 1,
    )
    for x in batches:
        part = slice(rank * config.batch_size, (rank + 1) * config.batch_size)
        if config.objective == "iwae":  # (S, B, J): S codes per image
            eps = torch.randn(config.num_samples, len(x), latent_dim, generator=generator)[:, part]
        else:  # (B, J), drawn as before the other objectives existed
            eps = torch.randn(len(x), latent_dim, generator=generator)[part]
        yield x[part].to(device, non_blocking=True), eps.to(device, non_blocking=True)


def _check_finite(value: float, epoch: int, step: int) -> None:
    if not math.isfinite(value):
        raise NonFiniteLossError(
            f"the loss became {value} at epoch {epoch + 1}, step {step + 1}; lower the learning rate "
            "(e.g. lr=3e-4), check the data for NaNs, or add KL warm-up"
        )


def train_step(model, network, optimizer, x, eps, beta: float, epoch: int = 0, step: int = 0,
               config: TrainConfig | None = None, dataset_size: int | None = None):
    """One Adam step on the objective of a batch; returns (loss, recon, kl) in nats per image.

    The objective is ``config.objective`` (default: the beta-weighted negative ELBO; see
    :mod:`vaelib.objectives`); "tcvae" needs ``dataset_size``, the number of training images.
    ``network`` is the model or its DDP wrapper (which runs the forward pass); x (B, C, H, W),
    eps (B, latent_dim), or (S, B, latent_dim) for "iwae".
    Raises NonFiniteLossError before the step if the loss is NaN or infinite.
    """
    config = config or TrainConfig()
    terms = objective_terms(model, network, x, eps, beta, config.objective, config.tc_weight, dataset_size)
    # One host synchronisation per step (not one per number): a GPU waits here only once.
    loss, recon, kl = torch.stack([terms.loss, terms.recon, terms.kl]).tolist()
    _check_finite(loss, epoch, step)  # before the step: a non-finite loss never reaches the weights
    optimizer.zero_grad(set_to_none=True)
    terms.loss.backward()
    optimizer.step()
    return loss, recon, kl


def _train_one_epoch(model, network, optimizer, images, config, epoch, steps_per_epoch, device, deadline):
    """One pass over the data; returns mean loss, recon and kl per image, and whether time ran out."""
    model.train()
    sums = {"loss": 0.0, "recon": 0.0, "kl": 0.0}
    steps = 0
    out_of_time = False
    show_bar = sys.stderr.isatty() if config.progress_bar is None else config.progress_bar
    bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch + 1}/{config.epochs}", leave=False,
               disable=not (show_bar and is_main_process()))
    batches = _training_batches(images, config, model.config.latent_dim, _epoch_generator(config.seed, epoch), device)
    beta = kl_weight(epoch * steps_per_epoch, steps_per_epoch, config)
    for x, eps in batches:
        beta = kl_weight(epoch * steps_per_epoch + steps, steps_per_epoch, config)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(epoch * steps_per_epoch + steps, steps_per_epoch, config)
        loss, recon, kl = train_step(model, network, optimizer, x, eps, beta, epoch, steps, config, len(images))
        sums["loss"] += loss
        sums["recon"] += recon
        sums["kl"] += kl
        steps += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.1f}", beta=f"{beta:.2f}")
        if deadline is not None and time.perf_counter() > deadline:
            out_of_time = True
            break
    bar.close()
    means = {k: v / max(steps, 1) for k, v in sums.items()}
    return means, beta, steps, out_of_time


def fit(
    model: ConvVAE,
    train_data: ImageData | torch.Tensor,
    test_data: ImageData | torch.Tensor | None = None,
    config: TrainConfig | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    resume: bool = True,
) -> list[dict]:
    """Train a VAE with Adam on the negative ELBO, epoch by epoch.

    Args:
        model: the :class:`ConvVAE` to train (moved to the chosen device).
        train_data, test_data: :class:`ImageData` or uint8/float image tensors (N, C, H, W).
            With dynamic binarization the test set is binarized once with a fixed seed.
        config: a :class:`TrainConfig`; defaults to ``TrainConfig()``.
        checkpoint_path: where to save a checkpoint after every epoch (atomically); with
            ``resume`` an existing checkpoint there is loaded and training continues after it.
    Returns:
        the history: one dict per epoch with train and test loss, recon and kl (nats per image).
    Raises:
        NonFiniteLossError: at the first NaN or infinite loss.
    """
    config = config or TrainConfig()
    device = torch.device(config.device) if config.device else get_device(verbose=config.progress and is_main_process())
    model.to(device)
    optimizer = make_adam(model, config.lr)
    history: list[dict] = []
    if checkpoint_path is not None and resume and _checkpoint_exists_everywhere(Path(checkpoint_path)):
        history = _restore(model, optimizer, checkpoint_path, device, config)
    network = model
    if is_distributed():
        from torch.nn.parallel import DistributedDataParallel

        network = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    train_images = _as_images(train_data)
    check_images(train_images, "training images")
    test_images = None if test_data is None else _as_images(test_data)
    if test_images is not None:
        check_images(test_images, "test images")
        test_images = prepare_test_images(test_images, config)
    global_batch = config.batch_size * get_world_size()
    if get_world_size() > 1 and len(train_images) < global_batch:
        raise ValueError(
            f"the training set has {len(train_images)} images, fewer than one global batch of {global_batch} "
            f"({config.batch_size} per process x {get_world_size()} processes); use a smaller batch size"
        )
    steps_per_epoch = _steps_per_epoch(len(train_images), global_batch)
    deadline = None if config.max_seconds is None else time.perf_counter() + config.max_seconds

    for epoch in range(len(history), config.epochs):
        start = time.perf_counter()
        train, beta, steps, out_of_time = _train_one_epoch(
            model, network, optimizer, train_images, config, epoch, steps_per_epoch, device, deadline
        )
        record = {"epoch": epoch + 1, "steps": steps, "beta": beta, "lr": optimizer.param_groups[0]["lr"], "seconds": time.perf_counter() - start}
        record.update({f"train_{k}": v for k, v in train.items()})
        if test_images is not None:
            test = evaluate_elbo(model, test_images, seed=config.seed, dequantized=config.dynamic_dequantization)
            record.update({"test_loss": -test["elbo"], "test_recon": test["recon"], "test_kl": test["kl"]})
        history.append(record)
        if is_main_process():
            _log_epoch(record, config)
            if checkpoint_path is not None:
                save_checkpoint(checkpoint_path, model, history, train_config=asdict(config), optimizer=optimizer)
        if out_of_time:
            break
    return history


def prepare_test_images(images: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """The test set as training sees it: binarized or dequantized once, with a fixed seed."""
    if config.dynamic_binarization:
        return binarize_once(images, config.test_binarization_seed)
    if config.dynamic_dequantization:
        return dequantize_once(images, config.test_binarization_seed)
    return images


def evaluation_protocol(config: TrainConfig) -> str:
    """What :func:`prepare_test_images` does to the test set, in words (``vaelib evaluate`` prints it)."""
    seed = config.test_binarization_seed
    if config.dynamic_binarization:
        return f"test images binarized once (seed {seed}), as in training"
    if config.dynamic_dequantization:  # see vaelib.bits_per_dim
        return f"test images dequantized once (seed {seed}), as in training; bits per dimension include D log 256"
    return "test images as stored (neither binarized nor dequantized)"


def _steps_per_epoch(num_images: int, global_batch: int) -> int:
    """Steps in one epoch; several processes drop the last partial batch (see _training_batches)."""
    if get_world_size() > 1:
        return max(1, num_images // global_batch)
    return math.ceil(num_images / global_batch)


def _checkpoint_exists_everywhere(path: Path) -> bool:
    """Whether to resume: the checkpoint exists. Under several processes they must all agree, or
    (several nodes without shared storage) some would resume while others start over."""
    exists = path.exists()
    if not is_distributed():
        return exists
    import torch.distributed as dist

    on = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    flags = torch.tensor([int(exists), int(not exists)], device=on)  # after MAX over ranks, both 1 = disagreement
    dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    if flags.sum() == 2:
        raise CheckpointError(
            f"{path} exists for some processes but not for others; put the output folder on storage "
            "that every node shares, or start over in a new folder"
        )
    return exists


def resume_differences(checkpoint, model_config, config: TrainConfig) -> list[str]:
    """What differs between a checkpoint and a run that wants to resume it, e.g. ["dataset: 'mnist' != 'fashion-mnist'"]."""
    from .checkpoint import config_differences

    differences = config_differences(checkpoint.model.config, model_config)
    stored = checkpoint.train_config
    for key in RESUME_SETTINGS:
        if key in stored and stored[key] != getattr(config, key):
            differences.append(f"{key}: {stored[key]!r} != {getattr(config, key)!r}")
    return differences


def _restore(model, optimizer, checkpoint_path, device, config: TrainConfig):
    """Load weights, optimizer state and history from a checkpoint of the same run."""
    checkpoint = load_checkpoint(checkpoint_path, map_location=device)
    differences = resume_differences(checkpoint, model.config, config)
    if differences:
        raise ResumeMismatchError(
            f"{checkpoint_path} belongs to another run (checkpoint != this run: {'; '.join(differences)}); "
            "start over with resume=False (--restart on the command line) or use another output path"
        )
    model.load_state_dict(checkpoint.model.state_dict())
    if checkpoint.optimizer_state is not None:
        optimizer.load_state_dict(checkpoint.optimizer_state)
    if is_main_process():
        print(f"Resuming from {checkpoint_path} after epoch {checkpoint.epoch}")
    return checkpoint.history


def _log_epoch(record: dict, config: TrainConfig) -> None:
    if not config.progress:
        return
    text = f"epoch {record['epoch']:>3}: train loss {record['train_loss']:.2f} (recon {record['train_recon']:.2f} + kl {record['train_kl']:.2f})"
    if "test_loss" in record:
        text += f", test loss {record['test_loss']:.2f}"
    print(text + f" nats/image, {record['seconds']:.1f} s")
