"""The PatchGAN discriminator of Isola, Zhu, Zhou & Efros 2017 ("Image-to-Image Translation with
Conditional Adversarial Networks", section 2.2.2 and appendix 6.1.2): a fully convolutional net that
classifies every overlapping image patch as real or fake, so it judges local structure (texture,
strokes) and leaves the low frequencies to the L1 or cycle term. CycleGAN uses the same design
(Zhu, Park, Isola & Efros 2017, appendix 7.2).
"""

from __future__ import annotations

import torch
from torch import nn


def receptive_field(layers: int) -> int:
    """Side in pixels of the patch one output logit sees: ``layers`` 4x4 stride-2 convolutions, then a
    stride-1 convolution and the stride-1 output convolution (3 layers: the paper's 70x70)."""
    size = 4 + 3
    for _ in range(layers):
        size = (size - 1) * 2 + 4
    return size


class PatchDiscriminator(nn.Module):
    """C64-C128-... (4x4, stride 2, LeakyReLU 0.2; no norm on the first layer), one stride-1 block, then a
    4x4 convolution to one logit per patch: input (N, in_channels, H, W) -> logits (N, h, w).

    ``layers`` counts the stride-2 blocks: 3 at 256 px is the paper's 70x70 PatchGAN; 1 is its 16x16
    PatchGAN, which at 28/32 px sees about half the image, as the 70x70 sees a quarter of 256 px.
    Widths double per block up to 8x ``width``; ``norm`` is BatchNorm (pix2pix) or InstanceNorm (CycleGAN).
    """

    def __init__(self, in_channels: int, width: int = 64, layers: int = 1, norm: str = "batch") -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
        if layers < 1:
            raise ValueError(f"a PatchGAN needs at least one stride-2 layer, got layers={layers}")
        make_norm = NORMS[norm]
        blocks: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        channels = width
        for i in range(1, layers + 1):
            out = width * min(2 ** i, 8)
            stride = 2 if i < layers else 1
            blocks += [nn.Conv2d(channels, out, 4, stride, 1, bias=False), make_norm(out),
                       nn.LeakyReLU(0.2, inplace=True)]
            channels = out
        blocks.append(nn.Conv2d(channels, 1, 4, 1, 1))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) images -> (N, h, w) patch logits."""
        return self.net(x).squeeze(1)


def _instance_norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels)


NORMS = {"batch": nn.BatchNorm2d, "instance": _instance_norm}
