"""The projection discriminator's class term (Miyato & Koyama 2018, "cGANs with Projection Discriminator"),
shared by the built-in discriminators that take labels, and a zero-started embedding for it."""

from __future__ import annotations

import torch
from torch import nn


def class_embedding(classes: int, channels: int) -> nn.Embedding | None:
    """A discriminator's projection embedding, started at zero so the class term grows from nothing; None
    without classes."""
    if not classes:
        return None
    embed = nn.Embedding(classes, channels)
    nn.init.zeros_(embed.weight)
    return embed


def projection(embed: nn.Module | None, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor | float:
    """<embed(y), h> per sample for features ``h`` (N, C), or 0 for an unconditional discriminator (``embed``
    None); a conditional one called without labels is a ValueError."""
    if embed is None:
        return 0.0
    if labels is None:
        raise ValueError("this conditional discriminator needs labels: D(x, labels)")
    return (embed(labels.long()) * h).sum(dim=1)
