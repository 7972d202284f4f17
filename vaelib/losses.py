"""The ELBO and its two terms, as pure functions of the decoder output, mu, log_var and x.

Reduction convention of the whole book: every term is **summed over pixels and latent
dimensions for each image**, then **averaged over the images of a batch**. Numbers are
nats per image. (Averaging over pixels instead silently rescales the KL term: a hidden beta.)

The likelihoods p(x|z) that the decoder output can parameterise:

- ``"bernoulli"``: binary pixels; the output is one logit per pixel.
- ``"continuous-bernoulli"``: gray levels in [0, 1]; the same logits, plus the normalising
  constant that makes Bernoulli(x | p) a proper density on [0, 1] (Loaiza-Ganem & Cunningham 2019).
- ``"gaussian"``: continuous pixels; the mean is sigmoid(logits), the log-variance either a
  per-pixel parameter (``decoder_log_var``) or predicted by the decoder from z (the second
  half of the output's channels, Kingma & Welling's Frey Face model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

LOG_2PI = math.log(2 * math.pi)
LIKELIHOODS = ("bernoulli", "continuous-bernoulli", "gaussian")


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(x | mean, exp(log_var)) for every element (no sum); the arguments broadcast.

    The one Gaussian log-density of the library: the Gaussian decoder, the prior and q(z|x)
    in the importance-sampled likelihood all use it.
    """
    return -0.5 * (LOG_2PI + log_var + (x - mean).pow(2) * torch.exp(-log_var))


def gaussian_kl_per_dim(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL( N(mu_j, exp(log_var_j)) || N(0, 1) ) for each example and latent dimension: (B, D) -> (B, D).

    Closed form 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2), derived in chapter 1.
    """
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var)


def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag(exp(log_var))) || N(0, I) ) per example, summed over dimensions: (B, D) -> (B,)."""
    return gaussian_kl_per_dim(mu, log_var).sum(dim=-1)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(x | sigmoid(logits)), summed over all pixels of each image: (B, ...) -> (B,).

    Computed from logits with ``binary_cross_entropy_with_logits``, which is exact for any logit.
    """
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return bce.flatten(1).sum(dim=1)


def continuous_bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log ContinuousBernoulli(x | logits) for gray levels x in [0, 1], summed per image: (B, ...) -> (B,).

    The Bernoulli cross-entropy minus log C(lambda), the constant that makes the density
    integrate to 1 over [0, 1]; torch.distributions evaluates C stably near lambda = 1/2.
    """
    distribution = torch.distributions.ContinuousBernoulli(logits=logits, validate_args=False)
    return -distribution.log_prob(x).flatten(1).sum(dim=1)


def gaussian_nll(mean: torch.Tensor, log_var: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log N(x | mean, exp(log_var)), summed over all pixels of each image: (B, ...) -> (B,).

    ``log_var`` broadcasts against ``mean``: one value per pixel, per image and pixel, or a scalar.
    """
    return -gaussian_log_prob(x, mean, log_var).flatten(1).sum(dim=1)


def split_gaussian_output(output: torch.Tensor, decoder_log_var: torch.Tensor | None):
    """The Gaussian decoder's (mean, log_var) from its output (B, C or 2C, H, W).

    With a per-pixel ``decoder_log_var`` the output holds C channels of mean logits; without
    one it holds 2C channels: C of mean logits, then C of log-variances predicted from z.
    """
    if decoder_log_var is not None:
        return torch.sigmoid(output), decoder_log_var
    mean_logits, log_var = output.chunk(2, dim=1)
    return torch.sigmoid(mean_logits), log_var


def reconstruction_nll(
    output: torch.Tensor, x: torch.Tensor, likelihood: str = "bernoulli", decoder_log_var: torch.Tensor | None = None
) -> torch.Tensor:
    """-log p(x|z) per image, summed over pixels, for the chosen likelihood: (B, C, H, W) -> (B,) nats."""
    if likelihood == "bernoulli":
        return bernoulli_nll(output, x)
    if likelihood == "continuous-bernoulli":
        return continuous_bernoulli_nll(output, x)
    if likelihood == "gaussian":
        mean, log_var = split_gaussian_output(output, decoder_log_var)
        return gaussian_nll(mean, log_var, x)
    raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")


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


def elbo_loss(
    output: torch.Tensor,
    mu: torch.Tensor,
    log_var: torch.Tensor,
    x: torch.Tensor,
    beta: float = 1.0,
    likelihood: str = "bernoulli",
    decoder_log_var: torch.Tensor | None = None,
) -> ELBOTerms:
    """Negative ELBO of a batch, with the book's reduction (sum per image, mean over the batch).

    Args:
        output: the decoder's output for one z per image, (B, C, H, W) logits (2C channels for
            a Gaussian decoder that predicts its variance).
        mu, log_var: q(z|x)'s parameters, (B, D).
        x: the images (B, C, H, W).
        beta: weight of the KL term (1 gives the true ELBO; < 1 during warm-up).
        likelihood, decoder_log_var: see :func:`reconstruction_nll`; a model supplies both
            with ``**model.likelihood_kwargs()``.
    """
    recon = reconstruction_nll(output, x, likelihood, decoder_log_var).mean()
    kl = gaussian_kl(mu, log_var).mean()
    return ELBOTerms(loss=recon + beta * kl, recon=recon, kl=kl, beta=beta)
