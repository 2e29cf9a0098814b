"""Deep convolutional GANs (Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with
Deep Convolutional Generative Adversarial Networks"), unconditional and conditional.

Three sizes. At 28x28, two layouts: the network of the widely used reference tutorial (dense
projection to 7x7x256, three 5x5 transposed convolutions; two 5x5 strided convolutions with
dropout), and the paper's rules at that size (projection to 7x7x128, two 4x4 transposed
convolutions; BatchNorm in D). At 64x64, the paper's network (4x4 transposed convolutions from
4x4x8·ngf, no pooling, BatchNorm everywhere but G's output and D's input, ReLU in G, LeakyReLU 0.2
in D, N(0, 0.02) initialization); at 32x32 the same network with one doubling fewer each way
(from 4x4x4·ngf), the usual DCGAN for CIFAR-10 at its native size.

A third 28x28 layout, 'deep', is the DCGAN of the Stacked MNIST experiments of VEEGAN (Srivastava
et al. 2017, Table 2) and PacGAN (Lin et al. 2018, Table 2): projection to 2x2x8w, four 5x5
stride-2 transposed convolutions (2 -> 4 -> 7 -> 14 -> 28), BatchNorm and ReLU in G; four 5x5
stride-2 convolutions in D (28 -> 14 -> 7 -> 4 -> 2) with BatchNorm on all but the first, LeakyReLU 0.2.

Packing (PacGAN, Lin, Khetan, Fanti & Oh 2018, "PacGAN: The power of two samples in generative
adversarial networks"): with ``pack`` = m > 1 the 28x28 discriminators judge m samples at once,
concatenated along the channels, so a batch of N samples gives N/m logits. Seeing several samples
together lets D notice a lack of variety, which penalizes mode collapse.

Conditioning follows Mirza & Osindero 2014 ("Conditional Generative Adversarial Nets"): G sees a
learned label embedding concatenated to z; D sees the label as an embedded map, one extra input
channel the size of the image.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ganzoo.spec import DataSpec
from ganzoo_plugins.minibatch_std import MinibatchStd


def _label_vector(embedding: nn.Embedding | None, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """z, with the label embedding appended when the network is conditional."""
    if embedding is None:
        return z
    if labels is None:
        raise ValueError("this conditional generator needs labels: G(z, labels)")
    return torch.cat([z, embedding(labels.long())], dim=1)


class LabelMap(nn.Module):
    """A class label as one learned HxW map, appended to an image as an extra channel."""

    def __init__(self, num_classes: int, height: int, width: int) -> None:
        super().__init__()
        self.size = (height, width)
        self.embedding = nn.Embedding(num_classes, height * width)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """(N, C, H, W) -> (N, C + 1, H, W)."""
        if labels is None:
            raise ValueError("this conditional discriminator needs labels: D(x, labels)")
        maps = self.embedding(labels.long()).view(-1, 1, *self.size)
        return torch.cat([x, maps.to(x.dtype)], dim=1)


class Generator28(nn.Module):
    """z [+ label embedding] -> Dense to ``seed_size``² x ``seed_channels`` (BatchNorm, ``activation``) -> ``body`` -> 28x28."""

    def __init__(self, latent_dim: int, num_classes: int, embed_dim: int, seed_channels: int,
                 activation: nn.Module, body: list[nn.Module], seed_size: int = 7) -> None:
        super().__init__()
        self.latent_dim, self.num_classes, self.seed_channels = latent_dim, num_classes, seed_channels
        self.seed_size = seed_size
        self.embedding = nn.Embedding(num_classes, embed_dim) if num_classes else None
        self.project = nn.Sequential(
            nn.Linear(latent_dim + (embed_dim if num_classes else 0), seed_size * seed_size * seed_channels, bias=False),
            nn.BatchNorm1d(seed_size * seed_size * seed_channels),
            activation,
        )
        self.body = nn.Sequential(*body)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(N, latent_dim) [+ labels (N,)] -> (N, C, 28, 28) in [-1, 1]."""
        h = self.project(_label_vector(self.embedding, z, labels))
        return self.body(h.view(-1, self.seed_channels, self.seed_size, self.seed_size))


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """(N, C, H, W) -> (N/pack, pack·C, H, W): each run of ``pack`` consecutive samples concatenated along the
    channels (PacGAN's packing, Lin et al. 2018)."""
    if pack == 1:
        return x
    if x.shape[0] % pack:
        raise ValueError(f"a batch of {x.shape[0]} samples cannot be split into packs of {pack}; "
                         f"use a batch size divisible by {pack}")
    return x.reshape(x.shape[0] // pack, pack * x.shape[1], *x.shape[2:])


class Discriminator28(nn.Module):
    """x [+ label map as an extra channel] -> packs of ``pack`` samples -> ``body`` (built for that many input
    channels) -> one logit per pack."""

    def __init__(self, spec: DataSpec, num_classes: int, body: Callable[[int], list[nn.Module]], pack: int = 1) -> None:
        super().__init__()
        if pack < 1:
            raise ValueError(f"pack must be at least 1, got {pack}")
        self.num_classes, self.pack = num_classes, pack
        self.label_map = LabelMap(num_classes, 28, 28) if num_classes else None
        self.body = nn.Sequential(*body((spec.channels + (1 if num_classes else 0)) * pack))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per sample (per pack of ``pack`` samples)."""
        if self.label_map is not None:
            x = self.label_map(x, labels)
        return self.body(pack_samples(x, self.pack)).squeeze(1)


class DCGAN28Generator(Generator28):
    """z [+ label embedding] -> Dense 7·7·256 -> ConvT 5x5 256->128 /1 -> ConvT 5x5 128->64 /2 -> ConvT 5x5 64->C /2 -> tanh."""

    def __init__(self, spec: DataSpec, latent_dim: int, width: int, num_classes: int = 0, embed_dim: int = 0) -> None:
        w4, w2, w1 = 4 * width, 2 * width, width
        super().__init__(latent_dim, num_classes, embed_dim, w4, nn.LeakyReLU(0.3), [
            nn.ConvTranspose2d(w4, w2, 5, stride=1, padding=2, bias=False),
            nn.BatchNorm2d(w2),
            nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(w2, w1, 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.BatchNorm2d(w1),
            nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(w1, spec.channels, 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.Tanh(),
        ])


class DCGAN28Discriminator(Discriminator28):
    """x [+ label map] -> Conv 5x5 ->64 /2 -> LeakyReLU -> Dropout -> Conv 5x5 64->128 /2 -> LeakyReLU -> Dropout -> Dense 1."""

    def __init__(self, spec: DataSpec, width: int, dropout: float, num_classes: int = 0, pack: int = 1) -> None:
        super().__init__(spec, num_classes, lambda in_channels: [
            nn.Conv2d(in_channels, width, 5, stride=2, padding=2),
            nn.LeakyReLU(0.3),
            nn.Dropout(dropout),
            nn.Conv2d(width, 2 * width, 5, stride=2, padding=2),
            nn.LeakyReLU(0.3),
            nn.Dropout(dropout),
            nn.Flatten(),
            nn.Linear(2 * width * 7 * 7, 1),
        ], pack)


class DCGAN28PaperGenerator(Generator28):
    """The paper's guidelines at 28x28: z [+ label] -> Dense 7·7·2w -> ConvT 4x4 2w->w /2 -> ConvT 4x4 w->C /2 -> tanh.

    BatchNorm after every layer but the output, ReLU, N(0, 0.02) initialization (Radford et al. 2015);
    the two-upsampling 7x7 -> 28x28 shape is the one Chen et al. 2016 (InfoGAN) used for MNIST.
    Roughly a seventh of the tutorial layout's multiply-adds, so a CPU sees several times more images.
    """

    def __init__(self, spec: DataSpec, latent_dim: int, width: int, num_classes: int = 0, embed_dim: int = 0) -> None:
        super().__init__(latent_dim, num_classes, embed_dim, 2 * width, nn.ReLU(inplace=True), [
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width, spec.channels, 4, stride=2, padding=1),
            nn.Tanh(),
        ])
        init_dcgan_weights(self)


class DCGAN28PaperDiscriminator(Discriminator28):
    """x [+ label map] -> Conv 4x4 ->w /2 -> LeakyReLU 0.2 -> Conv 4x4 w->2w /2 -> BatchNorm -> LeakyReLU 0.2 -> Dense 1.

    The paper's discriminator rules (strided convolutions, BatchNorm everywhere but the input layer,
    LeakyReLU 0.2; Radford et al. 2015) at 28x28, with dropout after each activation.
    """

    def __init__(self, spec: DataSpec, width: int, dropout: float, num_classes: int = 0, pack: int = 1) -> None:
        super().__init__(spec, num_classes, lambda in_channels: [
            nn.Conv2d(in_channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Dropout(dropout),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Dropout(dropout),
            nn.Flatten(),
            nn.Linear(2 * width * 7 * 7, 1),
        ], pack)
        init_dcgan_weights(self)


class DCGAN28DeepGenerator(Generator28):
    """z [+ label] -> Dense 2·2·8w -> ConvT 5x5 /2: 8w->4w (4x4) -> 4w->2w (7x7) -> 2w->w (14x14) -> w->C (28x28) -> tanh.

    The DCGAN of the Stacked MNIST protocol (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018):
    BatchNorm and ReLU after every layer but the output, N(0, 0.02) initialization (Radford et al. 2015).
    """

    def __init__(self, spec: DataSpec, latent_dim: int, width: int, num_classes: int = 0, embed_dim: int = 0) -> None:
        layers: list[nn.Module] = []
        # (input channels, output channels, output_padding): 2 -> 4 -> 7 -> 14 -> 28 pixels
        for c_in, c_out, extra in ((8 * width, 4 * width, 1), (4 * width, 2 * width, 0), (2 * width, width, 1)):
            layers += [nn.ConvTranspose2d(c_in, c_out, 5, stride=2, padding=2, output_padding=extra, bias=False),
                       nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(width, spec.channels, 5, stride=2, padding=2, output_padding=1), nn.Tanh()]
        super().__init__(latent_dim, num_classes, embed_dim, 8 * width, nn.ReLU(inplace=True), layers, seed_size=2)
        init_dcgan_weights(self)


class DCGAN28DeepDiscriminator(Discriminator28):
    """x [+ label map] -> Conv 5x5 /2: ->w (14x14) -> w->2w (7x7) -> 2w->4w (4x4) -> 4w->8w (2x2) -> Dense 1.

    LeakyReLU 0.2 after each convolution, BatchNorm after all but the first (Radford et al. 2015), dropout
    after each activation; the Stacked MNIST protocol's discriminator (VEEGAN; PacGAN). With ``minibatch_std``
    = g > 0 the last convolution also sees a minibatch standard deviation channel over groups of g samples
    (packs), ProGAN's cue for a batch with too little variety (Karras et al. 2018, section 3).
    """

    def __init__(self, spec: DataSpec, width: int, dropout: float, num_classes: int = 0, pack: int = 1,
                 minibatch_std: int = 0) -> None:
        def body(in_channels: int) -> list[nn.Module]:
            layers: list[nn.Module] = []
            for i, (c_in, c_out) in enumerate(((in_channels, width), (width, 2 * width), (2 * width, 4 * width),
                                               (4 * width, 8 * width))):
                if i == 3 and minibatch_std:
                    layers.append(MinibatchStd(minibatch_std))
                    c_in += 1
                layers.append(nn.Conv2d(c_in, c_out, 5, stride=2, padding=2, bias=i == 0))
                if i > 0:
                    layers.append(nn.BatchNorm2d(c_out))
                layers += [nn.LeakyReLU(0.2, inplace=True), nn.Dropout(dropout)]
            return layers + [nn.Flatten(), nn.Linear(8 * width * 2 * 2, 1)]

        super().__init__(spec, num_classes, body, pack)
        init_dcgan_weights(self)


def init_dcgan_weights(module: nn.Module) -> None:
    """The paper's initialization: conv weights ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def doublings(size: int) -> int:
    """How many stride-2 layers lie between 4x4 and size x size (3 at 32, 4 at 64)."""
    return size.bit_length() - 3


