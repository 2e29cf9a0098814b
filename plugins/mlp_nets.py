"""Multilayer-perceptron generator and discriminator (Goodfellow et al. 2014, "Generative Adversarial Nets")."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ganzoo.spec import DataSpec


class MLPGenerator(nn.Module):
    """z -> [Linear -> (BatchNorm) -> ReLU] x depth -> Linear -> tanh for images (identity for points).

    BatchNorm (Ioffe & Szegedy 2015) in the hidden layers is optional: the paper's MNIST
    generator had none, but without it the 784-dimensional output collapses easily.
    """

    def __init__(self, spec: DataSpec, latent_dim: int, hidden: int, depth: int, batchnorm: bool = False) -> None:
        super().__init__()
        self.latent_dim, self.shape = latent_dim, spec.shape
        layers: list[nn.Module] = []
        width = latent_dim
        for _ in range(depth):
            layers.append(nn.Linear(width, hidden, bias=not batchnorm))
            if batchnorm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(nn.ReLU(inplace=True))
            width = hidden
        layers.append(nn.Linear(width, math.prod(spec.shape)))
        if spec.kind != "points":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Generate samples; labels are ignored (unconditional)."""
        return self.net(z).view(z.shape[0], *self.shape)


class UniformLatentMLPGenerator(MLPGenerator):
    """``MLPGenerator`` on latent inputs uniform on [-1, 1]^d, the noise of Goodfellow et al. 2014's
    reference code, instead of Gaussian noise: a square of uniform mass, the shape of a square grid of modes."""

    def sample_latent(self, n: int, generator: torch.Generator | None = None,
                      device: torch.device | str | None = None) -> torch.Tensor:
        """n latent inputs ~ U(-1, 1)^latent_dim."""
        return torch.rand(n, self.latent_dim, generator=generator, device=device) * 2 - 1


class MixtureLatentMLPGenerator(MLPGenerator):
    """``MLPGenerator`` on a latent mixture of Gaussians with learnt means and standard deviations (DeLiGAN:
    Gurumurthy, Sarvadevabhatla & Babu 2017, "DeLiGAN: Generative Adversarial Networks for Diverse and
    Limited Data"): z = μ_k + σ_k ⊙ ε with ε ~ N(0, I) and the component k uniform over ``components``.

    A continuous map from one connected latent must carry some mass across the gaps between separate modes
    (Tanielian et al. 2020, "Learning disconnected manifolds: a no GAN's land"); a mixture lets each
    component settle on one mode. The latent input is [ε | one-hot k] (``latent_dim`` + ``components``
    wide); the forward pass maps it through the mixture, so a soft mix of components (an interpolation)
    blends their means and deviations.
    """

    #: DeLiGAN's initial standard deviation of every component.
    INITIAL_STD = 0.2

    def __init__(self, spec: DataSpec, latent_dim: int, hidden: int, depth: int, batchnorm: bool,
                 components: int) -> None:
        super().__init__(spec, latent_dim, hidden, depth, batchnorm)
        self.noise_dim, self.components = latent_dim, components
        self.latent_dim = latent_dim + components
        self.means = nn.Parameter(torch.rand(components, latent_dim) * 2 - 1)
        self.stds = nn.Parameter(torch.full((components, latent_dim), self.INITIAL_STD))

    def sample_latent(self, n: int, generator: torch.Generator | None = None,
                      device: torch.device | str | None = None) -> torch.Tensor:
        """n latent inputs: ε ~ N(0, I)^latent_dim, then the one-hot of a component drawn uniformly."""
        noise = torch.randn(n, self.noise_dim, generator=generator, device=device)
        component = torch.randint(0, self.components, (n,), generator=generator, device=device)
        return torch.cat([noise, nn.functional.one_hot(component, self.components).to(noise.dtype)], dim=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Generate samples from [ε | component weights]; labels are ignored (unconditional)."""
        noise, weights = z[:, : self.noise_dim], z[:, self.noise_dim :]
        return super().forward(weights @ self.means + (weights @ self.stds) * noise)


def critic_mlp(in_width: int, widths: Sequence[int], dropout: float) -> nn.Sequential:
    """[Linear -> LeakyReLU(0.2) -> Dropout] per hidden width -> Linear(1): an MLP discriminator's body."""
    layers: list[nn.Module] = []
    for out in widths:
        layers += [nn.Linear(in_width, out), nn.LeakyReLU(0.2, inplace=True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_width = out
    layers.append(nn.Linear(in_width, 1))
    return nn.Sequential(*layers)


class MLPDiscriminator(nn.Module):
    """x -> [Linear -> LeakyReLU(0.2) -> Dropout] x depth -> Linear(1).

    With ``pack`` = m > 1 the discriminator judges m samples at once, concatenated into one input
    (PacGAN, Lin et al. 2018): a batch of N samples gives N/m logits. Seeing several samples
    together lets D notice a lack of variety, which penalizes mode collapse.
    """

    def __init__(self, spec: DataSpec, hidden: int, depth: int, dropout: float, pack: int = 1) -> None:
        super().__init__()
        if pack < 1:
            raise ValueError(f"pack must be at least 1, got {pack}")
        self.pack = pack
        self.net = critic_mlp(math.prod(spec.shape) * pack, [hidden] * depth, dropout)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per sample (per pack of ``pack`` samples); labels are ignored (unconditional)."""
        if x.shape[0] % self.pack:
            raise ValueError(f"a batch of {x.shape[0]} samples cannot be split into packs of {self.pack}; "
                             f"use a batch size divisible by {self.pack}")
        return self.net(x.reshape(x.shape[0] // self.pack, -1)).squeeze(1)
