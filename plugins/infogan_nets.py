"""InfoGAN's networks (Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel 2016, "InfoGAN: Interpretable
Representation Learning by Information Maximizing Generative Adversarial Nets").

G's input is noise (uniform on [-1, 1], as in the paper's reference implementation) plus latent
codes c: categorical codes (one-hot, uniform over their categories) and continuous ones (uniform on
[-1, 1]). Besides the GAN game, G and an auxiliary network Q
maximize a variational lower bound L_I(G, Q) = E[log Q(c | G(z, c))] + H(c) on the mutual
information I(c; G(z, c)); Q shares all of D's convolutional and dense layers and adds one hidden
layer (the paper's "negligible computation"). Q gives a softmax over each categorical code and the
mean of a factored Gaussian over the continuous ones; with its variance fixed to 1, -log Q is half
the squared error (up to a constant). The term is weighted by λ: 1 for the categorical codes, as in
the paper, and a smaller weight for the continuous ones, whose differential entropy is on another
scale than the GAN objective (the paper's advice). It is learnt on generated samples only: D's
update trains Q (through D's trunk) on the detached batch, G's update trains G on the same term.

Optionally (``q_rotation``, ``q_shift``) Q reads the categorical codes from a randomly rotated and
shifted copy of each generated sample. The code must then survive the small transformations that do
not change what a digit is, so G cannot make a category out of slant or position alone: the failure
that left the paper's objective with one category for slanted and one for upright ones, while 4 and
9 shared the rest. The idea is the invariance behind Invariant Information Clustering (Ji, Henriques
& Vedaldi 2019, "Invariant Information Clustering for Unsupervised Image Classification and
Segmentation"), applied here to InfoGAN's generated samples; the continuous codes are still read
from the sample as drawn (one of them learns the slant).

The MNIST architecture of the paper's appendix, at any square size divisible by 4:
G: FC 1024 -> BatchNorm, ReLU -> FC (s/4)^2·2w -> BatchNorm, ReLU -> ConvT 4x4 2w->w /2 -> BatchNorm,
ReLU -> ConvT 4x4 w->C /2 (tanh). D: Conv 4x4 C->w /2, LeakyReLU 0.2 -> Conv 4x4 w->2w /2, BatchNorm,
LeakyReLU -> FC 1024, BatchNorm, LeakyReLU -> FC 1 (D) and FC 128, BatchNorm, LeakyReLU -> FC (Q).
(w = 64 in the paper.)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.jitter import random_affine
from ganzoo.spec import DataSpec
from ganzoo_plugins.dcgan_nets import init_dcgan_weights

#: The name of D's auxiliary output: Q's parameters, (N, sum of categories + continuous codes).
Q_HEAD = "q"


class LatentCodes:
    """The layout of G's input, [noise | one-hot categorical codes | continuous codes], named c1, c2, ... in
    that order (the paper's MNIST: c1 10-way categorical, c2 and c3 continuous)."""

    def __init__(self, noise_dim: int, categorical: Sequence[int], continuous: int) -> None:
        self.noise_dim, self.categorical, self.continuous = noise_dim, [int(k) for k in categorical], continuous
        names = [f"c{i + 1}" for i in range(len(self.categorical) + continuous)]
        self.codes = dict(zip(names, [*self.categorical, *[0] * continuous]))
        self.dim = noise_dim + sum(self.categorical) + continuous
        starts, offset = {}, noise_dim
        for name, size in self.codes.items():
            starts[name] = offset
            offset += size or 1
        self.starts = starts

    def sample(self, n: int, generator: torch.Generator | None = None,
               device: torch.device | str | None = None) -> torch.Tensor:
        """n latent inputs: noise and continuous codes ~ U(-1, 1) (as in the paper's reference implementation),
        each categorical code uniform over its categories (one-hot)."""
        parts = [torch.rand(n, self.noise_dim, generator=generator, device=device) * 2 - 1]
        for size in self.categorical:
            index = torch.randint(0, size, (n,), generator=generator, device=device)
            parts.append(F.one_hot(index, size).float())
        parts.append(torch.rand(n, self.continuous, generator=generator, device=device) * 2 - 1)
        return torch.cat(parts, dim=1)

    def with_code(self, z: torch.Tensor, name: str, values: torch.Tensor) -> torch.Tensor:
        """A copy of z with code ``name`` set to ``values`` (N,): categories (ints) or continuous values."""
        if name not in self.codes:
            raise KeyError(f"unknown latent code {name!r}; the codes are {', '.join(self.codes)}")
        z, start, size = z.clone(), self.starts[name], self.codes[name]
        values = values.to(z.device)
        if size:
            z[:, start : start + size] = F.one_hot(values.long(), size).to(z.dtype)
        else:
            z[:, start] = values.to(z.dtype)
        return z

    def targets(self, z: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The codes in z: each categorical code's category (N,), and the continuous codes (N, continuous)."""
        categories = [z[:, self.starts[name] : self.starts[name] + size].argmax(1)
                      for name, size in self.codes.items() if size]
        first = self.noise_dim + sum(self.categorical)
        return categories, z[:, first : first + self.continuous]


def dense_conv_generator(in_dim: int, spec: DataSpec, width: int, hidden: int) -> nn.Sequential:
    """The paper's MNIST generator from ``in_dim`` inputs, at a square size s divisible by 4: FC ``hidden`` ->
    BatchNorm, ReLU -> FC (s/4)^2·2w -> BatchNorm, ReLU -> ConvT 4x4 2w->w /2 -> BatchNorm, ReLU -> ConvT 4x4 w->C /2
    -> tanh (the reference implementation's Bernoulli means, rescaled to [-1, 1])."""
    seed = spec.shape[-1] // 4
    net = nn.Sequential(
        nn.Linear(in_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
        nn.Linear(hidden, seed * seed * 2 * width, bias=False), nn.BatchNorm1d(seed * seed * 2 * width),
        nn.ReLU(inplace=True),
        nn.Unflatten(1, (2 * width, seed, seed)),
        nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(width, spec.channels, 4, stride=2, padding=1), nn.Tanh(),
    )
    init_dcgan_weights(net)
    return net


def dense_conv_trunk(spec: DataSpec, width: int, hidden: int) -> nn.Sequential:
    """The paper's MNIST discriminator up to its last hidden layer: Conv 4x4 C->w /2 -> LeakyReLU 0.2 -> Conv 4x4
    w->2w /2 -> BatchNorm, LeakyReLU -> FC ``hidden`` -> BatchNorm, LeakyReLU; its output heads go on top."""
    seed = spec.shape[-1] // 4
    trunk = nn.Sequential(
        nn.Conv2d(spec.channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * width),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Flatten(),
        nn.Linear(2 * width * seed * seed, hidden, bias=False), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2, inplace=True),
    )
    init_dcgan_weights(trunk)
    return trunk


class HeadedDiscriminator(nn.Module):
    """``dense_conv_trunk`` with a linear adversarial logit and one auxiliary head (``auxiliary``, named by the
    subclass's ``heads``): ``D(x)`` gives the logits, ``D(x, heads=True)`` a dict of ``"logits"`` and the head's
    output. ACGAN's class head and InfoGAN's Q share this shape."""

    heads: tuple[str]

    def __init__(self, spec: DataSpec, width: int, hidden: int) -> None:
        super().__init__()
        self.trunk = dense_conv_trunk(spec, width, hidden)
        self.source = nn.Linear(hidden, 1)

    def auxiliary(self, h: torch.Tensor) -> torch.Tensor:
        """The auxiliary head on the trunk's features (N, hidden)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                heads: bool = False) -> torch.Tensor | dict[str, torch.Tensor]:
        """One logit per sample; with ``heads`` also the auxiliary head's output. Labels are ignored: the image
        alone must tell what the head predicts."""
        h = self.trunk(x)
        logits = self.source(h).squeeze(1)
        if not heads:
            return logits
        return {"logits": logits, self.heads[0]: self.auxiliary(h)}


class InfoGANGenerator(nn.Module):
    """The paper's MNIST generator (``dense_conv_generator``) on noise and codes.

    Unconditional: labels are ignored. ``sample_latent``, ``codes`` and ``with_code`` expose its latent
    layout (``LatentCodes``) to the sampling sites and to ``ganzoo sample --vary``.
    """

    def __init__(self, spec: DataSpec, layout: LatentCodes, width: int, hidden: int) -> None:
        super().__init__()
        self.layout, self.latent_dim, self.codes = layout, layout.dim, dict(layout.codes)
        self.net = dense_conv_generator(layout.dim, spec, width, hidden)

    def sample_latent(self, n: int, generator: torch.Generator | None = None,
                      device: torch.device | str | None = None) -> torch.Tensor:
        """n latent inputs: noise and codes (``LatentCodes.sample``)."""
        return self.layout.sample(n, generator, device)

    def with_code(self, z: torch.Tensor, name: str, values: torch.Tensor) -> torch.Tensor:
        """z with one code set (``LatentCodes.with_code``)."""
        return self.layout.with_code(z, name, values)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(N, latent_dim) -> (N, C, H, W) in [-1, 1]; labels are ignored (InfoGAN learns without them)."""
        return self.net(z)


class InfoGANDiscriminator(HeadedDiscriminator):
    """The paper's MNIST D (``dense_conv_trunk`` and a linear logit) with Q on its trunk: ``D(x)`` gives the
    logits, ``D(x, heads=True)`` also ``"q"``.

    ``d_aux_loss`` and ``g_aux_loss`` are both λ·(-L_I) on the generated batch: the categorical codes'
    cross-entropy (weight ``categorical_weight``) and the continuous codes' unit-variance Gaussian negative
    log-likelihood, ½‖ĉ - c‖² (weight ``continuous_weight``). Labels are never used. With ``q_rotation``
    (degrees) or ``q_shift`` (pixels) the categorical codes are read from ``random_affine`` of the batch:
    ``D(x, heads=True)`` then also hands back its input as ``"input"``, so the extra pass of D's trunk is
    made for generated batches alone.
    """

    heads = (Q_HEAD,)

    def __init__(self, spec: DataSpec, layout: LatentCodes, width: int, hidden: int, q_hidden: int,
                 categorical_weight: float, continuous_weight: float, q_rotation: float = 0.0,
                 q_shift: float = 0.0) -> None:
        super().__init__(spec, width, hidden)
        self.layout, self.q_rotation, self.q_shift = layout, q_rotation, q_shift
        self.categorical_weight, self.continuous_weight = categorical_weight, continuous_weight
        self.q = nn.Sequential(
            nn.Linear(hidden, q_hidden, bias=False), nn.BatchNorm1d(q_hidden), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(q_hidden, sum(layout.categorical) + layout.continuous),
        )

    def auxiliary(self, h: torch.Tensor) -> torch.Tensor:
        """Q's outputs: the logits of each categorical code, then the continuous codes' means."""
        return self.q(h)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                heads: bool = False) -> torch.Tensor | dict[str, torch.Tensor]:
        """``HeadedDiscriminator.forward``; with heads and a rotation or shift set, the dict also holds x as
        ``"input"`` for the categorical codes' transformed pass."""
        out = super().forward(x, labels, heads)
        if heads and (self.q_rotation or self.q_shift):
            out["input"] = x
        return out

    def categorical_logits(self, out: dict[str, torch.Tensor]) -> torch.Tensor:
        """Q's categorical logits for the batch ``out`` was computed on: from Q's output, or from a rotated and
        shifted copy of the batch (``ganzoo.jitter.random_affine``) where ``q_rotation`` or ``q_shift`` is set."""
        if "input" not in out:
            return out[Q_HEAD]
        moved = random_affine(out["input"], self.q_rotation, self.q_shift)
        return self.q(self.trunk(moved))[:, : sum(self.layout.categorical)]

    def information_loss(self, out: dict[str, torch.Tensor], z: torch.Tensor) -> torch.Tensor:
        """λ-weighted -log Q(c | x) for the codes c in z of the generated batch ``out`` was computed on."""
        q = out[Q_HEAD].float()
        logits = self.categorical_logits(out).float()
        categories, continuous = self.layout.targets(z)
        loss = q.new_zeros(())
        start = 0
        for size, target in zip(self.layout.categorical, categories):
            loss = loss + self.categorical_weight * F.cross_entropy(logits[:, start : start + size], target)
            start += size
        if self.layout.continuous:
            mean = q[:, start : start + self.layout.continuous]
            loss = loss + self.continuous_weight * 0.5 * (mean - continuous.float()).pow(2).sum(1).mean()
        return loss

    def d_aux_loss(self, real_out: dict[str, torch.Tensor], fake_out: dict[str, torch.Tensor],
                   labels: torch.Tensor | None, z: torch.Tensor) -> torch.Tensor:
        """Q's loss on the (detached) generated batch: trains Q and D's shared trunk."""
        return self.information_loss(fake_out, z)

    def g_aux_loss(self, fake_out: dict[str, torch.Tensor], labels: torch.Tensor | None,
                   z: torch.Tensor) -> torch.Tensor:
        """The same term for G: its samples must let Q recover their codes."""
        return self.information_loss(fake_out, z)
