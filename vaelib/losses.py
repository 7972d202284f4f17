"""The ELBO and its two terms.

Reduction convention of the whole book: every term is **summed over pixels and latent
dimensions for each image**, then **averaged over the images of a batch**. Numbers are
nats per image. (Averaging over pixels instead silently rescales the KL term: a hidden beta.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

LOG_2PI = math.log(2 * math.pi)


def check_unit_interval(x: torch.Tensor, name: str = "targets") -> None:
    """Raise ``ValueError`` unless every value of x lies in [0, 1] (needed by the Bernoulli term)."""
    if x.numel() == 0:
        return
    low, high = x.min().item(), x.max().item()
    if low < 0 or high > 1 or math.isnan(low) or math.isnan(high):
        hint = " (divide uint8 images by 255)" if high > 1 else ""
        raise ValueError(
            f"{name} must lie in [0, 1] for the Bernoulli likelihood, got values in [{low:g}, {high:g}]{hint}"
        )


def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag(exp(log_var))) || N(0, I) ) in closed form, per example.

    KL = 0.5 * sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2).
    Shapes: mu, log_var (B, D) -> (B,).
    """
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=-1)


def gaussian_kl_per_dim(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """The same KL, one value per latent dimension and example: (B, D) -> (B, D)."""
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(x | sigmoid(logits)), summed over all pixels of each image.

    Computed from logits with ``binary_cross_entropy_with_logits`` (stable for any logit).
    x may be binary or gray-level in [0, 1]. Shapes: (B, ...) -> (B,).
    """
    check_unit_interval(x)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return bce.flatten(1).sum(dim=1)


def gaussian_nll(mean: torch.Tensor, log_var: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log N(x | mean, exp(log_var)), summed over all pixels of each image.

    log_var broadcasts against mean (one value per pixel, or a scalar). Shapes: (B, ...) -> (B,).
    """
    nll = 0.5 * (LOG_2PI + log_var + (x - mean).pow(2) / log_var.exp())
    return nll.flatten(1).sum(dim=1)


@dataclass
class ELBOTerms:
    """The loss and its parts, each a scalar averaged over the batch, in nats per image.

    Attributes:
        loss: recon + beta * kl, the quantity to minimise.
        recon: -E_q[log p(x|z)], estimated with one sample of z per image.
        kl: KL(q(z|x) || p(z)), in closed form.
        beta: the weight that multiplied the KL.
    """

    loss: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor
    beta: float = 1.0

    @property
    def elbo(self) -> torch.Tensor:
        """The ELBO itself (always with beta = 1): -(recon + kl), higher is better."""
        return -(self.recon + self.kl)


def elbo_loss(model, x: torch.Tensor, beta: float = 1.0, eps: torch.Tensor | None = None, network=None) -> ELBOTerms:
    """Negative ELBO of a batch, with the book's reduction (sum per image, mean over the batch).

    Args:
        model: a :class:`~vaelib.ConvVAE` (anything with ``forward`` and ``reconstruction_nll``).
        x: images (B, C, H, W); in [0, 1] for the Bernoulli likelihood.
        beta: weight of the KL term (1 gives the true ELBO; < 1 during warm-up).
        eps: optional fixed noise (B, latent_dim) for the reparameterization.
        network: what runs the forward pass, if not ``model`` itself (a DistributedDataParallel wrapper).
    """
    logits, mu, log_var = (network or model)(x, eps)
    recon = model.reconstruction_nll(logits, x).mean()
    kl = gaussian_kl(mu, log_var).mean()
    return ELBOTerms(loss=recon + beta * kl, recon=recon, kl=kl, beta=beta)
