"""pix2pix's networks (Isola, Zhu, Zhou & Efros 2017, "Image-to-Image Translation with Conditional
Adversarial Networks", appendix 6.1): a U-Net generator and a conditional PatchGAN discriminator.

The generator is an encoder-decoder whose i-th encoder layer is skip-connected to the mirrored
decoder layer (Ronneberger et al. 2015), so low-level structure the source and target share (here
the digit's outline) passes straight across. Encoder Ck: 4x4 convolution, stride 2, BatchNorm,
LeakyReLU 0.2 (no BatchNorm on the first layer, nor at the 1x1 bottleneck); decoder CDk: ReLU,
4x4 transposed convolution, BatchNorm, 50% dropout on the three innermost decoder layers; a last
transposed convolution to the output channels and tanh. Widths 64-128-256-512-512-... at
``width`` 64. pix2pix's generator takes no noise vector: dropout is its noise (``latent_dim`` 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.spec import DataSpec
from ganzoo_plugins.patchgan import PatchDiscriminator


def padded_size(height: int, width: int) -> int:
    """The smallest power of two that holds an image of this size (28 px -> 32 px)."""
    side = max(height, width)
    return 1 << (side - 1).bit_length()


def unet_widths(width: int, depth: int) -> list[int]:
    """Channels of each encoder layer: ``width`` doubling up to 8x, as C64-C128-C256-C512-C512-..."""
    return [width * min(2 ** i, 8) for i in range(depth)]


class UNetGenerator(nn.Module):
    """Source image (N, C_src, H, W) -> translation (N, C, H, W) in [-1, 1] through a U-Net.

    The image is padded (replicating its border) to the next power of two and encoded down to 1x1,
    then cropped back after decoding: 28 px digits run through 32-16-8-4-2-1.
    """

    latent_dim = 0

    def __init__(self, spec: DataSpec, width: int = 64, dropout: float = 0.5, dropout_layers: int = 3) -> None:
        super().__init__()
        self.shape = tuple(spec.shape)
        height, wide = spec.shape[-2:]
        self.side = padded_size(height, wide)
        depth = self.side.bit_length() - 1
        widths = unet_widths(width, depth)
        self.down = nn.ModuleList([nn.Conv2d(spec.condition_shape[0], widths[0], 4, 2, 1)])
        for i in range(1, depth):
            innermost = i == depth - 1
            self.down.append(nn.Sequential(
                nn.LeakyReLU(0.2), nn.Conv2d(widths[i - 1], widths[i], 4, 2, 1, bias=innermost),
                *([] if innermost else [nn.BatchNorm2d(widths[i])])))
        self.up = nn.ModuleList()
        for k, j in enumerate(range(depth - 1, 0, -1)):
            inputs = widths[j] if j == depth - 1 else 2 * widths[j]
            self.up.append(nn.Sequential(
                nn.ReLU(), nn.ConvTranspose2d(inputs, widths[j - 1], 4, 2, 1, bias=False),
                nn.BatchNorm2d(widths[j - 1]), *([nn.Dropout(dropout)] if k < dropout_layers and dropout > 0 else [])))
        self.out = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(2 * widths[0], spec.shape[0], 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(N, 0) noise (unused) and source images (N, C_src, H, W) -> translations (N, C, H, W)."""
        if labels is None:
            raise ValueError("the pix2pix generator translates images: call G(z, source_images)")
        height, width = self.shape[-2:]
        top, left = (self.side - height) // 2, (self.side - width) // 2
        h = F.pad(labels, (left, self.side - width - left, top, self.side - height - top), mode="replicate")
        skips = []
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        h = skips.pop()
        for layer in self.up:
            h = torch.cat([skips.pop(), layer(h)], dim=1)
        return self.out(h)[..., top : top + height, left : left + width]


class ConditionalPatchDiscriminator(nn.Module):
    """D(x, source): a PatchGAN over the source and the (real or translated) image stacked channel-wise,
    so each patch logit judges whether the translation fits its source: (N, h, w) logits."""

    def __init__(self, spec: DataSpec, width: int = 64, layers: int = 1) -> None:
        super().__init__()
        self.patches = PatchDiscriminator(spec.condition_shape[0] + spec.shape[0], width, layers, norm="batch")

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images (N, C, H, W) and their sources (N, C_src, H, W) -> patch logits (N, h, w)."""
        if labels is None:
            raise ValueError("the pix2pix discriminator judges translations: call D(x, source_images)")
        return self.patches(torch.cat([labels.to(x.dtype), x], dim=1))
