"""Generation from a trained VAE: interpolation, latent traversals and the 2-D manifold grid."""

from __future__ import annotations

import torch

from .data import iterate_batches
from .model import ConvVAE


def lerp(z_a: torch.Tensor, z_b: torch.Tensor, steps: int) -> torch.Tensor:
    """Linear interpolation: (D,), (D,) -> (steps, D), from z_a to z_b inclusive."""
    t = torch.linspace(0, 1, steps, device=z_a.device).unsqueeze(1)
    return (1 - t) * z_a + t * z_b


def slerp(z_a: torch.Tensor, z_b: torch.Tensor, steps: int) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985): moves along the great circle between the two codes,
    keeping the norm typical of Gaussian samples instead of cutting through the low-norm centre.

    Shapes: (D,), (D,) -> (steps, D). Falls back to :func:`lerp` for (anti-)parallel codes.
    """
    cos_omega = torch.dot(z_a / z_a.norm(), z_b / z_b.norm()).clamp(-1, 1)
    omega = torch.arccos(cos_omega)
    if omega.abs() < 1e-4 or (torch.pi - omega).abs() < 1e-4:
        return lerp(z_a, z_b, steps)
    t = torch.linspace(0, 1, steps, device=z_a.device).unsqueeze(1)
    return (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / torch.sin(omega)


@torch.no_grad()
def interpolate(model: ConvVAE, x_a: torch.Tensor, x_b: torch.Tensor, steps: int = 10, method: str = "linear") -> torch.Tensor:
    """Decode points between the posterior means of two images.

    Args:
        x_a, x_b: two images (C, H, W).
        method: "linear" or "spherical".
    Returns:
        images (steps, C, H, W) in [0, 1], from x_a's reconstruction to x_b's.
    """
    paths = {"linear": lerp, "spherical": slerp}
    if method not in paths:
        raise ValueError(f"method must be 'linear' or 'spherical', got {method!r}")
    mu, _ = model.encode(torch.stack([x_a, x_b]).to(model.device))
    return model.decode_images(paths[method](mu[0], mu[1], steps))


@torch.no_grad()
def latent_traversal(model: ConvVAE, z: torch.Tensor, dims, values) -> torch.Tensor:
    """Vary one latent dimension at a time around a code, the others held fixed.

    Args:
        z: a base code (D,), e.g. an image's posterior mean or zeros.
        dims: the dimensions to vary (length R).
        values: the values to set them to (length S).
    Returns:
        images (R, S, C, H, W) in [0, 1]: row r varies dimension dims[r].
    """
    values = torch.as_tensor(values, dtype=z.dtype)
    codes = z.repeat(len(dims), len(values), 1)  # (R, S, D)
    for row, dim in enumerate(dims):
        codes[row, :, dim] = values
    images = model.decode_images(codes.flatten(0, 1))
    return images.view(len(dims), len(values), *images.shape[1:])


@torch.no_grad()
def manifold_grid(model: ConvVAE, n: int = 20, edge: float = 0.05) -> torch.Tensor:
    """Kingma & Welling's figure 4: decode a grid over a 2-D latent space.

    The grid is evenly spaced in probability, not in z: coordinates are the Gaussian inverse
    CDF of n points in [edge, 1 - edge], so each cell covers equal prior mass.
    Returns images (n, n, C, H, W); row 0 is the top (largest z_2), columns grow with z_1.
    """
    if model.config.latent_dim != 2:
        raise ValueError(f"manifold_grid needs a 2-D latent space, the model has latent_dim={model.config.latent_dim}")
    quantiles = torch.linspace(edge, 1 - edge, n)
    coords = torch.distributions.Normal(0.0, 1.0).icdf(quantiles)
    z1, z2 = torch.meshgrid(coords, coords.flip(0), indexing="xy")
    images = model.decode_images(torch.stack([z1, z2], dim=-1).reshape(-1, 2))
    return images.view(n, n, *images.shape[1:])


@torch.no_grad()
def encode_means(model: ConvVAE, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Posterior means of a whole set: images (N, C, H, W), uint8 or float -> (N, D)."""
    was_training = model.training
    model.eval()
    batches = iterate_batches(images, batch_size, shuffle=False, device=model.device)
    means = [model.encode(x)[0].cpu() for x in batches]
    model.train(was_training)
    return torch.cat(means)
