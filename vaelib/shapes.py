"""Colour shapes: a procedural data set of 3-channel images with known generative factors.

Each image shows one shape (square, ellipse or triangle) of one colour on a black background.
Six factors, drawn independently and uniformly, decide everything about it:

========  =====================================================  ===================
factor    meaning                                                range
========  =====================================================  ===================
shape     0 square, 1 ellipse, 2 triangle                        {0, 1, 2}
hue       colour on the HSV wheel (full saturation and value),  [0, 2/3]
          from red (0) through yellow, green, cyan to blue
scale     size: every shape has the area of a disc of radius    [0.08, 0.16]
          ``scale`` (in image widths)
x, y      the shape's centre (y grows downwards, like rows)     [0.28, 0.72]
rotation  angle in radians (counter-clockwise on screen)       [-pi/6, pi/6]
========  =====================================================  ===================

The hue stops at blue so that it is an interval, not a circle; the rotation range is smaller
than every shape's symmetry (90 degrees for the square, 120 for the triangle, 180 for the
ellipse), so that different factors always give different images.

Rendering is vectorised: a whole batch of images is one set of tensor operations on a grid
of pixel centres. Each shape is a signed distance ``d`` (negative inside, in image widths);
the pixel's coverage is ``clamp(0.5 - d * width, 0, 1)``, a one-pixel antialiased edge.
The same seed gives the same images and factors (the factors come from one seeded
``torch.Generator``).
"""

from __future__ import annotations

import math

import torch

from .data import ImageData

SHAPE_NAMES = ("square", "ellipse", "triangle")
FACTOR_NAMES = ("shape", "hue", "scale", "x", "y", "rotation")
#: (low, high) of every continuous factor; shape is an integer in {0, 1, 2}.
FACTOR_RANGES = {
    "shape": (0, len(SHAPE_NAMES) - 1),
    "hue": (0.0, 2 / 3),
    "scale": (0.08, 0.16),
    "x": (0.28, 0.72),  # the largest triangle's vertex stays 1.5 pixels from the border
    "y": (0.28, 0.72),
    "rotation": (-math.pi / 6, math.pi / 6),
}
ELLIPSE_ASPECT = 1.5  # the ellipse's semi-axes are scale * sqrt(aspect) and scale / sqrt(aspect)
#: (number of images, seed) of each split of vaelib.load_dataset("shapes", split).
SPLITS = {"train": (20_000, 0), "test": (2_000, 1)}
CHUNK = 1_000  # images rendered per batch of tensor operations (bounds the memory)


