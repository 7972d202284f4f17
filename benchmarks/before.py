"""vaelib 0.1.0's code paths before the CPU speed work (issue 18), kept to measure ratios in one run.

- The decoder's last transposed convolution ran on oneDNN, no feature map was channels-last,
  and every ReLU made a new tensor.
- Each training step read three numbers from the device (loss, recon, kl) and used Adam's
  per-tensor update.
- The importance-weighted estimator is the same code as today: it gains through the model.

``as_before(model)`` returns a copy of a ConvVAE that computes with the old paths; its weights,
and so every value it computes, are the same to rounding.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

import vaelib


class _OldConvVAE(vaelib.ConvVAE):
    """ConvVAE.encode and decode as they were: contiguous (B, C, H, W) feature maps throughout."""

    def encode(self, x):
        self.check_input(x)
        mu, log_var = self.to_posterior(self.encoder_fc(self.encoder_conv(x))).chunk(2, dim=-1)
        return mu, log_var

    def decode(self, z):
        h = self.decoder_fc(z).view(-1, *self.feature_shape)
        return self.decoder_conv(h)


def as_before(model: vaelib.ConvVAE) -> vaelib.ConvVAE:
    """A copy of ``model`` that runs 0.1.0's layers (same weights)."""
    old = copy.deepcopy(model)
    old.__class__ = _OldConvVAE
    for layer in old.modules():
        if isinstance(layer, nn.ConvTranspose2d):
            layer.__class__ = nn.ConvTranspose2d  # oneDNN for the last layer too
        if isinstance(layer, nn.ReLU):
            layer.inplace = False  # a new tensor per activation
    return old


def old_train_step(model, optimizer, x, eps) -> float:
    """One step of 0.1.0's fit: three host reads per step."""
    output, mu, log_var = model(x, eps)
    terms = vaelib.elbo_loss(output, mu, log_var, x, **model.likelihood_kwargs())
    loss = terms.loss.item()
    optimizer.zero_grad(set_to_none=True)
    terms.loss.backward()
    optimizer.step()
    terms.recon.item(), terms.kl.item()
    return loss


def old_adam(model) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=1e-3)
