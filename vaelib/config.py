"""The model's configuration: a plain dataclass, so a checkpoint can store it as a dict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .losses import LIKELIHOODS

GAUSSIAN_VARIANCES = ("fixed", "per-pixel", "decoder")


@dataclass
class VAEConfig:
    """Everything needed to rebuild a :class:`~vaelib.ConvVAE`.

    Attributes:
        in_channels: image channels (1 for MNIST, 3 for CIFAR-10).
        image_size: (height, width) of the images, each at least 8.
        latent_dim: size of the latent code z.
        hidden_channels: channels of each stride-2 convolution; each one halves height and width.
        hidden_dim: width of the fully connected layer between the feature maps and the
            latent code (0 removes that layer).
        likelihood: "bernoulli" (binary pixels, decoder outputs logits), "continuous-bernoulli"
            (gray levels in [0, 1], the same logits with a normalised density) or "gaussian"
            (decoder mean is sigmoid(logits)).
        gaussian_variance: Gaussian only: "fixed" (one constant), "per-pixel" (one learned
            log-variance per pixel, shared by all images) or "decoder" (predicted from z: the
            decoder outputs a mean and a log-variance for every pixel, as in Kingma & Welling).
        gaussian_log_var: Gaussian only: the fixed log-variance, or the initial per-pixel value.
        min_log_var: Gaussian only: lower bound on a learned log-variance, which keeps the
            density from growing without limit on pixels that never change.
    """

    in_channels: int = 1
    image_size: tuple[int, int] = (28, 28)
    latent_dim: int = 20
    hidden_channels: tuple[int, ...] = (32, 64)
    hidden_dim: int = 256
    likelihood: str = "bernoulli"
    gaussian_variance: str = "per-pixel"
    gaussian_log_var: float = -3.0
    min_log_var: float = -6.0

    def __post_init__(self) -> None:
        if isinstance(self.image_size, int):
            self.image_size = (self.image_size, self.image_size)
        self.image_size = tuple(int(s) for s in self.image_size)
        self.hidden_channels = tuple(int(c) for c in self.hidden_channels)
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the bad field and what would fix it."""
        if self.in_channels < 1:
            raise ValueError(f"in_channels must be at least 1, got {self.in_channels}")
        if len(self.image_size) != 2 or min(self.image_size) < 8:
            raise ValueError(f"image_size must be (height, width) with both at least 8, got {self.image_size}")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1, got {self.latent_dim}")
        if not self.hidden_channels:
            raise ValueError("hidden_channels needs at least one convolution, e.g. (32, 64)")
        smallest = min(self.image_size)
        if smallest // 2 ** len(self.hidden_channels) < 1:
            raise ValueError(
                f"{len(self.hidden_channels)} stride-2 convolutions shrink a side of {smallest} pixels "
                "to nothing; use fewer hidden_channels or larger images"
            )
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        if self.gaussian_variance not in GAUSSIAN_VARIANCES:
            raise ValueError(f"gaussian_variance must be one of {GAUSSIAN_VARIANCES}, got {self.gaussian_variance!r}")

    def to_dict(self) -> dict:
        """A plain dict (lists instead of tuples) that ``torch.load(weights_only=True)`` accepts."""
        data = asdict(self)
        data["image_size"] = list(self.image_size)
        data["hidden_channels"] = list(self.hidden_channels)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "VAEConfig":
        """Rebuild a config from :meth:`to_dict`'s output; unknown keys raise ``ValueError``."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown VAEConfig fields {sorted(unknown)}; expected some of {sorted(known)}")
        return cls(**data)
