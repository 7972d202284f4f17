"""Evaluating a trained VAE: test-set ELBO, importance-sampled log-likelihood, bits per dimension."""

from __future__ import annotations

import math

import torch
from tqdm.auto import tqdm

from .data import check_images, iterate_batches
from .losses import gaussian_kl_per_dim, gaussian_log_prob
from .objectives import log_standard_normal

LOG_2 = math.log(2)
LOG_256 = math.log(256)


def bits_per_dim(nats_per_image: float | torch.Tensor, num_dims: int, dequantized: bool = False):
    """Convert a negative log-likelihood in nats per image to bits per dimension (pixel and channel).

    With ``dequantized``, ``nats_per_image`` is a continuous density's NLL on 8-bit images scaled
    to [0, 1) by uniform dequantization; adding D log 256 turns it into an NLL of the discrete
    images (see :func:`vaelib.dequantize`) before the conversion.
    """
    if dequantized:
        nats_per_image = nats_per_image + num_dims * LOG_256
    return nats_per_image / (num_dims * LOG_2)


@torch.no_grad()
def log_importance_weights(model, x: torch.Tensor, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x) for z_k ~ q(z|x), k = 1..num_samples.

    ``model`` needs ``encode``, ``reparameterize`` and ``decoder_log_prob(x, z) -> (S, B)``, and
    may have ``log_prior(z) -> (S, B)`` (without it, the prior is N(0, I)) and
    ``sample_posterior`` (without it, q(z|x) is the diagonal Gaussian N(mu, exp(log_var))).
    ``generator`` (on x's device) fixes the noise. Shapes: x (B, C, H, W) -> (num_samples, B).
    """
    mu, log_var = model.encode(x)
    eps = torch.randn(num_samples, *mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
    if hasattr(model, "sample_posterior"):  # the model's own q(z|x): a Gaussian, or a flow on one
        z, log_posterior = model.sample_posterior(mu, log_var, eps)  # (S, B, D), (S, B)
    else:
        z = model.reparameterize(mu, log_var, eps)  # (S, B, D): mu and log_var broadcast over S
        log_posterior = gaussian_log_prob(z, mu, log_var).sum(-1)
    # The model's own prior (N(0, I) for a ConvVAE); a model without log_prior has N(0, I).
    log_prior = model.log_prior(z) if hasattr(model, "log_prior") else log_standard_normal(z)
    return model.decoder_log_prob(x, z) + log_prior - log_posterior


@torch.no_grad()
def iwae_log_likelihood(
    model, x: torch.Tensor, num_samples: int = 5000, chunk_size: int = 500, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Importance-sampled estimate of log p(x) (the IWAE bound of Burda et al. 2016), per image.

    L_K = log (1/K) sum_k w_k with w_k = p(x, z_k) / q(z_k|x); the bound tightens as K grows
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
        chunk = torch.logsumexp(log_importance_weights(model, x, k, generator), dim=0)
        running = torch.logaddexp(running, chunk)
        remaining -= k
    return running - math.log(num_samples)


@torch.inference_mode()  # no autograd bookkeeping: evaluation only reads the model
def evaluate_elbo(
    model, images: torch.Tensor, batch_size: int = 500, seed: int | None = None, dequantized: bool = False
) -> dict:
    """Test-set ELBO and its two terms, in nats per image (one z sample per image).

    Args:
        images: (N, C, H, W), float in [0, 1] or uint8.
        seed: fixes the z samples, so repeated evaluations differ only through the model.
        dequantized: the images are 8-bit pixels dequantized to [0, 1) (:func:`vaelib.dequantize_once`);
            bits per dimension then include the D log 256 term (see :func:`bits_per_dim`).
    Returns:
        dict with "elbo", "recon", "kl" (nats per image) and "bits_per_dim" of -ELBO. The KL is
        the model's own (:meth:`ConvVAE.kl`): in closed form for N(0, I) and a diagonal Gaussian
        q(z|x), sampled for a learned prior or a flow.
    """
    check_images(images)
    was_training = model.training
    model.eval()
    recon_sum = kl_sum = 0.0
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    for x in iterate_batches(images, batch_size, shuffle=False, device=model.device):
        eps = torch.randn(len(x), model.config.latent_dim, generator=generator).to(model.device)
        output, mu, log_var = model(x, eps)
        recon_sum += model.reconstruction_nll(output, x).sum().item()
        z, log_posterior = model.sample_posterior(mu, log_var, eps)  # the codes the forward pass decoded
        kl_sum += model.kl(mu, log_var, z, log_posterior).sum().item()
    model.train(was_training)
    n = len(images)
    recon, kl = recon_sum / n, kl_sum / n
    num_dims = math.prod(images.shape[1:])
    return {"elbo": -(recon + kl), "recon": recon, "kl": kl,
            "bits_per_dim": bits_per_dim(recon + kl, num_dims, dequantized)}


@torch.inference_mode()
def latent_usage(model, images: torch.Tensor, batch_size: int = 1000) -> dict:
    """How much each latent dimension is used, over a set of images (N, C, H, W).

    Returns a dict of (J,) tensors:
        "kl_per_dim": KL(q(z_j|x) || N(0, 1)) averaged over the images, nats;
        "mu_variance": Var_x(mu_j), the (unbiased) variance of the posterior mean over the
            images: Burda et al.'s activity, above 0.01 for an "active unit";
        "mean_posterior_variance": E_x[sigma_j^2], the posterior's own variance on average.
    """
    check_images(images)
    was_training = model.training
    model.eval()
    mus, log_vars = [], []
    for x in iterate_batches(images, batch_size, shuffle=False, device=model.device):
        mu, log_var = model.encode(x)
        mus.append(mu.cpu())
        log_vars.append(log_var.cpu())
    model.train(was_training)
    mu, log_var = torch.cat(mus), torch.cat(log_vars)  # (N, J) each
    return {
        "kl_per_dim": gaussian_kl_per_dim(mu, log_var).mean(0),
        "mu_variance": mu.var(dim=0),
        "mean_posterior_variance": log_var.exp().mean(0),
    }


@torch.inference_mode()  # no autograd bookkeeping at all: the estimator only reads the model
def evaluate_log_likelihood(
    model, images: torch.Tensor, num_samples: int = 5000, batch_size: int = 10, chunk_size: int = 500,
    progress: bool = False, dequantized: bool = False,
) -> dict:
    """Importance-sampled log p(x) averaged over a data set, with its standard error.

    Args:
        images: (N, C, H, W), float in [0, 1] or uint8.
        num_samples: K, importance samples per image.
        batch_size: images processed together; memory grows with batch_size * chunk_size.
        dequantized: as in :func:`evaluate_elbo`: bits per dimension with the D log 256 term.
    Returns:
        dict with "log_likelihood" (nats per image, higher is better), "nll", "standard_error"
        (of the mean, across images), "bits_per_dim", "num_samples" and "num_images".
    """
    check_images(images)
    was_training = model.training
    model.eval()
    per_image = []
    batches = iterate_batches(images, batch_size, shuffle=False, device=model.device)
    for x in tqdm(batches, total=math.ceil(len(images) / batch_size), disable=not progress, desc=f"IWAE K={num_samples}"):
        per_image.append(iwae_log_likelihood(model, x, num_samples, chunk_size).cpu())
    model.train(was_training)
    values = torch.cat(per_image).double()
    log_likelihood = values.mean().item()
    standard_error = values.std().item() / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    num_dims = math.prod(images.shape[1:])
    return {
        "log_likelihood": log_likelihood,
        "nll": -log_likelihood,
        "standard_error": standard_error,
        "bits_per_dim": bits_per_dim(-log_likelihood, num_dims, dequantized),
        "num_samples": num_samples,
        "num_images": len(values),
    }
