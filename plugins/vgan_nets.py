"""VGAN networks (Vondrick, Pirsiavash & Torralba 2016, "Generating Videos with Scene Dynamics").

The generator has two streams fed by the same noise: a 3D transposed-convolution foreground
stream that produces a video f(z) and a sigmoid mask m(z), and a 2D transposed-convolution
background stream that produces one static frame b(z). The clip is
``m ⊙ f + (1 − m) ⊙ b`` with b replicated over time. The discriminator is a 3D-convolution
network. Layers are 4x4x4 kernels with stride 2 (batch norm + ReLU in G, batch norm +
LeakyReLU(0.2) in D); the paper's 64x64, 32-frame clips start from a 2x4x4 volume, and every
other size is sized the same way from the DataSpec.

The output layers (video, mask, background), and separately the inner ones, can instead upsample
by nearest-neighbour resizing followed by a 3x3(x3) convolution ("resize-convolution", Odena,
Dumoulin & Olah 2016, "Deconvolution and Checkerboard Artifacts"): a strided transposed
convolution at full resolution leaves pixel-level speckle that the discriminator keeps chasing,
and the inner ones a coarser lattice.

``base_frames`` can start the foreground stream from fewer time steps than the paper's
frames/2^k (one, say): extra time-only x2 layers at the 4x4 stage then grow time to that count.
Every frame then comes from one spatial volume. With two independent base time steps, short
runs made one digit in the first half of a clip and another in the second.

With labelled data (class-conditional clips, ``cvgan-moving-mnist``) the class enters both of G's
streams as a learnt embedding appended to z, and the discriminators (the clip one, and the frame one
where there is one) add the projection term <embed(y), h> of Miyato & Koyama 2018 on their last
features, mean-pooled, with embeddings that start at zero: sum-pooled over a clip's 2x4x4 volume with
unit-normal embeddings, as first tried, the projection started in the hundreds and D's loss with R1 at
about 250.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.spec import DataSpec
from ganzoo_plugins.minibatch_std import MinibatchStd
from ganzoo_plugins.projection import class_embedding, projection
from ganzoo_plugins.resize_conv import ResizeConv

#: Spatial side of the smallest feature volume, as in the paper (4x4).
BASE_SIZE = 4
#: Frame sizes offered in error messages.
SIZES_SHOWN = (8, 16, 32, 64, 128)
#: How G's upsampling layers grow x2: the paper's strided transposed convolution, or resize + convolution.
UPSAMPLING = ("transposed", "resize")
#: Scales of G's upsampling layers: a video x2 in time and space, x2 in time only, a frame x2.
VIDEO_X2, TIME_X2, FRAME_X2 = (2, 2, 2), (2, 1, 1), (2, 2)


def frame_doublings(spec: DataSpec, family: str) -> int:
    """Stride-2 layers needed to grow 4x4 to the frame size; a clear error naming ``family`` for data that is
    not video or frames it cannot make."""
    if spec.kind != "video":
        raise ConfigError(f"{family} makes video (C, T, H, W); this data set has {spec.kind} samples of shape "
                          f"{tuple(spec.shape)}")
    _, _, height, width = spec.shape
    sizes = ", ".join(str(s) for s in SIZES_SHOWN)
    k = round(math.log2(height / BASE_SIZE)) if height >= BASE_SIZE else 0
    if height != width or k < 1 or height != BASE_SIZE * 2**k:
        raise ConfigError(f"{family} cannot make {height}x{width} frames: frames must be square with side 4·2^k "
                          f"({sizes}, ...); set dataset.frame_size to one of these")
    return k


def upsampling_layers(spec: DataSpec, family: str = "vgan") -> int:
    """Stride-2 layers needed to grow 4x4 to the frame size (time grows, or shrinks, with space); a clear error
    naming ``family`` for sizes it cannot make."""
    k = frame_doublings(spec, family)
    frames, height, width = spec.shape[1:]
    if frames % 2**k:
        ok = ", ".join(str(2**k * i) for i in range(1, 5))
        raise ConfigError(f"{family} cannot make {frames}-frame clips at {height}x{width}: the frame count must be "
                          f"a multiple of {2**k} ({ok}, ...); set dataset.frames to one of these")
    return k


def base_time_layers(spec: DataSpec, base_frames: int) -> int:
    """Time-only x2 layers that grow ``base_frames`` (0: the paper's frames/2^k) to frames/2^k; a clear error otherwise."""
    t0 = spec.shape[1] // 2 ** upsampling_layers(spec)
    if base_frames == 0:
        return 0
    doublings = round(math.log2(t0 / base_frames)) if base_frames > 0 else -1
    if doublings < 0 or base_frames * 2**doublings != t0:
        ok = ", ".join(str(t0 // 2**i) for i in range(int(math.log2(t0)) + 1) if t0 % 2**i == 0)
        raise ConfigError(f"vgan: network.base_frames={base_frames} cannot grow by doubling to the {t0} time steps "
                          f"of the first volume of {spec.shape[1]}-frame clips; set it to one of {ok} (0 means {t0})")
    return doublings


def check_upsampling(**options: str) -> None:
    """A one-line ConfigError for the first ``network.<option>`` that is not one of UPSAMPLING."""
    for option, upsampling in options.items():
        if upsampling not in UPSAMPLING:
            raise ConfigError(f"vgan: network.{option} must be one of {', '.join(UPSAMPLING)}, "
                              f"got {upsampling!r}")


def upsample(c_in: int, c_out: int, scale: tuple[int, ...], upsampling: str) -> nn.Module:
    """An upsampling layer of a stream by ``scale`` (VIDEO_X2, TIME_X2 or FRAME_X2): the strided
    transposed convolution ('transposed': 4 taps on a doubled axis, 3 on a kept one) or
    nearest-neighbour resizing + 3x3(x3) convolution ('resize', as one ResizeConv)."""
    if upsampling == "transposed":
        conv = nn.ConvTranspose3d if len(scale) == 3 else nn.ConvTranspose2d
        return conv(c_in, c_out, tuple(4 if s == 2 else 3 for s in scale), stride=scale, padding=1, bias=False)
    return ResizeConv(c_in, c_out, scale)


class VGANGenerator(nn.Module):
    """Two-stream generator: z [+ label embedding] -> mask ⊙ foreground video + (1 − mask) ⊙ static background."""

    def __init__(self, spec: DataSpec, latent_dim: int, width: int, mask_l1: float,
                 output_upsampling: str = "transposed", inner_upsampling: str = "transposed",
                 base_frames: int = 0) -> None:
        super().__init__()
        k = upsampling_layers(spec)
        check_upsampling(output_upsampling=output_upsampling, inner_upsampling=inner_upsampling)
        time_layers = base_time_layers(spec, base_frames)
        channels, frames = spec.shape[0], spec.shape[1]
        self.latent_dim, self.mask_l1 = latent_dim, mask_l1
        self.num_classes = spec.num_classes
        self.embedding = nn.Embedding(spec.num_classes, latent_dim) if spec.num_classes else None
        code = latent_dim * (2 if spec.num_classes else 1)
        widths = [width * 2 ** (k - 1 - i) for i in range(k)]  # e.g. 512, 256, 128, 64 for 64x64
        t0 = frames // 2**k // 2**time_layers
        fg: list[nn.Module] = [nn.ConvTranspose3d(code, widths[0], (t0, BASE_SIZE, BASE_SIZE), bias=False),
                               nn.BatchNorm3d(widths[0]), nn.ReLU(inplace=True)]
        for _ in range(time_layers):
            fg += [upsample(widths[0], widths[0], TIME_X2, inner_upsampling), nn.BatchNorm3d(widths[0]),
                   nn.ReLU(inplace=True)]
        bg: list[nn.Module] = [nn.ConvTranspose2d(code, widths[0], BASE_SIZE, bias=False),
                               nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
        for c_in, c_out in zip(widths, widths[1:]):
            fg += [upsample(c_in, c_out, VIDEO_X2, inner_upsampling), nn.BatchNorm3d(c_out), nn.ReLU(inplace=True)]
            bg += [upsample(c_in, c_out, FRAME_X2, inner_upsampling), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        self.foreground = nn.Sequential(*fg)
        self.background = nn.Sequential(*bg)
        self.video_head = nn.Sequential(upsample(widths[-1], channels, VIDEO_X2, output_upsampling), nn.Tanh())
        self.mask_head = nn.Sequential(upsample(widths[-1], 1, VIDEO_X2, output_upsampling), nn.Sigmoid())
        self.background_head = nn.Sequential(upsample(widths[-1], channels, FRAME_X2, output_upsampling), nn.Tanh())
        self.last_mask: torch.Tensor | None = None

    def streams(self, z: torch.Tensor, labels: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Foreground video (N, C, T, H, W), mask (N, 1, T, H, W) and background frame (N, C, H, W)."""
        if self.embedding is not None:
            if labels is None:
                raise ValueError("this conditional generator needs labels: G(z, labels)")
            z = torch.cat([z, self.embedding(labels.long()).to(z.dtype)], dim=1)
        features = self.foreground(z.view(z.shape[0], -1, 1, 1, 1))
        background = self.background_head(self.background(z.view(z.shape[0], -1, 1, 1)))
        return self.video_head(features), self.mask_head(features), background

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Generate clips (of the labels' classes, for a conditional G). Keeps the mask for regularization()."""
        foreground, mask, background = self.streams(z, labels)
        self.last_mask = mask
        return mask * foreground + (1 - mask) * background.unsqueeze(2)

    def regularization(self) -> torch.Tensor:
        """The paper's λ‖m‖₁ mask sparsity term on the last forward pass, averaged over the mask's elements."""
        if self.last_mask is None:
            raise RuntimeError("regularization() needs a forward pass first")
        return self.mask_l1 * self.last_mask.abs().mean()


def downsampling_layers(channels: int, width: int, k: int, dims: int) -> tuple[list[nn.Module], int]:
    """k stride-2 4x4(x4) convolutions (dims 3: video, 2: frames) from ``width`` channels, doubling per
    layer, each followed by batch norm (not the input layer, as in DCGAN and the paper) and
    LeakyReLU(0.2); returns the layers and their output channels."""
    conv, norm = (nn.Conv3d, nn.BatchNorm3d) if dims == 3 else (nn.Conv2d, nn.BatchNorm2d)
    layers: list[nn.Module] = []
    c_in = channels
    for i in range(k):
        c_out = width * 2**i
        layers.append(conv(c_in, c_out, 4, stride=2, padding=1, bias=False))
        if i > 0:
            layers.append(norm(c_out))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        c_in = c_out
    return layers, c_in


def pick_frames(clips: torch.Tensor, picks: int) -> torch.Tensor:
    """``picks`` distinct frames drawn at random from each of the (N, C, T, H, W) clips -> (N * picks, C, H, W),
    clip by clip."""
    n, _, t = clips.shape[:3]
    picked = torch.rand(n, t, device=clips.device).argsort(dim=1)[:, :picks]
    return clips.transpose(1, 2)[torch.arange(n, device=clips.device)[:, None], picked].flatten(0, 1)


class FrameDiscriminator(nn.Module):
    """A 2D-convolution discriminator of single frames, summed over ``picks`` frames drawn at random from
    each clip: the spatial discriminator of DVD-GAN (Clark, Donahue & Simonyan 2019; MoCoGAN's image
    discriminator, Tulyakov et al. 2018, is the same idea). It judges what a frame looks like, which
    the video discriminator learns more slowly, and leaves motion to it. With labelled data each frame's
    logit adds the projection term for its clip's label."""

    def __init__(self, spec: DataSpec, width: int, picks: int) -> None:
        super().__init__()
        self.picks = min(picks, spec.shape[1])
        layers, c_in = downsampling_layers(spec.shape[0], width, upsampling_layers(spec), dims=2)
        layers.append(nn.Conv2d(c_in, 1, BASE_SIZE))
        self.net = nn.Sequential(*layers)
        self.embed = class_embedding(spec.num_classes, c_in)

    def forward(self, clips: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(N, C, T, H, W) clips -> (N,) sums of the logits of ``picks`` distinct random frames per clip."""
        h = self.net[:-1](pick_frames(clips, self.picks))
        frame_labels = None if labels is None else labels.repeat_interleave(self.picks)
        logits = self.net[-1](h).flatten() + projection(self.embed, h.mean(dim=(2, 3)), frame_labels)
        return logits.view(clips.shape[0], self.picks).sum(dim=1)


class VGANDiscriminator(nn.Module):
    """3D-convolution discriminator: stride-2 4x4x4 convolutions down to (T/2^k)x4x4, then one logit
    (with ``minibatch_std``, after one more feature map from MinibatchStd). With ``frame_picks`` > 0 a
    FrameDiscriminator judges that many random frames of each clip and its logit is added. With labelled
    data the logit adds the projection term on the last features, mean-pooled."""

    def __init__(self, spec: DataSpec, width: int, minibatch_std: bool = False, frame_picks: int = 0) -> None:
        super().__init__()
        k = upsampling_layers(spec)
        channels, frames = spec.shape[0], spec.shape[1]
        layers, c_in = downsampling_layers(channels, width, k, dims=3)
        if minibatch_std:
            layers.append(MinibatchStd())
        layers.append(nn.Conv3d(c_in + int(minibatch_std), 1, (frames // 2**k, BASE_SIZE, BASE_SIZE)))
        self.net = nn.Sequential(*layers)
        self.embed = class_embedding(spec.num_classes, c_in + int(minibatch_std))
        self.frame_discriminator = FrameDiscriminator(spec, width, frame_picks) if frame_picks > 0 else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per clip (labels: the clips' classes, for a conditional D)."""
        h = self.net[:-1](x)
        logits = self.net[-1](h).flatten() + projection(self.embed, h.mean(dim=(2, 3, 4)), labels)
        return logits if self.frame_discriminator is None else logits + self.frame_discriminator(x, labels)
