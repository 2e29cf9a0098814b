"""R3GAN networks (Huang, Gokaslan, Kuleshov & Tompkin 2024, "The GAN is dead; long live the GAN!
A Modern GAN Baseline"), sized for small images.

The paper's modernized architecture (its Config E), written from the paper:

- **Residual blocks as inverted bottlenecks**: x + conv1x1(act(grouped conv3x3(act(conv1x1(x))))),
  where the first 1x1 convolution widens the stream by ``expansion`` and the 3x3 convolution
  mixes channels only within groups of ``group_size``.
- **Leaky ReLU** (slope 0.2) and **no normalization layers** anywhere.
- **Fix-up initialization** (Zhang, Dauphin & Ma 2019): the last layer of every residual branch
  starts at zero, so each block is the identity at initialization, and the other layers of a
  branch are He-initialized and scaled by L^(-1/(2m-2)) = L^(-1/4), L the network's number of
  residual blocks and m = 3 the layers of a branch.
- **Resampling transitions** between stages: G changes width with a 1x1 convolution and then
  doubles the resolution by bilinear interpolation; D halves it by antialiased bilinear interpolation (the
  triangle filter [1, 3, 3, 1] / 8) and then changes width with a 1x1 convolution.
- **A basis at the lowest resolution**: G maps z through a linear layer to one coefficient per
  channel of a learned constant basis of the bottom size; D ends with a depthwise convolution
  as large as its bottom feature map (one learned basis per channel) and a linear layer.
- G and D mirror each other, stage for stage.

Optionally (``minibatch_std`` > 0, off in the paper's configuration), D appends the minibatch
standard deviation (Karras, Aila, Laine & Lehtinen 2018, "Progressive Growing of GANs", section 3)
to its bottom feature map: the standard deviation of each feature over a group of samples, averaged
to one value per group, as one more channel, which a 1x1 convolution folds back to D's width. It
lets D see a batch's lack of variety; the paper's Config B strips it from StyleGAN2 because RpGAN
with R1 and R2 covers the modes at its scale.

For labelled data both networks can be class-conditional: G appends a learned embedding of the
label to z, and D adds the projection term <embed(y), h> to its logit (Miyato & Koyama 2018,
"cGANs with Projection Discriminator"). G ends in tanh, which keeps samples in ganzoo's [-1, 1]
value range.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.spec import DataSpec
from ganzoo_plugins.minibatch_std import MinibatchStd

SLOPE = 0.2
#: Layers in a residual branch (1x1, grouped 3x3, 1x1): the m of the fix-up scale L^(-1/(2m-2)).
BRANCH_LAYERS = 3


def fixup_scale(num_blocks: int) -> float:
    """The fix-up factor L^(-1/(2m-2)) for a network of ``num_blocks`` residual blocks of BRANCH_LAYERS layers."""
    return num_blocks ** (-1.0 / (2 * BRANCH_LAYERS - 2))


class ResidualBlock(nn.Module):
    """x + conv1x1(act(grouped conv3x3(act(conv1x1(x))))): an inverted bottleneck, identity at initialization."""

    def __init__(self, channels: int, expansion: int, group_size: int, num_blocks: int) -> None:
        super().__init__()
        hidden = channels * expansion
        self.expand = nn.Conv2d(channels, hidden, 1)
        self.spatial = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden // group_size)
        self.project = nn.Conv2d(hidden, channels, 1)
        scale = fixup_scale(num_blocks)
        for conv in (self.expand, self.spatial):
            nn.init.kaiming_normal_(conv.weight, a=SLOPE, nonlinearity="leaky_relu")
            conv.weight.data.mul_(scale)
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x plus the branch's residual."""
        h = F.leaky_relu(self.expand(x), SLOPE)
        h = F.leaky_relu(self.spatial(h), SLOPE)
        return x + self.project(h)


def stage(channels: int, blocks: int, expansion: int, group_size: int, num_blocks: int) -> nn.Sequential:
    """``blocks`` residual blocks of one width and resolution."""
    return nn.Sequential(*(ResidualBlock(channels, expansion, group_size, num_blocks) for _ in range(blocks)))


class Upsample(nn.Module):
    """G's transition: a 1x1 convolution to the next width, then bilinear 2x upsampling (the two commute, since the
    interpolation weights sum to 1; convolving at the lower resolution is cheaper)."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, 2H, 2W)."""
        return F.interpolate(self.conv(x), scale_factor=2, mode="bilinear", align_corners=False)


