"""A richer posterior: the inverse autoregressive flow (IAF) of Kingma et al. (2016).

The ConvVAE's q(z|x) is one diagonal Gaussian: it cannot tilt, bend or correlate its dimensions,
and the true posterior p(z|x) may do all three. An IAF starts from that Gaussian and applies T
invertible steps whose Jacobians are triangular, so that log q(z_T|x) stays one line:

    z_0 = mu + sigma * eps,                       eps ~ N(0, I)
    z_t = gate_t * z_{t-1} + (1 - gate_t) * m_t,  (m_t, gate_t) = AR_t(z_{t-1}, h)
    log q(z_T|x) = log N(z_0; mu, sigma^2) - sum_t sum_j log gate_t,j

Each AR_t is a masked network (MADE, Germain et al. 2015): output j sees only inputs before j,
so dz_t,j / dz_{t-1,i} = 0 for i > j and the log-determinant is the sum of the log-gates on the
diagonal. The gate form (an LSTM-like sigmoid, not a free scale) is Kingma et al.'s
numerically stable version. The order of the dimensions is reversed between steps, so that
every dimension eventually depends on every other.

The context h is what the flow knows of x besides z. Kingma et al. take an extra output of the
encoder; here it is the Gaussian's own (mu, log_var), any function of x being allowed, so that
the encoder's interface, ``encode(x) -> (mu, log_var)``, stays the ConvVAE's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .config import VAEConfig
from .losses import gaussian_log_prob
from .model import ConvVAE


class MaskedLinear(nn.Linear):
    """``nn.Linear`` whose weight is multiplied by a fixed 0/1 mask (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, mask: torch.Tensor):
        super().__init__(in_features, out_features)
        self.register_buffer("mask", mask.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class AutoregressiveNetwork(nn.Module):
    """MADE with a context: z (..., J), h (..., C) -> shift m and gate logit s, each (..., J).

    Output j depends on z_1 .. z_{j-1} and on h, never on z_j .. z_J: every input dimension has
    a degree 1..J, every hidden unit a degree 1..J-1, and a connection exists only from a lower
    or equal degree to a hidden unit, and from a strictly lower degree to an output.
    """

    def __init__(self, dim: int, context_dim: int, hidden: int):
        super().__init__()
        input_degree = torch.arange(1, dim + 1)  # (J,)
        hidden_degree = torch.arange(hidden) % max(dim - 1, 1) + 1  # (H,), cycling through 1..J-1
        self.input_layer = MaskedLinear(dim, hidden, hidden_degree[:, None] >= input_degree[None, :])
        self.context_layer = nn.Linear(context_dim, hidden)  # h reaches every hidden unit
        self.hidden_layer = MaskedLinear(hidden, hidden, hidden_degree[:, None] >= hidden_degree[None, :])
        output_mask = (input_degree[:, None] > hidden_degree[None, :]).repeat(2, 1)  # (2J, H): m, then s
        self.output_layer = MaskedLinear(hidden, 2 * dim, output_mask)
        with torch.no_grad():  # start near the identity: m = 0 and gate = sigmoid(2) = 0.88
            self.output_layer.weight.mul_(0.01)
            self.output_layer.bias.zero_()
            self.output_layer.bias[dim:] = 2.0

    def forward(self, z: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = F.elu(self.input_layer(z) + self.context_layer(context))
        hidden = F.elu(self.hidden_layer(hidden))
        shift, gate_logit = self.output_layer(hidden).chunk(2, dim=-1)
        return shift, gate_logit


class InverseAutoregressiveFlow(nn.Module):
    """T IAF steps: z_0 (..., J), context (..., C) -> z_T (..., J) and sum_t log |det dz_t/dz_{t-1}| (...)."""

    def __init__(self, dim: int, context_dim: int, steps: int, hidden: int):
        super().__init__()
        self.steps = nn.ModuleList(AutoregressiveNetwork(dim, context_dim, hidden) for _ in range(steps))

    def forward(self, z: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_det = z.new_zeros(z.shape[:-1])
        for step in self.steps:
            shift, gate_logit = step(z, context)
            gate = torch.sigmoid(gate_logit)
            z = gate * z + (1 - gate) * shift
            log_det = log_det + F.logsigmoid(gate_logit).sum(-1)  # log gate, without log(0)
            z = z.flip(-1)  # reverse the order for the next step (a permutation: determinant +-1)
        if len(self.steps) % 2:
            z = z.flip(-1)  # undo an odd number of reversals, so z_T's dimensions keep z_0's names
        return z, log_det


@dataclass
class IAFVAEConfig(VAEConfig):
    """:class:`VAEConfig` plus the flow on q(z|x).

    Attributes:
        flow_steps: T, the IAF steps after the diagonal Gaussian (0 would be the ConvVAE).
        flow_hidden: hidden units of each step's autoregressive network.
    """

    flow_steps: int = 2
    flow_hidden: int = 128

    def validate(self) -> None:
        super().validate()
        if self.flow_steps < 1:
            raise ValueError(f"flow_steps must be at least 1 (for none, use ConvVAE), got {self.flow_steps}")
        if self.flow_hidden < max(self.latent_dim - 1, 1):
            raise ValueError(
                f"flow_hidden must be at least latent_dim - 1 = {self.latent_dim - 1}, so that every "
                f"dimension can see the ones before it; got {self.flow_hidden}"
            )


class IAFVAE(ConvVAE):
    """A :class:`ConvVAE` whose posterior is a diagonal Gaussian followed by an IAF:
    ``IAFVAE(1, 28, 16, flow_steps=2)``. The prior stays N(0, I); the decoder is the ConvVAE's.

    ``encode`` still returns the Gaussian's (mu, log_var); :meth:`sample_posterior` applies the
    flow and returns the code with its log-density, and every objective and evaluation uses it.
    """

    family = "iaf-vae"
    config_class = IAFVAEConfig
    diagonal_posterior = False

    def __init__(self, in_channels: int = 1, image_size: int | tuple[int, int] = 28, latent_dim: int = 20, **kwargs):
        super().__init__(in_channels, image_size, latent_dim, **kwargs)
        j = self.config.latent_dim
        self.flow = InverseAutoregressiveFlow(j, 2 * j, self.config.flow_steps, self.config.flow_hidden)

    def sample_posterior(self, mu: torch.Tensor, log_var: torch.Tensor, eps: torch.Tensor | None = None):
        """z_T ~ q(z|x) and log q(z_T|x): mu, log_var (B, J), eps (..., B, J) -> z (..., B, J), log q (..., B)."""
        z0 = self.reparameterize(mu, log_var, eps)
        context = torch.cat([mu, log_var], dim=-1).expand(*z0.shape[:-1], 2 * mu.shape[-1])
        z, log_det = self.flow(z0, context)
        return z, gaussian_log_prob(z0, mu, log_var).sum(-1) - log_det