class DCGANGenerator(nn.Module):
    """The paper's generator at 2^k x 2^k (64 in the paper, also 32): z as 1x1 -> ConvT 4x4 to 4x4 x 2^(k-3)·g
    (8g at 64, 4g at 32) -> ConvT 4x4 /2 layers halving the channels down to g -> ConvT 4x4 /2 to C -> tanh."""

    def __init__(self, spec: DataSpec, latent_dim: int, width: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.size = spec.shape[-1]
        top = 2 ** (doublings(self.size) - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, top * width, 4, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(top * width),
            nn.ReLU(inplace=True),
        ]
        mult = top
        while mult > 1:
            layers += [
                nn.ConvTranspose2d(mult * width, mult // 2 * width, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(mult // 2 * width),
                nn.ReLU(inplace=True),
            ]
            mult //= 2
        layers += [nn.ConvTranspose2d(width, spec.channels, 4, stride=2, padding=1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(N, latent_dim) -> (N, C, size, size) in [-1, 1]; labels are ignored (unconditional)."""
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """The paper's discriminator at 2^k x 2^k (64 in the paper, also 32): Conv 4x4 /2 C->d (no BatchNorm) ->
    Conv 4x4 /2 layers doubling the channels down to 4x4 -> Conv 4x4 to one logit."""

    def __init__(self, spec: DataSpec, width: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(spec.channels, width, 4, stride=2, padding=1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        mult = 1
        for _ in range(doublings(spec.shape[-1]) - 1):
            layers += [
                nn.Conv2d(mult * width, 2 * mult * width, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(2 * mult * width),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            mult *= 2
        layers.append(nn.Conv2d(mult * width, 1, 4, stride=1, padding=0, bias=False))
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per sample; labels are ignored (unconditional)."""
        return self.net(x).flatten()
