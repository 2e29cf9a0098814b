"""Differentiable augmentation of D's inputs (Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable
Augmentation for Data-Efficient GAN Training").

On a small data set D memorizes the real samples and its gradients stop guiding G. DiffAugment
applies the same family of random, differentiable transforms to real and generated samples
every time D sees them, in D's updates and in G's, so D cannot tell the two apart by the
augmentation and G's gradient flows back through it. Policies, as in the paper:

- ``color``: random brightness (± 0.5), saturation (× 0–2 around the channel mean) and
  contrast (× 0.5–1.5 around the sample mean);
- ``translation``: an integer shift of up to 1/8 of each side, the uncovered border filled with
  the data's lowest value (black for images in [-1, 1]);
- ``cutout``: a square of half each side at a random place, filled the same way.

Images (N, C, H, W) and videos (N, C, T, H, W) are both served; a clip's frames share one draw,
so an augmentation never adds motion.
"""

from __future__ import annotations

from typing import Callable

import torch

from ganzoo.errors import ConfigError
from ganzoo.spec import DataSpec

#: Policy names in the order they are applied.
POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"translation,cutout"`` -> the named policies in application order; '' -> none; unknown names are errors."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ConfigError(f"schedule.augment: unknown augmentation {unknown[0]!r}; choose from "
                          f"{', '.join(POLICIES)} (comma-separated), or '' for none")
    return tuple(p for p in POLICIES if p in names)


def _per_sample(x: torch.Tensor, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """One uniform draw per sample, shaped to broadcast over x."""
    shape = (x.shape[0],) + (1,) * (x.dim() - 1)
    return torch.empty(shape, device=x.device, dtype=x.dtype).uniform_(low, high)


def color(x: torch.Tensor, fill: float) -> torch.Tensor:
    """Random brightness, saturation and contrast per sample."""
    x = x + _per_sample(x, -0.5, 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * _per_sample(x, 0.0, 2.0) + mean
    mean = x.mean(dim=tuple(range(1, x.dim())), keepdim=True)
    return (x - mean) * _per_sample(x, 0.5, 1.5) + mean


def _planes(x: torch.Tensor) -> torch.Tensor:
    """(N, ..., H, W) as (N, P, H, W): channels and frames stacked, so one spatial draw covers a clip."""
    return x.reshape(x.shape[0], -1, x.shape[-2], x.shape[-1])


def translation(x: torch.Tensor, fill: float, ratio: float = 0.125) -> torch.Tensor:
    """Shift each sample by up to ``ratio`` of its height and width, filling the border with ``fill``."""
    n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    padded = torch.nn.functional.pad(_planes(x), (sw, sw, sh, sh), value=fill)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + sh - dy
    cols = torch.arange(w, device=x.device).view(1, 1, w) + sw - dx
    index = torch.arange(n, device=x.device).view(n, 1, 1)
    shifted = padded.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2)
    return shifted.reshape(x.shape)


def cutout(x: torch.Tensor, fill: float, ratio: float = 0.5) -> torch.Tensor:
    """Fill a (ratio·H) x (ratio·W) square at a random centre of each sample with ``fill``."""
    n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + 1 - ch % 2, (n, 1, 1), device=x.device) - ch // 2
    left = torch.randint(0, w + 1 - cw % 2, (n, 1, 1), device=x.device) - cw // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    planes = _planes(x)
    return torch.where(hole.unsqueeze(1), torch.full_like(planes, fill), planes).reshape(x.shape)


TRANSFORMS: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {
    "color": color, "translation": translation, "cutout": cutout,
}


class DiffAugment:
    """A parsed policy, applied to every batch D sees; fills with the data's lowest value."""

    def __init__(self, policy: str, spec: DataSpec) -> None:
        names = parse_policy(policy)
        if spec.kind not in ("image", "video"):
            raise ConfigError(f"schedule.augment transforms images and videos; this data set has {spec.kind} "
                              f"samples of shape {tuple(spec.shape)}; leave schedule.augment empty")
        self.transforms = [TRANSFORMS[name] for name in names]
        self.fill = float(spec.value_range[0])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Augment x (N, C, H, W) or (N, C, T, H, W), differentiably; a fresh draw per call."""
        for transform in self.transforms:
            x = transform(x, self.fill)
        return x