class Downsample(nn.Module):
    """D's transition: bilinear 2x downsampling with antialiasing (for a factor of 2 the triangle filter
    [1, 3, 3, 1] / 8 per axis), then a 1x1 convolution to the next width (they commute, as G's do)."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H/2, W/2)."""
        return self.conv(F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True, align_corners=False))


def stages(widths: Sequence[int], blocks: int, expansion: int, group_size: int,
           resample: Callable[[int, int], nn.Module]) -> nn.Sequential:
    """A ``stage`` of residual blocks at each width, joined by ``resample(width, next_width)`` (``Upsample`` in G,
    ``Downsample`` in D); fix-up initialization counts the blocks of all stages."""
    total = blocks * len(widths)
    layers: list[nn.Module] = []
    for i, width in enumerate(widths):
        layers.append(stage(width, blocks, expansion, group_size, total))
        if i + 1 < len(widths):
            layers.append(resample(width, widths[i + 1]))
    return nn.Sequential(*layers)


class R3GANGenerator(nn.Module):
    """z [+ label embedding] -> linear -> coefficients of a learned basis at the bottom resolution -> per stage:
    residual blocks, then (but after the last) a 1x1 width change and 2x bilinear upsampling -> 1x1 conv -> tanh."""

    def __init__(self, spec: DataSpec, latent_dim: int, widths: Sequence[int], blocks: int, expansion: int,
                 group_size: int, num_classes: int = 0) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        bottom = bottom_size(spec.shape[1], len(widths))
        self.embedding = nn.Embedding(num_classes, latent_dim) if num_classes else None
        self.coefficients = nn.Linear(latent_dim * (2 if num_classes else 1), widths[0])
        self.basis = nn.Parameter(torch.randn(widths[0], bottom, bottom))
        self.body = stages(widths, blocks, expansion, group_size, Upsample)
        self.to_image = nn.Conv2d(widths[-1], spec.channels, 1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(N, latent_dim) [+ int labels (N,)] -> images (N, C, H, W) in [-1, 1]."""
        if self.embedding is not None:
            if labels is None:
                raise ValueError("this conditional generator needs labels: G(z, labels)")
            z = torch.cat([z, self.embedding(labels.long()).to(z.dtype)], dim=1)
        h = self.coefficients(z)[:, :, None, None] * self.basis
        return torch.tanh(self.to_image(self.body(h)))


class R3GANDiscriminator(nn.Module):
    """x -> 1x1 conv -> per stage (in G's reverse order): residual blocks, then (but after the last) bilinear
    downsampling and a 1x1 width change -> [minibatch standard deviation channel, 1x1 conv back to the width]
    -> depthwise basis convolution over the bottom map -> linear logit
    [+ projection <embed(y), h>]."""

    def __init__(self, spec: DataSpec, widths: Sequence[int], blocks: int, expansion: int, group_size: int,
                 num_classes: int = 0, minibatch_std: int = 0) -> None:
        super().__init__()
        self.num_classes = num_classes
        widths = list(reversed(widths))
        bottom = bottom_size(spec.shape[1], len(widths))
        self.from_image = nn.Conv2d(spec.channels, widths[0], 1)
        self.body = stages(widths, blocks, expansion, group_size, Downsample)
        if minibatch_std:
            self.body.append(MinibatchStd(minibatch_std))
            self.body.append(nn.Conv2d(widths[-1] + 1, widths[-1], 1))
        self.basis = nn.Conv2d(widths[-1], widths[-1], bottom, groups=widths[-1])
        self.head = nn.Linear(widths[-1], 1)
        self.projection = nn.Embedding(num_classes, widths[-1]) if num_classes else None
        if self.projection is not None:
            nn.init.zeros_(self.projection.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per image (judged together with its label when conditional)."""
        h = self.basis(self.body(self.from_image(x))).flatten(1)
        logit = self.head(h).squeeze(1)
        if self.projection is not None:
            if labels is None:
                raise ValueError("this conditional discriminator needs labels: D(x, labels)")
            logit = logit + (self.projection(labels.long()).to(h.dtype) * h).sum(1)
        return logit


def bottom_size(size: int, stages: int) -> int:
    """The side of the lowest-resolution stage: ``size`` halved ``stages - 1`` times; 0 when that is not exact."""
    bottom, rest = divmod(size, 2 ** (stages - 1))
    return 0 if rest else bottom

