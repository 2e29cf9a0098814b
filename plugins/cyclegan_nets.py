"""CycleGAN's networks (Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", appendix 7.2): two ResNet generators and two PatchGANs.

Generator (after Johnson et al. 2016): c7s1-k, d2k, d4k, R4k x n_blocks, u2k, uk, c7s1-C with
c7s1-k a 7x7 convolution (stride 1, reflection padding) + InstanceNorm + ReLU, dk a 3x3 stride-2
convolution + InstanceNorm + ReLU, Rk a residual block of two 3x3 convolutions (reflection
padding, InstanceNorm), uk a 3x3 stride-1/2 (transposed) convolution + InstanceNorm + ReLU, and tanh
at the end; the paper uses k = 64 with 6 blocks at 128 px and 9 at 256 px. 28 px runs 28-14-7.

Both directions live in one module each, so a run's checkpoint, EMA and export hold them together:
``G(z, a_images)`` translates A -> B (``reverse=True``: B -> A) and ``D(x)`` judges domain B
(``domain="a"``: domain A).
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.spec import DataSpec
from ganzoo_plugins.patchgan import PatchDiscriminator


def conv_norm_relu(in_channels: int, out_channels: int, kernel: int, stride: int) -> list[nn.Module]:
    """c7s1-k / dk: a convolution (reflection padding for stride 1), InstanceNorm and ReLU."""
    if stride == 1:
        pad: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2)]
        conv = nn.Conv2d(in_channels, out_channels, kernel, 1, 0)
    else:
        pad, conv = [], nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2)
    return [*pad, conv, nn.InstanceNorm2d(out_channels), nn.ReLU(inplace=True)]


class ResidualBlock(nn.Module):
    """Rk: x + [pad, 3x3 conv, InstanceNorm, ReLU, pad, 3x3 conv, InstanceNorm](x)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's input plus its residual."""
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """One direction: (N, in_channels, H, W) -> (N, out_channels, H, W) in [-1, 1]; H and W divisible by 4."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 64, blocks: int = 6) -> None:
        super().__init__()
        layers = [*conv_norm_relu(in_channels, width, 7, 1), *conv_norm_relu(width, 2 * width, 3, 2),
                  *conv_norm_relu(2 * width, 4 * width, 3, 2)]
        layers += [ResidualBlock(4 * width) for _ in range(blocks)]
        for channels in (4 * width, 2 * width):
            layers += [nn.ConvTranspose2d(channels, channels // 2, 3, 2, 1, output_padding=1),
                       nn.InstanceNorm2d(channels // 2), nn.ReLU(inplace=True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate a batch of images."""
        return self.net(x)


class CycleGenerator(nn.Module):
    """Both generators: ``ab`` (A -> B, the translation sampled) and ``ba`` (B -> A)."""

    latent_dim = 0

    def __init__(self, spec: DataSpec, width: int = 64, blocks: int = 6) -> None:
        super().__init__()
        a, b = spec.condition_shape[0], spec.shape[0]
        self.ab = ResnetGenerator(a, b, width, blocks)
        self.ba = ResnetGenerator(b, a, width, blocks)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, reverse: bool = False) -> torch.Tensor:
        """(N, 0) noise (unused) and domain-A images -> domain B; with ``reverse``, domain-B images -> domain A."""
        if labels is None:
            raise ValueError("the CycleGAN generator translates images: call G(z, source_images)")
        return self.ba(labels) if reverse else self.ab(labels)


class CycleDiscriminator(nn.Module):
    """Both PatchGANs (InstanceNorm, as in the paper): ``b`` judges domain B, ``a`` domain A."""

    def __init__(self, spec: DataSpec, width: int = 64, layers: int = 1) -> None:
        super().__init__()
        self.b = PatchDiscriminator(spec.shape[0], width, layers, norm="instance")
        self.a = PatchDiscriminator(spec.condition_shape[0], width, layers, norm="instance")

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, domain: str = "b") -> torch.Tensor:
        """Patch logits (N, h, w) of images of one domain (B by default); the source images are not used."""
        return self.a(x) if domain == "a" else self.b(x)
