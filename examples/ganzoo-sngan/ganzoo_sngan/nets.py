"""SNGAN networks (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks").

The discriminator is the paper's "standard CNN" (3x3 stride-1 and 4x4 stride-2 convolutions,
LeakyReLU 0.1) with every weight spectrally normalized, global sum pooling and, for labelled
data, the projection term of Miyato & Koyama 2018 ("cGANs with Projection Discriminator").
The generator is DCGAN-style (Radford et al. 2015): a linear map to a small feature map,
transposed convolutions with batch norm, tanh.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo.spec import DataSpec

MAX_UPSAMPLINGS = 3
MIN_BOTTOM = 4


def upsamplings(size: int) -> int:
    """How many 2x steps lead from a feature map of at least 4x4 up to ``size`` (at most 3)."""
    steps = 0
    while steps < MAX_UPSAMPLINGS and size % 2 == 0 and size // 2 >= MIN_BOTTOM:
        size //= 2
        steps += 1
    return steps


class SNGenerator(nn.Module):
    """z (+ label embedding) -> Linear -> [ConvTranspose 4x4/2 -> BN -> ReLU] x n -> Conv 3x3 -> tanh."""

    def __init__(self, spec: DataSpec, latent_dim: int, channels: int, num_classes: int = 0) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        steps = upsamplings(spec.shape[1])
        self.bottom = spec.shape[1] // 2**steps
        self.width = channels * 2**steps
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        self.project = nn.Sequential(nn.Linear(latent_dim * (2 if num_classes else 1), self.width * self.bottom**2),
                                     nn.Unflatten(1, (self.width, self.bottom, self.bottom)),
                                     nn.BatchNorm2d(self.width), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        width = self.width
        for _ in range(steps):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.BatchNorm2d(width // 2), nn.ReLU(inplace=True)]
            width //= 2
        layers += [nn.Conv2d(width, spec.channels, 3, 1, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [-1, 1]; labels are used when the generator is conditional."""
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)
        return self.body(self.project(z))


class SNDiscriminator(nn.Module):
    """[SN-Conv 3x3/1, SN-Conv 4x4/2] per scale, SN-Conv 3x3, global sum pool, SN-Linear (+ projection)."""

    def __init__(self, spec: DataSpec, channels: int, num_classes: int = 0, power_iterations: int = 1) -> None:
        super().__init__()

        def sn(module: nn.Module) -> nn.Module:
            return spectral_norm(module, n_power_iterations=power_iterations)

        layers: list[nn.Module] = []
        width_in, width = spec.channels, channels
        for _ in range(upsamplings(spec.shape[1])):
            layers += [sn(nn.Conv2d(width_in, width, 3, 1, 1)), nn.LeakyReLU(0.1),
                       sn(nn.Conv2d(width, width, 4, 2, 1)), nn.LeakyReLU(0.1)]
            width_in, width = width, width * 2
        layers += [sn(nn.Conv2d(width_in, width, 3, 1, 1)), nn.LeakyReLU(0.1)]
        self.features = nn.Sequential(*layers)
        self.linear = sn(nn.Linear(width, 1))
        self.embed = sn(nn.Embedding(num_classes, width)) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per image: linear(h) + <embed(y), h> with h the sum-pooled features."""
        h = self.features(x).sum(dim=(2, 3))
        out = self.linear(h).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(labels) * h).sum(dim=1)
        return out
