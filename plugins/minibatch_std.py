"""The minibatch standard deviation layer of D (Karras et al. 2018, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation", section 3), shared by the DCGAN, R3GAN and VGAN discriminators."""

from __future__ import annotations

import torch
from torch import nn


class MinibatchStd(nn.Module):
    """Appends one channel: over groups of ``group_size`` samples, the standard deviation of every feature across
    the group, averaged over features and positions (Karras et al. 2018, "Progressive Growing of GANs", section 3),
    so D can tell a group of near-identical fakes from a varied real one. ``group_size`` None takes the whole batch
    as one group; a batch the group size does not divide is grouped by its largest divisor up to ``group_size``, so
    any batch size works. Works on images (N, C, H, W) and clips (N, C, T, H, W) alike."""

    def __init__(self, group_size: int | None = None) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, ...) -> (N, C + 1, ...)."""
        n, positions = x.shape[0], x.shape[2:]
        group = n if self.group_size is None else max(g for g in range(1, min(self.group_size, n) + 1) if n % g == 0)
        grouped = x.reshape(group, n // group, *x.shape[1:])
        features = tuple(range(1, grouped.dim() - 1))
        std = (grouped.var(0, unbiased=False) + 1e-8).sqrt().mean(features)  # (N / group,)
        return torch.cat([x, std.repeat(group).view(n, 1, *(1,) * len(positions)).expand(n, 1, *positions)], dim=1)
