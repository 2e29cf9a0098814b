"""Random affine jitter of image batches: a small rotation, shift and, optionally, scale drawn per image.

Where a network must not care about such small moves: ganzoo's MNIST evaluator trains on jittered digits
(``ganzoo.metrics.evaluator``), and InfoGAN's Q reads its categorical code from jittered samples
(``ganzoo_plugins.infogan_nets``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(x: torch.Tensor, degrees: float, pixels: float, scale: float = 0.0, fill: float | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image of x (N, C, H, W) rotated by an angle drawn uniformly from ±``degrees``, zoomed by a factor drawn
    from 1 ± ``scale`` (drawn only when ``scale`` is set) and shifted by up to ±``pixels`` along each axis. The area
    moved in is continued from the border (``fill`` None) or filled with the value ``fill``. Draws come from
    ``generator`` (on its device), else from torch's global generator on x's device; differentiable in x."""
    n, (height, width) = x.shape[0], x.shape[-2:]
    device = generator.device if generator is not None else x.device
    angle = (torch.rand(n, generator=generator, device=device) * 2 - 1) * (degrees * math.pi / 180)
    cos, sin = torch.cos(angle), torch.sin(angle)
    if scale:
        zoom = 1 + (torch.rand(n, generator=generator, device=device) * 2 - 1) * scale
        cos, sin = cos / zoom, sin / zoom
    shift = torch.rand(n, 2, generator=generator, device=device) * 2 - 1
    across, down = shift[:, 0] * (2 * pixels / width), shift[:, 1] * (2 * pixels / height)
    theta = torch.stack([torch.stack([cos, -sin, across], 1), torch.stack([sin, cos, down], 1)], 1)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    if fill is None:
        return F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    return F.grid_sample(x - fill, grid, padding_mode="zeros", align_corners=False) + fill
