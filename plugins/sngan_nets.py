"""SNGAN networks (Miyato, Kataoka, Koyama & Yoshida 2018, "Spectral Normalization for Generative
Adversarial Networks"): every weight of the discriminator is divided by its largest singular value,
estimated by one power iteration per forward pass (``torch.nn.utils.parametrizations.spectral_norm``).

Two architectures of the paper:

- the "standard CNN": D of 3x3 stride-1 and 4x4 stride-2 convolutions with LeakyReLU 0.1, global
  sum pooling and a linear logit; G DCGAN-style (Radford et al. 2015), a linear map to a small
  feature map, 4x4 transposed convolutions with batch norm, tanh. For labelled data G takes a
  label embedding and D adds the projection term <embed(y), h> (Miyato & Koyama 2018, "cGANs with
  Projection Discriminator").
- the ResNet of Appendix B for 32x32 images (after Gulrajani et al. 2017): G maps z to 4x4x256,
  then three up ResBlocks of 256 channels (BN, ReLU, nearest 2x upsampling, 3x3 conv, BN, ReLU,
  3x3 conv; shortcut: upsampling and 1x1 conv), BN, ReLU, a 3x3 conv and tanh. D: an optimized
  first block (3x3 conv, ReLU, 3x3 conv, 2x2 average pooling; shortcut: pooling and 1x1 conv), a
  down ResBlock and two plain ResBlocks of 128 channels (ReLU, 3x3 conv, ReLU, 3x3 conv [, pooling];
  shortcut: 1x1 conv [and pooling] where the shape changes), ReLU, global sum pooling, linear.
  At 28x28 the same networks start from 7x7 with two up blocks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo.spec import DataSpec
from ganzoo_plugins.projection import projection

MAX_UPSAMPLINGS = 3
MIN_BOTTOM = 4


def upsamplings(size: int) -> int:
    """How many 2x steps lead from a feature map of at least 4x4 up to ``size`` (at most 3)."""
    steps = 0
    while steps < MAX_UPSAMPLINGS and size % 2 == 0 and size // 2 >= MIN_BOTTOM:
        size //= 2
        steps += 1
    return steps


def _with_label(embed: nn.Embedding | None, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """z, with the label embedding appended when the generator is conditional."""
    if embed is None:
        return z
    if labels is None:
        raise ValueError("this conditional generator needs labels: G(z, labels)")
    return torch.cat([z, embed(labels.long())], dim=1)


class SNGenerator(nn.Module):
    """z (+ label embedding) -> Linear -> [ConvTranspose 4x4/2 -> BN -> ReLU] x n -> Conv 3x3 -> tanh."""

    def __init__(self, spec: DataSpec, latent_dim: int, channels: int, num_classes: int = 0) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
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
        return self.body(self.project(_with_label(self.embed, z, labels)))


class SNDiscriminator(nn.Module):
    """[SN-Conv 3x3/1, SN-Conv 4x4/2] per scale, SN-Conv 3x3, global sum pool, SN-Linear (+ projection)."""

    def __init__(self, spec: DataSpec, channels: int, num_classes: int = 0, power_iterations: int = 1) -> None:
        super().__init__()
        self.num_classes = num_classes

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
        return self.linear(h).squeeze(1) + projection(self.embed, h, labels)


class UpBlock(nn.Module):
    """G's ResBlock: BN, ReLU, 2x nearest upsampling, 3x3 conv, BN, ReLU, 3x3 conv; shortcut: upsampling, 1x1 conv."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            nn.BatchNorm2d(channels_in), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(channels_in, channels_out, 3, 1, 1),
            nn.BatchNorm2d(channels_out), nn.ReLU(), nn.Conv2d(channels_out, channels_out, 3, 1, 1),
        )
        self.shortcut = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                      nn.Conv2d(channels_in, channels_out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, 2H, 2W)."""
        return self.residual(x) + self.shortcut(x)


class ResNetGenerator(nn.Module):
    """z (N, latent_dim) -> Linear to bottom x bottom x width -> up ResBlocks -> BN, ReLU, 3x3 conv -> tanh."""

    def __init__(self, spec: DataSpec, latent_dim: int, width: int) -> None:
        super().__init__()
        self.latent_dim, self.width = latent_dim, width
        steps = upsamplings(spec.shape[1])
        self.bottom = spec.shape[1] // 2**steps
        self.project = nn.Linear(latent_dim, width * self.bottom**2)
        self.blocks = nn.Sequential(*(UpBlock(width, width) for _ in range(steps)))
        self.to_image = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, spec.channels, 3, 1, 1),
                                      nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [-1, 1]; labels are ignored (unconditional, as the paper's CIFAR-10 model)."""
        h = self.project(z).view(z.shape[0], self.width, self.bottom, self.bottom)
        return self.to_image(self.blocks(h))


class DownBlock(nn.Module):
    """D's ResBlock with every weight spectrally normalized. Plain: ReLU, 3x3 conv, ReLU, 3x3 conv [, 2x2 average
    pooling], shortcut a 1x1 conv [and pooling] where the shape changes. ``optimized`` (the first block, on the
    image itself): 3x3 conv, ReLU, 3x3 conv, pooling; shortcut: pooling, then 1x1 conv."""

    def __init__(self, channels_in: int, channels_out: int, down: bool, optimized: bool,
                 power_iterations: int) -> None:
        super().__init__()

        def sn(module: nn.Module) -> nn.Module:
            return spectral_norm(module, n_power_iterations=power_iterations)

        pool = [nn.AvgPool2d(2)] if down else []
        first = [] if optimized else [nn.ReLU()]
        self.residual = nn.Sequential(*first, sn(nn.Conv2d(channels_in, channels_out, 3, 1, 1)), nn.ReLU(),
                                      sn(nn.Conv2d(channels_out, channels_out, 3, 1, 1)), *pool)
        if optimized:
            self.shortcut = nn.Sequential(*pool, sn(nn.Conv2d(channels_in, channels_out, 1)))
        elif down or channels_in != channels_out:
            self.shortcut = nn.Sequential(sn(nn.Conv2d(channels_in, channels_out, 1)), *pool)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The residual branch plus the shortcut."""
        return self.residual(x) + self.shortcut(x)


class ResNetDiscriminator(nn.Module):
    """Optimized down block, down block, two plain blocks -> ReLU -> global sum pooling -> SN-Linear."""

    def __init__(self, spec: DataSpec, width: int, power_iterations: int = 1) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            DownBlock(spec.channels, width, down=True, optimized=True, power_iterations=power_iterations),
            DownBlock(width, width, down=True, optimized=False, power_iterations=power_iterations),
            DownBlock(width, width, down=False, optimized=False, power_iterations=power_iterations),
            DownBlock(width, width, down=False, optimized=False, power_iterations=power_iterations),
        )
        self.linear = spectral_norm(nn.Linear(width, 1), n_power_iterations=power_iterations)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per image; labels are ignored (unconditional)."""
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        return self.linear(h).squeeze(1)