def sample_shape_factors(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw n factor vectors, each factor independent and uniform on its range.

    Returns float32 (n, 6) in the order of ``FACTOR_NAMES``; column 0 (shape) holds 0., 1. or 2.
    One uniform draw per factor and image, row by row, so the first images do not depend on n.
    """
    u = torch.rand(n, len(FACTOR_NAMES), generator=generator)  # (n, 6) in [0, 1)
    low = torch.tensor([FACTOR_RANGES[name][0] for name in FACTOR_NAMES[1:]])
    high = torch.tensor([FACTOR_RANGES[name][1] for name in FACTOR_NAMES[1:]])
    shape = (u[:, :1] * len(SHAPE_NAMES)).floor()  # 0, 1 or 2, equally likely
    return torch.cat([shape, low + (high - low) * u[:, 1:]], dim=1)


def hue_to_rgb(hue: torch.Tensor) -> torch.Tensor:
    """Fully saturated, full-value colours: hue (N,) in [0, 1) -> RGB (N, 3) in [0, 1].

    The HSV formula with S = V = 1: channel n in (R, G, B) = (5, 3, 1) is
    ``1 - clamp(min(k, 4 - k), 0, 1)`` with ``k = (n + 6 * hue) mod 6``.
    """
    n = torch.tensor([5.0, 3.0, 1.0], device=hue.device)
    k = (n + 6 * hue[:, None]) % 6  # (N, 3)
    return 1 - torch.minimum(k, 4 - k).clamp(0, 1)


def shape_signed_distance(factors: torch.Tensor, image_size: int = 64) -> torch.Tensor:
    """Signed distance (in image widths, negative inside) of every pixel centre to each shape.

    factors (N, 6) -> (N, H, W) with H = W = image_size. Each shape kind is computed for the
    images of that kind only (three batched computations, no loop over images).
    """
    _, _, scale, cx, cy, angle = factors.T  # each (N,)
    kind = factors[:, 0].long()
    centres = (torch.arange(image_size, dtype=torch.float32, device=factors.device) + 0.5) / image_size
    distance = torch.empty(len(factors), image_size, image_size, device=factors.device)
    for k in range(len(SHAPE_NAMES)):
        chosen = kind == k
        if not chosen.any():
            continue
        px = centres[None, None, :] - cx[chosen, None, None]  # (n, 1, W): pixel centre minus shape centre
        py = cy[chosen, None, None] - centres[None, :, None]  # (n, H, 1): upwards positive
        cos, sin = angle[chosen].cos()[:, None, None], angle[chosen].sin()[:, None, None]
        u = cos * px + sin * py  # (n, H, W): coordinates in the shape's own frame (rotated by -angle)
        v = -sin * px + cos * py
        distance[chosen] = _DISTANCES[k](u, v, scale[chosen, None, None])
    return distance


def _square(u, v, scale):
    # Area pi * scale^2: half-side h = scale * sqrt(pi) / 2; distance max(|u|, |v|) - h.
    return torch.maximum(u.abs(), v.abs()) - scale * math.sqrt(math.pi) / 2


def _ellipse(u, v, scale):
    # Area pi * a * b = pi * scale^2; (r - 1) * b, with r = 1 on the edge, is its distance near the edge.
    a, b = scale * math.sqrt(ELLIPSE_ASPECT), scale / math.sqrt(ELLIPSE_ASPECT)
    return (torch.sqrt((u / a) ** 2 + (v / b) ** 2) - 1) * b


def _triangle(u, v, scale):
    # Equilateral, apex up at angle 0, area 3 sqrt(3) r^2 = pi * scale^2 with r its inradius:
    # the largest of the three half-plane distances n_k . (u, v) - r (outward normals n_k).
    r = scale * math.sqrt(math.pi / (3 * math.sqrt(3)))
    normals = [-math.pi / 2 + 2 * math.pi * k / 3 for k in range(3)]  # down, upper right, upper left
    return torch.stack([math.cos(t) * u + math.sin(t) * v for t in normals]).amax(0) - r


_DISTANCES = (_square, _ellipse, _triangle)


def render_shapes(factors: torch.Tensor, image_size: int = 64) -> torch.Tensor:
    """Draw one image per factor vector: factors (N, 6) -> uint8 images (N, 3, H, W), H = W = image_size.

    A pixel is its coverage (one-pixel antialiased edge) times the shape's colour, on black.
    """
    if factors.dim() != 2 or factors.shape[1] != len(FACTOR_NAMES):
        raise ValueError(f"factors must have shape (N, {len(FACTOR_NAMES)}) with columns {FACTOR_NAMES}, "
                         f"got {tuple(factors.shape)}")
    images = []
    for chunk in factors.float().split(CHUNK):
        coverage = (0.5 - shape_signed_distance(chunk, image_size) * image_size).clamp(0, 1)  # (n, H, W)
        colour = hue_to_rgb(chunk[:, 1])  # (n, 3)
        pixels = coverage[:, None] * colour[:, :, None, None]  # (n, 3, H, W) in [0, 1]
        images.append((pixels * 255).round().to(torch.uint8))
    return torch.cat(images)


def generate_shapes(n: int, seed: int = 0, image_size: int = 64) -> ImageData:
    """A colour-shapes data set of n images: the same seed gives the same images and factors.

    Returns :class:`ImageData` with uint8 images (n, 3, image_size, image_size), labels = the
    shape index, classes = ``SHAPE_NAMES``, ``factors`` (n, 6) float32 and ``factor_names``.
    """
    factors = sample_shape_factors(n, torch.Generator().manual_seed(seed))
    images = render_shapes(factors, image_size)
    return ImageData(images, factors[:, 0].long(), "shapes", SHAPE_NAMES, factors=factors, factor_names=FACTOR_NAMES)


def load_shapes(split: str = "train", image_size: int = 64) -> ImageData:
    """The fixed splits of ``vaelib.load_dataset("shapes", split)``: 20,000 training and 2,000
    test images (seeds 0 and 1), generated in memory; nothing is read from or written to disk."""
    n, seed = SPLITS[split]
    return generate_shapes(n, seed, image_size)
