"""Checking feature sets handed to the distance metrics, and the pass-through extractor torchmetrics needs."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.errors import GanzooError


class MetricError(GanzooError):
    """A metric that cannot be computed from what it was given (too few samples, wrong shapes)."""


class Precomputed(nn.Module):
    """Identity feature extractor: lets torchmetrics' FID and KID consume features we computed ourselves."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """The features, unchanged."""
        return feats


def as_feature_pair(feats_a, feats_b, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Two (N, D) float64 CPU tensors with the same D and finite values, or a clear error."""
    pair = []
    for name, feats in (("first", feats_a), ("second", feats_b)):
        t = torch.as_tensor(feats).detach().cpu().to(torch.float64)
        if t.dim() != 2:
            raise MetricError(f"{what}: the {name} feature set must be 2-D (samples, features), got shape {tuple(t.shape)}")
        if not torch.isfinite(t).all():
            raise MetricError(f"{what}: the {name} feature set holds NaN or infinite values")
        pair.append(t)
    a, b = pair
    if a.shape[1] != b.shape[1]:
        raise MetricError(f"{what}: feature sets differ in width ({a.shape[1]} vs {b.shape[1]})")
    return a, b
