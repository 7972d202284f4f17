"""A VAE with a learned prior: a mixture of Gaussians, or the VampPrior (Tomczak & Welling 2018).

The standard normal prior of :class:`~vaelib.ConvVAE` is the same for every data set; the
aggregate posterior q(z) = (1/N) sum_n q(z|x_n) that the encoder actually produces is not, and
the ELBO pays for the mismatch: its KL term averages to I(x; z) + KL(q(z) || p(z)) (chapter 6).
A learned prior can close that second gap:

- ``"mixture"``: p(z) = sum_k pi_k N(z; m_k, diag(s_k^2)), K components with learned weights,
  means and variances;
- ``"vamp"``: p(z) = (1/K) sum_k q(z | u_k), the encoder's own posteriors at K learned
  *pseudo-inputs* u_k (images of the data's shape, pixels sigmoid(logits) in [0, 1]). As K -> N
  with u_k = x_k it is the aggregate posterior itself, the prior that maximises the ELBO.

Neither has a closed-form KL to q(z|x), so the ELBO's KL term is estimated from the code z ~ q(z|x)
as log q(z|x) - log p(z) (:func:`vaelib.objectives.sampled_elbo_loss`); every evaluation
(ELBO, importance-weighted bound) uses :meth:`PriorVAE.log_prior`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .config import VAEConfig
from .losses import gaussian_log_prob
from .model import ConvVAE

PRIORS = ("mixture", "vamp")


@dataclass
class PriorVAEConfig(VAEConfig):
    """:class:`VAEConfig` plus the prior.

    Attributes:
        prior: "mixture" (a learned mixture of Gaussians) or "vamp" (the VampPrior).
        prior_components: K, the mixture's components or the VampPrior's pseudo-inputs.
    """

    prior: str = "vamp"
    prior_components: int = 100

    def validate(self) -> None:
        super().validate()
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS} (or use ConvVAE for N(0, I)), got {self.prior!r}")
        if self.prior_components < 1:
            raise ValueError(f"prior_components must be at least 1, got {self.prior_components}")


class PriorVAE(ConvVAE):
    """A :class:`ConvVAE` whose prior p(z) is learned with the rest: ``PriorVAE(1, 28, 32, prior="vamp")``.

    Encoder and decoder are the ConvVAE's; only :meth:`log_prior` and :meth:`sample_prior`
    differ (and so :meth:`ConvVAE.kl` has no closed form and samples the KL).
    """

    family = "prior-vae"
    config_class = PriorVAEConfig
    has_standard_prior = False

    def __init__(self, in_channels: int = 1, image_size: int | tuple[int, int] = 28, latent_dim: int = 20, **kwargs):
        super().__init__(in_channels, image_size, latent_dim, **kwargs)
        k, j = self.config.prior_components, self.config.latent_dim
        if self.config.prior == "mixture":
            # Spread-out means, unit variances, equal weights: at the start, close to N(0, I) widened.
            self.prior_means = nn.Parameter(torch.randn(k, j))
            self.prior_log_vars = nn.Parameter(torch.zeros(k, j))
            self.prior_logits = nn.Parameter(torch.zeros(k))
        else:
            # Pseudo-inputs as logits: sigmoid keeps their pixels in [0, 1], as the data's are.
            self.pseudo_logits = nn.Parameter(torch.randn(k, in_channels, *self.config.image_size) * 0.3 - 1.0)

    @torch.no_grad()
    def initialise_pseudo_inputs(self, images: torch.Tensor) -> None:
        """Start the VampPrior's pseudo-inputs at K images (K, C, H, W) in [0, 1] (e.g. training
        images), so that the prior begins near the aggregate posterior of those images."""
        if self.config.prior != "vamp":
            raise ValueError(f"only the VampPrior has pseudo-inputs; this model's prior is {self.config.prior!r}")
        if images.shape != self.pseudo_logits.shape:
            raise ValueError(f"expected {tuple(self.pseudo_logits.shape)} images, got {tuple(images.shape)}")
        self.pseudo_logits.copy_(torch.logit(images.float().clamp(0.02, 0.98)))

    def pseudo_inputs(self) -> torch.Tensor:
        """The VampPrior's K learned images, (K, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.pseudo_logits)

    def prior_components(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The prior as a mixture: means, log-variances (K, J) and log-weights (K,)."""
        if self.config.prior == "mixture":
            return self.prior_means, self.prior_log_vars, torch.log_softmax(self.prior_logits, dim=0)
        means, log_vars = self.encode(self.pseudo_inputs())  # q(z | u_k) for every pseudo-input
        k = means.shape[0]
        return means, log_vars, means.new_full((k,), -math.log(k))

    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) = logsumexp_k [log pi_k + log N(z; m_k, diag(s_k^2))]: z (..., J) -> (...)."""
        means, log_vars, log_weights = self.prior_components()
        per_component = gaussian_log_prob(z.unsqueeze(-2), means, log_vars).sum(-1)  # (..., K)
        return torch.logsumexp(per_component + log_weights, dim=-1)

    @torch.no_grad()
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes z ~ p(z): a component k ~ pi, then z ~ N(m_k, diag(s_k^2)). Returns (n, J)."""
        means, log_vars, log_weights = self.prior_components()
        chosen = torch.multinomial(log_weights.exp(), n, replacement=True, generator=generator)  # (n,)
        eps = torch.randn(n, self.config.latent_dim, generator=generator, device=self.device)
        return self.reparameterize(means[chosen], log_vars[chosen], eps)
