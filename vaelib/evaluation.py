"""Evaluating a trained VAE: test-set ELBO, importance-sampled log-likelihood, bits per dimension."""

from __future__ import annotations

import math

import torch
from tqdm.auto import tqdm

from .data import to_float
from .losses import gaussian_kl

LOG_2 = math.log(2)


def bits_per_dim(nats_per_image: float | torch.Tensor, num_dims: int):
    """Convert a negative log-likelihood in nats per image to bits per dimension (pixel and channel)."""
    return nats_per_image / (num_dims * LOG_2)


def _standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z | 0, I) summed over the last dimension: (..., D) -> (...)."""
    return -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)


def _diagonal_normal_log_prob(z: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(z | mu, diag(exp(log_var))) summed over the last dimension: (..., D) -> (...)."""
    return -0.5 * ((z - mu).pow(2) / log_var.exp() + log_var + math.log(2 * math.pi)).sum(-1)


@torch.no_grad()
def log_importance_weights(model, x: torch.Tensor, num_samples: int) -> torch.Tensor:
    """log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x) for z_k ~ q(z|x), k = 1..num_samples.

    ``model`` needs ``encode(x) -> (mu, log_var)`` and ``decoder_log_prob(x, z) -> (S, B)``.
    Shapes: x (B, C, H, W) -> (num_samples, B).
    """
    mu, log_var = model.encode(x)
    eps = torch.randn(num_samples, *mu.shape, device=mu.device, dtype=mu.dtype)
    z = mu + torch.exp(0.5 * log_var) * eps  # (S, B, D)
    return model.decoder_log_prob(x, z) + _standard_normal_log_prob(z) - _diagonal_normal_log_prob(z, mu, log_var)


@torch.no_grad()
def iwae_log_likelihood(model, x: torch.Tensor, num_samples: int = 5000, chunk_size: int = 500) -> torch.Tensor:
    """Importance-sampled estimate of log p(x) (the IWAE bound of Burda et al. 2015), per image.

    log p(x) >= log (1/K) sum_k w_k with w_k = p(x, z_k) / q(z_k|x); the bound tightens as K grows
    and equals the ELBO in expectation at K = 1. The K samples are drawn ``chunk_size`` at a time
    and combined with a running log-sum-exp, so memory stays bounded for K = 5000.
    Shapes: x (B, C, H, W) -> (B,) in nats.
    """
    if num_samples < 1 or chunk_size < 1:
        raise ValueError(f"num_samples and chunk_size must be positive, got {num_samples} and {chunk_size}")
    running = torch.full((x.shape[0],), -math.inf, device=x.device)
    remaining = num_samples
    while remaining > 0:
        k = min(chunk_size, remaining)
        chunk = torch.logsumexp(log_importance_weights(model, x, k), dim=0)
        running = torch.logaddexp(running, chunk)
        remaining -= k
    return running - math.log(num_samples)


def _batches(images: torch.Tensor, batch_size: int, device):
    """Yield float batches of images in [0, 1] on ``device`` (uint8 input is divided by 255)."""
    for start in range(0, len(images), batch_size):
        yield to_float(images[start : start + batch_size].to(device))


@torch.no_grad()
def evaluate_elbo(model, images: torch.Tensor, batch_size: int = 500, seed: int | None = None) -> dict:
    """Test-set ELBO and its two terms, in nats per image (one z sample per image).

    Args:
        images: (N, C, H, W), float in [0, 1] or uint8.
        seed: fixes the z samples, so repeated evaluations differ only through the model.
    Returns:
        dict with "elbo", "recon", "kl" (nats per image) and "bits_per_dim" of -ELBO.
    """
    was_training = model.training
    model.eval()
    recon_sum = kl_sum = 0.0
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    for x in _batches(images, batch_size, model.device):
        eps = torch.randn(len(x), model.config.latent_dim, generator=generator).to(model.device)
        logits, mu, log_var = model(x, eps)
        recon_sum += model.reconstruction_nll(logits, x).sum().item()
        kl_sum += gaussian_kl(mu, log_var).sum().item()
    model.train(was_training)
    n = len(images)
    recon, kl = recon_sum / n, kl_sum / n
    num_dims = math.prod(images.shape[1:])
    return {"elbo": -(recon + kl), "recon": recon, "kl": kl, "bits_per_dim": bits_per_dim(recon + kl, num_dims)}


@torch.no_grad()
def evaluate_log_likelihood(
    model, images: torch.Tensor, num_samples: int = 5000, batch_size: int = 10, chunk_size: int = 500, progress: bool = False
) -> dict:
    """Importance-sampled log p(x) averaged over a data set.

    Args:
        images: (N, C, H, W), float in [0, 1] or uint8.
        num_samples: K, importance samples per image.
        batch_size: images processed together; memory grows with batch_size * chunk_size.
    Returns:
        dict with "log_likelihood" (nats per image, higher is better), "nll", "bits_per_dim", "num_samples".
    """
    was_training = model.training
    model.eval()
    total = 0.0
    batches = _batches(images, batch_size, model.device)
    for x in tqdm(batches, total=math.ceil(len(images) / batch_size), disable=not progress, desc=f"IWAE K={num_samples}"):
        total += iwae_log_likelihood(model, x, num_samples, chunk_size).sum().item()
    model.train(was_training)
    log_likelihood = total / len(images)
    num_dims = math.prod(images.shape[1:])
    return {
        "log_likelihood": log_likelihood,
        "nll": -log_likelihood,
        "bits_per_dim": bits_per_dim(-log_likelihood, num_dims),
        "num_samples": num_samples,
    }
