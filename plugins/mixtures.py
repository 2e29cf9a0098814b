"""Built-in plugin ``mixtures``: 2D Gaussian mixtures of the PacGAN protocol (Lin et al. 2018)."""

from __future__ import annotations

import math
from pathlib import Path

from ganzoo import hookimpl

SPLIT_SEEDS = {"train": 0, "test": 1}


def _mixture(modes, std: float, n: int, split: str, seed: int):
    import torch

    from ganzoo.errors import DataError
    from ganzoo.spec import Data, DataSpec

    if split not in SPLIT_SEEDS:
        raise DataError(f"unknown split {split!r} for a mixture; use train or test")
    g = torch.Generator().manual_seed(seed * 7 + SPLIT_SEEDS[split])
    which = torch.randint(0, modes.shape[0], (n,), generator=g)
    span = float(modes.abs().max()) + 4 * std
    # clamp the rare >4-sigma tails so samples honour the declared value_range (DataSpec contract)
    x = (modes[which] + std * torch.randn(n, 2, generator=g)).clamp(-span, span)
    return Data(x, None, DataSpec((2,), 0, (-span, span)), info={"modes": modes, "std": std})


def ring8(root: Path, split: str, download: bool, n: int = 100_000, radius: float = 1.0, std: float = 0.01,
          seed: int = 0):
    """Eight Gaussians evenly spaced on a circle."""
    import torch

    angles = torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8
    modes = torch.stack([radius * angles.cos(), radius * angles.sin()], dim=1).float()
    return _mixture(modes, std, n, split, seed)


def grid25(root: Path, split: str, download: bool, n: int = 100_000, std: float = 0.05, seed: int = 0):
    """25 Gaussians on a 5x5 grid at {-4, -2, 0, 2, 4}²."""
    import torch

    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    modes = torch.cartesian_prod(axis, axis)
    return _mixture(modes, std, n, split, seed)


@hookimpl
def ganzoo_datasets(register):
    """ring8 and grid25."""
    register("ring8", ring8, "8 Gaussians on a circle of radius 1, std 0.01 (PacGAN protocol)")
    register("grid25", grid25, "25 Gaussians on a 5x5 grid at {-4,-2,0,2,4}², std 0.05 (PacGAN protocol)")
