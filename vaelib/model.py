"""The convolutional VAE: encoder q(z|x), reparameterized sampling, decoder p(x|z)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .config import VAEConfig
from .losses import gaussian_kl, gaussian_log_prob, reconstruction_nll


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    """The same images (B, C, H, W), stored channel by channel for each pixel ("channels last").

    Only the memory layout changes, not a single value: on a CPU, oneDNN's convolutions run
    faster on this layout (measured by benchmarks/throughput.py).
    """
    return x.contiguous(memory_format=torch.channels_last)


class OutputConvTranspose2d(nn.ConvTranspose2d):
    """The decoder's last layer: an ``nn.ConvTranspose2d`` whose forward pass on the CPU runs
    PyTorch's own kernel instead of oneDNN's.

    Both compute the same sums. oneDNN, PyTorch's default CPU backend for convolutions, is
    several times slower for a transposed convolution with as few output channels as an image
    has (1 or 3) than PyTorch's im2col kernel (measured by benchmarks/throughput.py); this layer
    runs once per decoded image, 5000 times per test image in the likelihood of chapter 7.
    """

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if x.device.type != "cpu":
            return super().forward(x, output_size)
        was_enabled = torch.backends.mkldnn.set_flags(False)[0]  # only the on/off flag
        try:
            return super().forward(x.contiguous(), output_size)  # this kernel wants (B, C, H, W) order
        finally:
            torch.backends.mkldnn.set_flags(was_enabled)


def _relu() -> nn.ReLU:
    """ReLU that overwrites its input: no new tensor per layer (the layers before it, Linear and
    convolutions, do not need their outputs for their gradients, so nothing is lost)."""
    return nn.ReLU(inplace=True)


def _downsampled_sizes(size: int, num_layers: int) -> list[int]:
    """Side lengths after each stride-2 convolution (kernel 4, padding 1): s -> floor(s / 2).

    Returns num_layers + 1 sizes, starting with the input size.
    """
    sizes = [size]
    for _ in range(num_layers):
        sizes.append(sizes[-1] // 2)
    return sizes


class ConvVAE(nn.Module):
    """A convolutional variational autoencoder for images of any size (8 pixels and up) and channels.

    Encoder: stride-2 ``Conv2d`` + ReLU layers, each halving height and width, then
    fully connected layers giving ``mu`` and ``log_var`` of q(z|x) = N(mu, diag(exp(log_var))).
    Decoder: the mirror image, fully connected layers to feature maps, then ``ConvTranspose2d``
    layers back to exactly the input size. The decoder returns **logits**; ``sigmoid`` is applied
    only to show images (or to get the Gaussian decoder's mean).

    Build it from the fields of :class:`VAEConfig`: ``ConvVAE(1, 28, latent_dim=20)``, or
    ``ConvVAE(**config.to_dict())`` from a stored config; ``model.config`` holds them.
    """

    family = "conv-vae"  # the name checkpoints store, to rebuild the right class (see vaelib.families)
    config_class = VAEConfig

    def __init__(self, in_channels: int = 1, image_size: int | tuple[int, int] = 28, latent_dim: int = 20, **kwargs):
        super().__init__()
        self.config = self.config_class(in_channels=in_channels, image_size=image_size, latent_dim=latent_dim, **kwargs)
        cfg = self.config
        channels = (cfg.in_channels, *cfg.hidden_channels)
        heights = _downsampled_sizes(cfg.image_size[0], len(cfg.hidden_channels))
        widths = _downsampled_sizes(cfg.image_size[1], len(cfg.hidden_channels))
        self.feature_shape = (channels[-1], heights[-1], widths[-1])
        feature_size = math.prod(self.feature_shape)

        # Encoder: each conv halves the sides, e.g. 1x28x28 -> 32x14x14 -> 64x7x7.
        conv_layers: list[nn.Module] = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            conv_layers += [nn.Conv2d(c_in, c_out, kernel_size=4, stride=2, padding=1), _relu()]
        self.encoder_conv = nn.Sequential(*conv_layers, nn.Flatten())
        encoder_out = feature_size
        if cfg.hidden_dim:
            self.encoder_fc = nn.Sequential(nn.Linear(feature_size, cfg.hidden_dim), _relu())
            encoder_out = cfg.hidden_dim
        else:
            self.encoder_fc = nn.Identity()
        # One linear layer gives both mu and log_var: 2 * latent_dim numbers.
        self.to_posterior = nn.Linear(encoder_out, 2 * cfg.latent_dim)

        # Decoder: latent code -> feature maps -> transposed convs back to the input size.
        if cfg.hidden_dim:
            self.decoder_fc = nn.Sequential(
                nn.Linear(cfg.latent_dim, cfg.hidden_dim), _relu(), nn.Linear(cfg.hidden_dim, feature_size), _relu()
            )
        else:
            self.decoder_fc = nn.Sequential(nn.Linear(cfg.latent_dim, feature_size), _relu())
        deconv_layers: list[nn.Module] = []
        # A Gaussian decoder that predicts its variance outputs two numbers per pixel and channel.
        out_channels = cfg.in_channels * (2 if self.predicts_variance else 1)
        up_channels = (*channels[:0:-1], out_channels)  # e.g. (64, 32, 1)
        up_heights, up_widths = heights[::-1], widths[::-1]  # e.g. (7, 14, 28)
        for i, (c_in, c_out) in enumerate(zip(up_channels[:-1], up_channels[1:])):
            # A transposed conv (kernel 4, stride 2, padding 1) maps s to 2s + output_padding;
            # output_padding = 1 restores an odd side that the encoder rounded down.
            pad_h = up_heights[i + 1] - 2 * up_heights[i]
            pad_w = up_widths[i + 1] - 2 * up_widths[i]
            last = i == len(up_channels) - 2
            layer = OutputConvTranspose2d if last else nn.ConvTranspose2d
            deconv_layers.append(
                layer(c_in, c_out, kernel_size=4, stride=2, padding=1, output_padding=(pad_h, pad_w))
            )
            if not last:
                deconv_layers.append(_relu())  # no activation on the last layer: it returns logits
        self.decoder_conv = nn.Sequential(*deconv_layers)

        if cfg.likelihood == "gaussian" and not self.predicts_variance:
            # One log-variance per pixel, shared by all images: learned ("per-pixel") or constant ("fixed").
            initial = torch.full((cfg.in_channels, *cfg.image_size), float(cfg.gaussian_log_var))
            if cfg.gaussian_variance == "per-pixel":
                self.decoder_log_var = nn.Parameter(initial)
            else:
                self.register_buffer("decoder_log_var", initial)

    @property
    def predicts_variance(self) -> bool:
        """True for a Gaussian decoder that outputs a log-variance for every pixel from z."""
        return self.config.likelihood == "gaussian" and self.config.gaussian_variance == "decoder"

    # ------------------------------------------------------------------ checks
    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` unless x has shape (batch, C, H, W) matching the config."""
        expected = (self.config.in_channels, *self.config.image_size)
        if x.dim() == 3 and tuple(x.shape) == expected:
            raise ValueError(f"got one image of shape {tuple(x.shape)}; add a batch dimension: x.unsqueeze(0)")
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"expected images of shape (batch, {expected[0]}, {expected[1]}, {expected[2]}) "
                f"(channels, height, width), got {tuple(x.shape)}"
            )

    @property
    def device(self) -> torch.device:
        """The device the parameters live on."""
        return next(self.parameters()).device

    # ------------------------------------------------------------------ the VAE
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x): images (B, C, H, W) -> ``mu`` and ``log_var``, each (B, latent_dim)."""
        self.check_input(x)
        h = self.encoder_fc(self.encoder_conv(_channels_last(x)))
        mu, log_var = self.to_posterior(h).chunk(2, dim=-1)
        return mu, log_var

    @staticmethod
    def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """Sample z ~ N(mu, exp(log_var)) as a differentiable function of mu and log_var.

        z = mu + sigma * eps with eps ~ N(0, I) and sigma = exp(0.5 * log_var): the same value as
        sqrt(exp(log_var)) but without overflowing exp(log_var) for large log_var.
        Pass ``eps`` to fix the noise (the training loop does, for reproducible runs).
        Shapes: mu, log_var, eps (..., D) -> z (..., D).
        """
        if eps is None:
            eps = torch.randn_like(mu)
        return mu + torch.exp(0.5 * log_var) * eps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """p(x|z): latent codes (B, latent_dim) -> logits (B, C, H, W).

        A Gaussian decoder that predicts its variance returns (B, 2C, H, W): C channels of mean
        logits, then C channels of log-variances (already above ``min_log_var``).
        """
        if z.dim() != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"expected latent codes of shape (batch, {self.config.latent_dim}), got {tuple(z.shape)}")
        h = self.decoder_fc(z).view(-1, *self.feature_shape)
        output = self.decoder_conv(_channels_last(h))
        if self.predicts_variance:
            mean_logits, raw_log_var = output.chunk(2, dim=1)
            output = torch.cat([mean_logits, self._floored(raw_log_var)], dim=1)
        return output

    def _floored(self, log_var: torch.Tensor) -> torch.Tensor:
        """A smooth lower bound: min_log_var + softplus(log_var - min_log_var) > min_log_var.

        Unlike a clamp, it keeps a gradient, so a log-variance below the floor can come back.
        """
        floor = self.config.min_log_var
        return floor + F.softplus(log_var - floor)

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode, sample one z per image, decode: x (B, C, H, W) -> (logits (B, C, H, W), mu, log_var (B, D)).

        ``eps`` (B, D) optionally fixes the standard-normal noise of the reparameterization. With
        ``eps`` (S, B, D), S codes per image are decoded (the importance-weighted bound): the
        logits are (S * B, C, H, W), sample-major, and the encoder still runs once per image.
        """
        mu, log_var = self.encode(x)
        z, _ = self.sample_posterior(mu, log_var, eps)
        return self.decode(z.reshape(-1, z.shape[-1])), mu, log_var

    # ------------------------------------------------------------------ the posterior q(z|x)
    diagonal_posterior = True  # q(z|x) = N(mu, diag(exp(log_var))); False for a flow (vaelib.IAFVAE)

    def sample_posterior(self, mu: torch.Tensor, log_var: torch.Tensor, eps: torch.Tensor | None = None):
        """A code z ~ q(z|x) and its log-density log q(z|x), from the encoder's (mu, log_var).

        Here z = mu + sigma * eps and log q is the diagonal Gaussian's; a model with a richer
        posterior (vaelib.IAFVAE) transforms z further and corrects log q. Every objective and
        evaluation takes z and log q from here. Shapes: mu, log_var (B, D), eps (..., B, D) ->
        z (..., B, D), log q (..., B).
        """
        z = self.reparameterize(mu, log_var, eps)
        return z, gaussian_log_prob(z, mu, log_var).sum(-1)

    # ------------------------------------------------------------------ the prior p(z)
    has_standard_prior = True  # p(z) = N(0, I)

    @property
    def closed_form_kl(self) -> bool:
        """True when KL(q(z|x) || p(z)) has a closed form: a diagonal Gaussian q and p = N(0, I)."""
        return self.has_standard_prior and self.diagonal_posterior

    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) = log N(z; 0, I), summed over the latent dimensions: z (..., D) -> (...)."""
        zero = z.new_zeros(())
        return gaussian_log_prob(z, zero, zero).sum(-1)

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes z ~ p(z) = N(0, I): (n, D) on the model's device."""
        return torch.randn(n, self.config.latent_dim, generator=generator, device=self.device)

    def kl(self, mu: torch.Tensor, log_var: torch.Tensor, z: torch.Tensor,
           log_posterior: torch.Tensor | None = None) -> torch.Tensor:
        """KL(q(z|x) || p(z)) per image: (B, D) each -> (B,), in nats.

        In closed form where there is one (z is then not used); otherwise estimated from the code
        z ~ q(z|x) as log q(z|x) - log p(z), an unbiased one-sample estimate. ``log_posterior``
        (B,) is log q(z|x) from :meth:`sample_posterior`; without it q is the diagonal Gaussian.
        """
        if self.closed_form_kl:
            return gaussian_kl(mu, log_var)
        if log_posterior is None:
            if not self.diagonal_posterior:
                raise ValueError("this model's q(z|x) is a flow: pass log_posterior from sample_posterior")
            log_posterior = gaussian_log_prob(z, mu, log_var).sum(-1)
        return log_posterior - self.log_prior(z)

    # ------------------------------------------------------------------ likelihood
    def likelihood_kwargs(self) -> dict:
        """The likelihood arguments of :func:`vaelib.elbo_loss` for this model's decoder.

        ``{"likelihood": ..., "decoder_log_var": ...}``: the per-pixel log-variance (floored) of a
        Gaussian decoder that has one, else None.
        """
        decoder_log_var = getattr(self, "decoder_log_var", None)
        if decoder_log_var is not None and self.config.gaussian_variance == "per-pixel":
            decoder_log_var = self._floored(decoder_log_var)
        return {"likelihood": self.config.likelihood, "decoder_log_var": decoder_log_var}

    def reconstruction_nll(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) per image, summed over pixels: decoder output, x (B, C, H, W) -> (B,) in nats."""
        return reconstruction_nll(output, x, **self.likelihood_kwargs())

    def decoder_log_prob(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) for S codes per image: x (B, C, H, W), z (S, B, D) -> (S, B)."""
        num_samples, batch = z.shape[:2]
        logits = self.decode(z.reshape(num_samples * batch, -1))
        x_repeated = x.unsqueeze(0).expand(num_samples, *x.shape).reshape(num_samples * batch, *x.shape[1:])
        return -self.reconstruction_nll(logits, x_repeated).view(num_samples, batch)

    # ------------------------------------------------------------------ images
    def decoder_mean(self, output: torch.Tensor) -> torch.Tensor:
        """Decoder output -> the mean of p(x|z), images (B, C, H, W) in [0, 1].

        sigmoid(logits) for the Bernoulli and Gaussian decoders; the continuous Bernoulli's mean
        is not its parameter sigmoid(logits), so torch.distributions computes it.
        """
        if self.config.likelihood == "continuous-bernoulli":
            return torch.distributions.ContinuousBernoulli(logits=output, validate_args=False).mean
        if self.predicts_variance:
            output = output[:, : self.config.in_channels]
        return torch.sigmoid(output)

    @torch.no_grad()
    def decode_images(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes (N, latent_dim) -> images (N, C, H, W) in [0, 1], the decoder mean."""
        return self.decoder_mean(self.decode(z.to(self.device)))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw n images from the model: z ~ p(z), shown as the decoder mean. Returns (n, C, H, W) in [0, 1]."""
        return self.decode_images(self.sample_prior(n, generator))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, use_mean: bool = True) -> torch.Tensor:
        """Encode and decode images (B, C, H, W) -> reconstructions (B, C, H, W) in [0, 1].

        With ``use_mean`` the code is the posterior mean (for a flow, the image of the Gaussian's
        mean); otherwise one sample of q(z|x).
        """
        mu, log_var = self.encode(x)
        eps = torch.zeros_like(mu) if use_mean else None  # eps = 0: the code at the Gaussian's mean
        return self.decode_images(self.sample_posterior(mu, log_var, eps)[0])

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def _layers(module: nn.Module) -> list[nn.Module]:
    """The layers inside a Sequential, or the module itself."""
    return list(module) if isinstance(module, nn.Sequential) else [module]


def describe_layers(model: ConvVAE) -> list[dict]:
    """A shape table: one row per layer with its output shape and parameter count, for one image.

    Returns a list of dicts with keys "part", "layer", "output shape", "parameters".
    """
    rows = []
    x = torch.zeros(1, model.config.in_channels, *model.config.image_size, device=model.device)

    def run(part: str, modules, h):
        for module in modules:
            h = module(h)
            n = sum(p.numel() for p in module.parameters())
            rows.append({"part": part, "layer": module.__class__.__name__, "output shape": tuple(h.shape[1:]), "parameters": n})
        return h

    with torch.no_grad():
        h = run("encoder", [*model.encoder_conv, *_layers(model.encoder_fc), model.to_posterior], x)
        z = h[:, : model.config.latent_dim]  # the mu half stands in for z
        h = run("decoder", model.decoder_fc, z)
        rows.append({"part": "decoder", "layer": "Unflatten", "output shape": model.feature_shape, "parameters": 0})
        run("decoder", model.decoder_conv, h.view(-1, *model.feature_shape))
    return [r for r in rows if r["layer"] != "Identity"]
