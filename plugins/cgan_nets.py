"""Conditional MLP generator and discriminator (Mirza & Osindero 2014, "Conditional Generative
Adversarial Nets"): the class label, as a learned embedding, is an extra input to both networks."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ganzoo.spec import DataSpec
from ganzoo_plugins.mlp_nets import critic_mlp


def _with_label(embedding: nn.Embedding, inputs: torch.Tensor, labels: torch.Tensor | None, who: str) -> torch.Tensor:
    """inputs (N, F) with the label embedding (N, E) appended."""
    if labels is None:
        raise ValueError(f"the conditional {who} needs labels: {who[0].upper()}(input, labels)")
    return torch.cat([inputs, embedding(labels.long()).to(inputs.dtype)], dim=1)


class ConditionalMLPGenerator(nn.Module):
    """[z, embed(y)] -> [Linear -> BatchNorm -> LeakyReLU(0.2)] per hidden width -> Linear -> tanh (images)."""

    def __init__(self, spec: DataSpec, latent_dim: int, embed_dim: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.latent_dim, self.num_classes, self.shape = latent_dim, spec.num_classes, spec.shape
        self.embedding = nn.Embedding(spec.num_classes, embed_dim)
        layers: list[nn.Module] = []
        width = latent_dim + embed_dim
        for out in hidden:
            layers += [nn.Linear(width, out), nn.BatchNorm1d(out), nn.LeakyReLU(0.2, inplace=True)]
            width = out
        layers.append(nn.Linear(width, math.prod(spec.shape)))
        if spec.kind != "points":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(N, latent_dim) and int labels (N,) -> samples of the data's shape."""
        return self.net(_with_label(self.embedding, z, labels, "generator")).view(z.shape[0], *self.shape)


class ConditionalMLPDiscriminator(nn.Module):
    """[x, embed(y)] -> [Linear -> LeakyReLU(0.2) -> Dropout] per hidden width -> Linear(1).

    With ``projection`` the logit also gets the inner product of a second label embedding with the
    last hidden features, ``<embed'(y), φ(x, y)>`` (the projection discriminator of Miyato & Koyama
    2018, "cGANs with Projection Discriminator"), which makes D judge whether image and label agree
    far more directly than the concatenated label alone.
    """

    def __init__(self, spec: DataSpec, embed_dim: int, hidden: Sequence[int], dropout: float,
                 projection: bool = False) -> None:
        super().__init__()
        self.num_classes = spec.num_classes
        self.embedding = nn.Embedding(spec.num_classes, embed_dim)
        body = critic_mlp(math.prod(spec.shape) + embed_dim, hidden, dropout)
        self.features, self.head = body[:-1], body[-1]
        self.projection = nn.Embedding(spec.num_classes, hidden[-1]) if projection else None
        if self.projection is not None:
            nn.init.zeros_(self.projection.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per sample, judged together with its label."""
        h = self.features(_with_label(self.embedding, x.flatten(1), labels, "discriminator"))
        logit = self.head(h).squeeze(1)
        if self.projection is not None:
            logit = logit + (self.projection(labels.long()).to(h.dtype) * h).sum(1)
        return logit
