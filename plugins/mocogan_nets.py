"""MoCoGAN networks (Tulyakov, Liu, Yang & Kautz 2018, "MoCoGAN: Decomposing Motion and Content for Video
Generation").

A clip's latent path is split in two. The content code z_C is drawn once per clip and held for every
frame; the motion codes z_M(1..T) come from a recurrent network (a GRU cell) whose hidden state starts
from noise h_0 and takes fresh noise ε_t at each step. One image generator G_I, shared across frames,
turns [z_C, z_M(t)] into frame t, meant to keep what is in the content code (the digit) while the
motion code moves it; nothing in that design enforces it, and on Moving MNIST the digits morph instead.
The ``warp`` and ``translate`` motion modes enforce it: G_I draws one image per clip from z_C, and each
motion code only moves it (see ``MoCoGANGenerator``). Two discriminators judge the result: D_I on
single frames drawn at random from each clip (what a frame looks like) and D_V on whole clips (how
frames follow each other); each has its own GAN loss, and G is trained against both.

G's latent vector holds, in order, z_C (``content_dim``), h_0 (``motion_dim``) and ε_1..ε_T (``frames``
x ``noise_dim``), all standard normal: ganzoo's sampling draws it like any other ``latent_dim``.
``G.clips(z, labels, frames)`` runs the motion network for more (or fewer) frames than it was trained
on, drawing the extra ε_t from a given generator. With labelled data (class-conditional clips) the
class enters G as a learnt embedding appended to z_C, and both discriminators add the projection term
<embed(y), h> (Miyato & Koyama 2018). With ``class_weight`` D_I also classifies each frame it judges,
and both networks learn from that classifier as in ACGAN (Odena, Olah & Shlens 2017): D from the class
cross-entropy of real frames and of generated ones, G from that of its own frames for the digit it was
asked for. With the projection alone, G has settled on whole classes drawn as another digit (every 6
drawn as a 4, on one seed of benchmarks/video-conditional.yaml); a classifier trained on real frames
names the digit it sees.

The image generator is DCGAN-shaped: a 4x4 transposed convolution from the code, then x2 upsampling
layers (resize-convolutions by default, as in ``vgan-moving-mnist``) with BatchNorm and ReLU, tanh at
the output. D_V is VGAN's 3D-convolution stack (stride-2 4x4x4 layers, BatchNorm, LeakyReLU; keeping
time at full length made a training step several times dearer on a CPU), then a convolution over the
remaining volume; D_I the same stack in 2D on single frames. Training clips must therefore have a
multiple of 2^k frames (k: the frame size's doublings from 4); G makes clips of any length.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.spec import DataSpec
from ganzoo_plugins.projection import projection
from ganzoo_plugins.vgan_nets import (BASE_SIZE, FRAME_X2, downsampling_layers, frame_doublings, pick_frames,
                                      upsample, upsampling_layers)

#: The name of D's auxiliary output: the image discriminator's logits, one per picked frame (N * picks,).
FRAMES_HEAD = "frames"
#: The name of D_I's class head, with ``class_weight``: class logits per picked frame (N * picks, classes).
CLASS_HEAD = "classes"


#: The motion modes that move one image per clip, with the identity map their motion layer starts from:
#: a whole affine map (2x3, row-major) or a shift alone.
WARPS = {"warp": torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), "translate": torch.zeros(2)}
#: Every motion mode: the paper's (the motion code is an input of the image generator), then the warps.
MOTIONS = ("code", *WARPS)


class MoCoGANGenerator(nn.Module):
    """z = [z_C, h_0, ε_1..ε_T] -> GRU motion codes -> shared image generator per frame -> (N, C, T, H, W).

    ``motion="code"`` is the paper's generator: frame t is G_I([z_C, z_M(t)]). ``motion="warp"`` renders
    one image per clip from z_C alone and moves it: a linear layer turns each motion code into the 2x3
    affine map of a spatial transformer (Jaderberg et al. 2015), started at the identity, and frame t is
    that image resampled under map t, the background filling what moves in. ``motion="translate"`` is
    the same with shifts alone (two numbers per motion code, each ``max_shift``·tanh of a linear map, so that
    the image's centre never leaves the frame: an image moved wholly out of view gives blank frames and no
    gradient back, a state training cannot leave); ``whole_pixels`` rounds them to whole pixels,
    so every frame is an exact copy of the image, moved (bilinear resampling at fractional shifts blurs
    strokes from frame to frame, which a discriminator of clips that move in whole pixels sees), with
    gradients passed straight through the rounding (Bengio, Léonard & Courville 2013). The content then
    cannot change along a clip, only where and how it is placed: the decomposition of content and pose
    that DDPAE (Hsieh et al. 2018) learns on Moving MNIST, whose digits only translate.
    """

    def __init__(self, spec: DataSpec, content_dim: int, motion_dim: int, noise_dim: int, width: int,
                 upsampling: str, motion: str = "code", whole_pixels: bool = False, max_shift: float = 1.0) -> None:
        super().__init__()
        k = frame_doublings(spec, "mocogan")
        channels, self.frames = spec.shape[0], spec.shape[1]
        self.value_range = spec.value_range
        self.content_dim, self.motion_dim, self.noise_dim = content_dim, motion_dim, noise_dim
        self.latent_dim = content_dim + motion_dim + self.frames * noise_dim
        self.num_classes = spec.num_classes
        self.embedding = nn.Embedding(spec.num_classes, content_dim) if spec.num_classes else None
        self.motion = nn.GRUCell(noise_dim, motion_dim)
        self.warp: nn.Linear | None = None
        self.whole_pixels, self.max_shift = whole_pixels, max_shift
        if motion in WARPS:
            self.warp = nn.Linear(motion_dim, WARPS[motion].numel())
            nn.init.zeros_(self.warp.weight)
            with torch.no_grad():
                self.warp.bias.copy_(WARPS[motion])
        widths = [width * 2 ** (k - 1 - i) for i in range(k)]
        code = content_dim * (2 if spec.num_classes else 1) + (0 if self.warp is not None else motion_dim)
        layers: list[nn.Module] = [nn.ConvTranspose2d(code, widths[0], BASE_SIZE, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [upsample(c_in, c_out, FRAME_X2, upsampling), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        layers += [upsample(widths[-1], channels, FRAME_X2, upsampling), nn.Tanh()]
        self.image = nn.Sequential(*layers)

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z -> content (N, content_dim), h_0 (N, motion_dim), noise (N, T, noise_dim)."""
        c, m = self.content_dim, self.motion_dim
        return z[:, :c], z[:, c : c + m], z[:, c + m :].reshape(z.shape[0], -1, self.noise_dim)

    def motion_codes(self, h: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The GRU's hidden states (N, T, motion_dim) from h_0 (N, motion_dim) and noise (N, T, noise_dim)."""
        codes = []
        for t in range(noise.shape[1]):
            h = self.motion(noise[:, t], h)
            codes.append(h)
        return torch.stack(codes, dim=1)

    def render(self, content: torch.Tensor, motion: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Frames from one content code per clip and a motion code per frame -> (N, C, T, H, W)."""
        if self.embedding is not None:
            if labels is None:
                raise ValueError("this conditional generator needs labels: G(z, labels)")
            content = torch.cat([content, self.embedding(labels.long()).to(content.dtype)], dim=1)
        n, t = motion.shape[:2]
        if self.warp is not None:
            return self.warped(self.image(content[:, :, None, None]), motion)
        codes = torch.cat([content.unsqueeze(1).expand(n, t, content.shape[1]), motion], dim=2)
        frames = self.image(codes.reshape(n * t, -1, 1, 1))
        return frames.view(n, t, *frames.shape[1:]).transpose(1, 2)

    def warped(self, images: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) moved by the affine map of each motion code (N, T, motion_dim) -> (N, C, T, H, W);
        what comes in from outside the image is background (the value range's low end)."""
        n, t = motion.shape[:2]
        lo, hi = self.value_range
        theta = self.warp(motion.reshape(n * t, -1)).to(images.dtype)
        if theta.shape[1] == 2:  # shifts alone, bounded (in half-frames): the identity's linear part
            theta = self.max_shift * torch.tanh(theta)
            if self.whole_pixels:  # a pixel is 2/W (2/H) of the [-1, 1] grid
                pixel = theta.new_tensor([2 / images.shape[-1], 2 / images.shape[-2]])
                theta = theta + ((theta / pixel).round() * pixel - theta).detach()
            eye = torch.eye(2, dtype=theta.dtype, device=theta.device).expand(n * t, 2, 2)
            theta = torch.cat([eye, theta[:, :, None]], dim=2)
        theta = theta.view(n * t, 2, 3)
        unit = ((images - lo) / (hi - lo)).unsqueeze(1).expand(n, t, *images.shape[1:]).flatten(0, 1)
        grid = F.affine_grid(theta, list(unit.shape), align_corners=False)
        frames = F.grid_sample(unit, grid, align_corners=False, padding_mode="zeros") * (hi - lo) + lo
        return frames.view(n, t, *images.shape[1:]).transpose(1, 2)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(N, latent_dim) [+ int labels (N,)] -> clips (N, C, T, H, W) in [-1, 1]."""
        content, h0, noise = self.split(z)
        return self.render(content, self.motion_codes(h0, noise), labels)

    def clips(self, z: torch.Tensor, labels: torch.Tensor | None, frames: int,
              generator: torch.Generator | None = None) -> torch.Tensor:
        """Clips of ``frames`` frames from latent vectors ``z``: the first T steps use z's own noise, later
        steps fresh standard-normal noise from ``generator``; the content code stays the same throughout."""
        content, h0, noise = self.split(z)
        if frames > noise.shape[1]:
            extra = torch.randn(z.shape[0], frames - noise.shape[1], self.noise_dim, generator=generator,
                                device=z.device, dtype=z.dtype)
            noise = torch.cat([noise, extra], dim=1)
        return self.render(content, self.motion_codes(h0, noise[:, :frames]), labels)


class MoCoGANDiscriminator(nn.Module):
    """D_V, a 3D-convolution clip discriminator, and D_I, a 2D one on ``picks`` random frames of each clip.

    ``D(x, labels)`` gives D_V's logit per clip, trained with the run's adversarial loss; ``D(x, labels,
    heads=True)`` adds ``"frames"``, D_I's logits, which ``d_aux_loss`` and ``g_aux_loss`` train with the
    standard GAN loss (the paper's, for both discriminators) weighed by ``image_weight``. With
    ``class_weight`` > 0 (labelled clips only) ``"classes"`` holds D_I's class logits on the same frames,
    and the aux losses add ACGAN's class cross-entropy weighed by ``class_weight``.
    """

    heads: tuple[str, ...] = (FRAMES_HEAD,)

    def __init__(self, spec: DataSpec, width: int, picks: int, image_weight: float, class_weight: float = 0.0) -> None:
        super().__init__()
        k = upsampling_layers(spec, "mocogan")
        channels, frames = spec.shape[0], spec.shape[1]
        self.picks, self.image_weight = min(picks, frames), image_weight
        video, c_video = downsampling_layers(channels, width, k, dims=3)
        video.append(nn.Conv3d(c_video, c_video, (frames // 2**k, BASE_SIZE, BASE_SIZE)))
        video += [nn.LeakyReLU(0.2, inplace=True), nn.Flatten()]
        self.video = nn.Sequential(*video)
        self.video_logit = nn.Linear(c_video, 1)
        image, c_image = downsampling_layers(channels, width, k, dims=2)
        image.append(nn.Conv2d(c_image, c_image, BASE_SIZE))
        image += [nn.LeakyReLU(0.2, inplace=True), nn.Flatten()]
        self.image = nn.Sequential(*image)
        self.image_logit = nn.Linear(c_image, 1)
        classes = spec.num_classes
        self.video_embed = nn.Embedding(classes, c_video) if classes else None
        self.image_embed = nn.Embedding(classes, c_image) if classes else None
        self.class_weight = class_weight
        self.classify = nn.Linear(c_image, classes) if classes and class_weight > 0 else None
        if self.classify is not None:
            self.heads = (FRAMES_HEAD, CLASS_HEAD)

    def frame_features(self, clips: torch.Tensor) -> torch.Tensor:
        """D_I's features of ``picks`` distinct random frames of each clip -> (N * picks, channels)."""
        return self.image(pick_frames(clips, self.picks))

    def _frame_logits(self, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        frame_labels = None if labels is None else labels.repeat_interleave(self.picks)
        return self.image_logit(h).squeeze(1) + projection(self.image_embed, h, frame_labels)

    def frame_logits(self, clips: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """D_I on ``picks`` distinct random frames of each clip -> (N * picks,) logits."""
        return self._frame_logits(self.frame_features(clips), labels)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                heads: bool = False) -> torch.Tensor | dict[str, torch.Tensor]:
        """D_V's logit per clip; with ``heads`` also D_I's logits on random frames, and with the class head
        its class logits on the same frames."""
        h = self.video(x)
        logits = self.video_logit(h).squeeze(1) + projection(self.video_embed, h, labels)
        if not heads:
            return logits
        frames = self.frame_features(x)
        out = {"logits": logits, FRAMES_HEAD: self._frame_logits(frames, labels)}
        if self.classify is not None:
            out[CLASS_HEAD] = self.classify(frames)
        return out

    def _class_loss(self, out: dict[str, torch.Tensor], labels: torch.Tensor | None) -> torch.Tensor:
        """ACGAN's class cross-entropy of the judged frames against their clips' labels; 0 without the head."""
        if self.classify is None:
            return out[FRAMES_HEAD].new_zeros(())
        if labels is None:
            raise ValueError("the class head's loss needs the batch's labels")
        target = labels.long().repeat_interleave(self.picks)
        return self.class_weight * F.cross_entropy(out[CLASS_HEAD].float(), target)

    def d_aux_loss(self, real_out: dict[str, torch.Tensor], fake_out: dict[str, torch.Tensor],
                   labels: torch.Tensor | None, z: torch.Tensor) -> torch.Tensor:
        """D_I's GAN loss, -log D_I(real frame) - log(1 - D_I(generated frame)), and with the class head the
        class cross-entropy of real and of generated frames."""
        real, fake = real_out[FRAMES_HEAD].float(), fake_out[FRAMES_HEAD].float()
        adversarial = self.image_weight * (F.softplus(-real).mean() + F.softplus(fake).mean())
        return adversarial + self._class_loss(real_out, labels) + self._class_loss(fake_out, labels)

    def g_aux_loss(self, fake_out: dict[str, torch.Tensor], labels: torch.Tensor | None,
                   z: torch.Tensor) -> torch.Tensor:
        """G against D_I, non-saturating -log D_I(generated frame), and with the class head the class
        cross-entropy of its frames for the digits it was asked for."""
        adversarial = self.image_weight * F.softplus(-fake_out[FRAMES_HEAD].float()).mean()
        return adversarial + self._class_loss(fake_out, labels)
