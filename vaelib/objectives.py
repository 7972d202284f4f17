"""Training objectives beside the ELBO: the importance-weighted bound and the beta-TC split.

Each objective is a pure function of what one forward pass gives (the decoder output, q(z|x)'s
``mu`` and ``log_var``, the codes ``z`` and the images ``x``) and returns :class:`ELBOTerms`,
with the book's reduction: nats per image, averaged over the batch. ``recon`` and ``kl`` are
always the ELBO's two terms (one-sample reconstruction, closed-form KL), so every objective's
training log reads the same; only ``loss``, the quantity minimised, differs.

- ``"elbo"``: :func:`vaelib.elbo_loss`.
- ``"iwae"``: the importance-weighted bound L_k of Burda et al. (2016) with k codes per image.
- ``"tcvae"``: the ELBO with its KL term split into index-code mutual information, total
  correlation and dimension-wise KL (Chen et al. 2018), the total correlation weighted.
"""

from __future__ import annotations

import math

import torch

from .losses import ELBOTerms, elbo_loss, gaussian_kl, gaussian_log_prob, reconstruction_nll

OBJECTIVES = ("elbo", "iwae", "tcvae")


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last dimension: z (..., J) -> (...)."""
    zero = z.new_zeros(())
    return gaussian_log_prob(z, zero, zero).sum(-1)


def iwae_loss(output: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, z: torch.Tensor, x: torch.Tensor,
              beta: float = 1.0, likelihood: str = "bernoulli", decoder_log_var: torch.Tensor | None = None,
              log_prior: torch.Tensor | None = None, log_posterior: torch.Tensor | None = None) -> ELBOTerms:
    """The negative importance-weighted bound -L_k, averaged over the batch.

    L_k = log (1/k) sum_s w_s with w_s = p(x, z_s) / q(z_s|x), z_s ~ q(z|x): a lower bound on
    log p(x) that rises with k (Burda et al. 2016). With k = 1 it is the ELBO with the KL term
    estimated from the sample, log q(z|x) - log p(z), instead of in closed form. beta < 1 (KL
    warm-up) multiplies log p(z) - log q(z|x) inside each weight.

    Shapes: output (S * B, C, H, W), the decoder's output for z.reshape(S * B, J), sample-major;
    mu, log_var (B, J); z (S, B, J); x (B, C, H, W); log_prior (S, B), log p(z) under the model's
    prior (default: N(0, I)); log_posterior (S, B), log q(z|x) (default: the diagonal Gaussian's).
    """
    num_samples, batch = z.shape[:2]
    x_repeated = x.unsqueeze(0).expand(num_samples, *x.shape).reshape(num_samples * batch, *x.shape[1:])
    nll = reconstruction_nll(output, x_repeated, likelihood, decoder_log_var).view(num_samples, batch)
    closed_form = log_prior is None and log_posterior is None  # N(0, I) and a diagonal Gaussian q
    if log_posterior is None:
        log_posterior = gaussian_log_prob(z, mu, log_var).sum(-1)  # (S, B)
    if log_prior is None:
        log_prior = log_standard_normal(z)
    if closed_form:  # the logged KL in closed form
        kl = gaussian_kl(mu, log_var).mean()
    else:  # a learned prior or a flow: the logged KL sampled from the first code of each image
        kl = (log_posterior[0] - log_prior[0]).mean()
    log_w = -nll + beta * (log_prior - log_posterior)  # (S, B)
    bound = torch.logsumexp(log_w, dim=0) - math.log(num_samples)  # (B,)
    return ELBOTerms(loss=-bound.mean(), recon=nll[0].mean(), kl=kl, beta=beta)


def sampled_elbo_loss(output: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, z: torch.Tensor,
                      x: torch.Tensor, log_prior: torch.Tensor, beta: float = 1.0, likelihood: str = "bernoulli",
                      decoder_log_var: torch.Tensor | None = None,
                      log_posterior: torch.Tensor | None = None) -> ELBOTerms:
    """The negative ELBO with its KL term estimated from the code: log q(z|x) - log p(z).

    For a prior or a posterior with no closed-form KL (a mixture, the VampPrior, a flow); the
    estimate is unbiased. Shapes: output (B, C, H, W); mu, log_var, z (B, J); x (B, C, H, W);
    log_prior (B,); log_posterior (B,), log q(z|x) (default: the diagonal Gaussian's).
    """
    recon = reconstruction_nll(output, x, likelihood, decoder_log_var).mean()
    if log_posterior is None:
        log_posterior = gaussian_log_prob(z, mu, log_var).sum(-1)
    kl = (log_posterior - log_prior).mean()
    return ELBOTerms(loss=recon + beta * kl, recon=recon, kl=kl, beta=beta)


def kl_decomposition(z: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, dataset_size: int):
    """Chen et al.'s split of the sampled KL term, log q(z|x) - log p(z), for a batch.

    log q(z|x) - log p(z) = [log q(z|x) - log q(z)]             index-code mutual information
                          + [log q(z) - sum_j log q(z_j)]       total correlation
                          + [sum_j log q(z_j) - log p(z)]       dimension-wise KL
    where q(z) = (1/N) sum_n q(z|x_n) is the aggregate posterior of the N training images. It is
    estimated from the batch by minibatch-weighted sampling: log q(z_i) is approximated by
    logsumexp_m log q(z_i|x_m) - log(N M), over the M images of the batch (Chen et al. 2018, eq. S6).

    Shapes: z, mu, log_var (M, J) -> three tensors (M,), in nats; they sum to the sampled KL.
    """
    batch = z.shape[0]
    # log q(z_i,j | x_m) for every code i, image m and dimension j: (M, M, J)
    pairs = gaussian_log_prob(z[:, None, :], mu[None, :, :], log_var[None, :, :])
    log_norm = math.log(batch * dataset_size)
    log_qz = torch.logsumexp(pairs.sum(-1), dim=1) - log_norm  # (M,)
    log_qz_product = (torch.logsumexp(pairs, dim=1) - log_norm).sum(-1)  # (M,)
    log_qz_x = gaussian_log_prob(z, mu, log_var).sum(-1)  # (M,)
    return log_qz_x - log_qz, log_qz - log_qz_product, log_qz_product - log_standard_normal(z)


def tcvae_loss(output: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, z: torch.Tensor, x: torch.Tensor,
               dataset_size: int, tc_weight: float, beta: float = 1.0, likelihood: str = "bernoulli",
               decoder_log_var: torch.Tensor | None = None) -> ELBOTerms:
    """The beta-TCVAE loss: recon + beta * (mutual information + dimension-wise KL) + tc_weight * TC.

    With tc_weight = beta = 1 it is the negative ELBO with a sampled KL term. Chen et al. (2018)
    keep the other two terms at weight 1 and raise only the total correlation's weight.
    Shapes: output (B, C, H, W); mu, log_var, z (B, J); x (B, C, H, W).
    """
    recon = reconstruction_nll(output, x, likelihood, decoder_log_var)  # (B,)
    information, total_correlation, dimension_kl = kl_decomposition(z, mu, log_var, dataset_size)
    loss = recon + beta * (information + dimension_kl) + tc_weight * total_correlation
    return ELBOTerms(loss=loss.mean(), recon=recon.mean(), kl=gaussian_kl(mu, log_var).mean(), beta=beta)


def objective_terms(model, network, x: torch.Tensor, eps: torch.Tensor, beta: float, objective: str = "elbo",
                    tc_weight: float = 1.0, dataset_size: int | None = None) -> ELBOTerms:
    """One forward pass through ``network`` (the model or its DDP wrapper) and the chosen objective.

    eps: (B, J) for "elbo" and "tcvae", (S, B, J) for "iwae" with S codes per image.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if objective == "tcvae" and not model.closed_form_kl:
        raise ValueError("the tcvae objective splits the KL of a diagonal Gaussian q(z|x) to the "
                         "standard prior N(0, I); train it with a ConvVAE")
    output, mu, log_var = network(x, eps)
    kwargs = model.likelihood_kwargs()
    if objective == "elbo" and model.closed_form_kl:
        return elbo_loss(output, mu, log_var, x, beta=beta, **kwargs)
    z, log_posterior = model.sample_posterior(mu, log_var, eps)  # the codes the forward pass decoded
    if objective == "elbo":
        return sampled_elbo_loss(output, mu, log_var, z, x, model.log_prior(z), beta=beta,
                                 log_posterior=log_posterior, **kwargs)
    if objective == "iwae":
        if model.closed_form_kl:  # N(0, I) and a diagonal q: iwae_loss's defaults
            return iwae_loss(output, mu, log_var, z, x, beta=beta, **kwargs)
        return iwae_loss(output, mu, log_var, z, x, beta=beta, log_prior=model.log_prior(z),
                         log_posterior=log_posterior, **kwargs)
    return tcvae_loss(output, mu, log_var, z, x, dataset_size, tc_weight, beta=beta, **kwargs)
