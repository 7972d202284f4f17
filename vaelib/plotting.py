"""Plotting helpers. Each returns a matplotlib Figure (the notebook shows it; scripts save it)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure


def make_grid_array(images: torch.Tensor, nrow: int | None = None, padding: int = 2):
    """Tile images (N, C, H, W) in [0, 1] into one (H', W') or (H', W', 3) NumPy array."""
    if images.dim() == 5:  # (R, S, C, H, W): one row of the grid per R
        nrow = images.shape[1]
        images = images.flatten(0, 1)
    if images.dim() != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(images.shape)}")
    import torchvision

    n = len(images)
    nrow = nrow or math.ceil(math.sqrt(n))
    grid = torchvision.utils.make_grid(images.detach().float().cpu().clamp(0, 1), nrow=nrow, padding=padding, pad_value=1.0)
    array = grid.permute(1, 2, 0).numpy()
    return array[..., 0] if images.shape[1] == 1 else array


PIXELS_PER_INCH = 50  # a 10 x 10 grid of 28-pixel images is 6 inches wide at scale 1


def show_images(images: torch.Tensor, nrow: int | None = None, title: str | None = None, scale: float = 1.0, ax=None) -> Figure:
    """Draw a grid of images (N, C, H, W) or (R, S, C, H, W) in [0, 1]; returns the Figure.

    ``scale`` enlarges or shrinks the figure; ``ax`` draws into an existing Axes instead.
    """
    array = make_grid_array(images, nrow)
    if ax is None:
        height, width = array.shape[:2]
        size = (max(2.0, scale * width / PIXELS_PER_INCH), max(1.2, scale * height / PIXELS_PER_INCH + (0.4 if title else 0)))
        fig, ax = plt.subplots(figsize=size)
    else:
        fig = ax.figure
    ax.imshow(array, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig


def plot_history(history: list[dict], title: str | None = None) -> Figure:
    """Training curves of a :func:`~vaelib.fit` history: loss, reconstruction and KL, train and test."""
    epochs = [h["epoch"] for h in history]
    # 9 inches: shown in a book's 700-pixel column, the 10 pt labels stay about 10 pixels high.
    fig, axes = plt.subplots(1, 3, figsize=(9, 3))
    titles = ("-ELBO (loss)", "reconstruction\n-log p(x|z)", "KL(q(z|x) || p(z))")
    for ax, term, label in zip(axes, ("loss", "recon", "kl"), titles):
        for split, style in (("train", "-o"), ("test", "--s")):
            key = f"{split}_{term}"
            if all(key in h for h in history):
                ax.plot(epochs, [h[key] for h in history], style, label=split, markersize=3)
        ax.set_title(label)
        ax.set_xlabel("epoch")
        ax.legend()
    axes[0].set_ylabel("nats per image")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_latent_scatter(means: torch.Tensor, labels: torch.Tensor | None = None, class_names=None, ax=None) -> Figure:
    """Scatter 2-D posterior means (N, 2), coloured by label when given."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 5))
    else:
        fig = ax.figure
    points = means.detach().cpu().numpy()
    colours = None if labels is None else labels.cpu().numpy()
    scatter = ax.scatter(points[:, 0], points[:, 1], c=colours, cmap="tab10", s=2, alpha=0.6)
    if labels is not None:
        cbar = fig.colorbar(scatter, ax=ax, ticks=range(10))
        if class_names:
            cbar.ax.set_yticklabels(class_names)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    return fig
