"""ACGAN's networks (Odena, Olah & Shlens 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs").

G takes noise and a class: the class enters as a one-hot vector appended to z. D sees the image
alone, not the class, and has two outputs on one trunk: the adversarial logit and a classifier over
the classes (the auxiliary head). The paper details its networks for ImageNet and CIFAR-10 only; at
MNIST's size both trunks are those of the MNIST experiments of Chen et al. 2016 (InfoGAN; see
``infogan_nets``), which train fast and well on a CPU: G from two dense layers to (s/4)^2 x 2w and
two 4x4 transposed convolutions, D from two strided 4x4 convolutions and a dense layer, for square
images whose side s is divisible by 4 (28x28, 32x32).

The paper's objective: D maximizes L_S + L_C, G maximizes L_C - L_S, where L_S is the log-likelihood
of the right source (real or generated; here any registered adversarial loss) and L_C that of the
right class, on real and on generated images. So D's auxiliary loss is the class cross-entropy on
both batches, G's the cross-entropy of the classes it was asked for on its own samples.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.spec import DataSpec
from ganzoo_plugins.infogan_nets import HeadedDiscriminator, dense_conv_generator

#: The name of D's auxiliary output: class logits (N, num_classes).
CLASS_HEAD = "classes"


class ACGANGenerator(nn.Module):
    """[z, one-hot(y)] -> ``dense_conv_generator`` -> (N, C, s, s) in [-1, 1]."""

    def __init__(self, spec: DataSpec, latent_dim: int, width: int, hidden: int) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, spec.num_classes
        self.net = dense_conv_generator(latent_dim + spec.num_classes, spec, width, hidden)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(N, latent_dim) and int labels (N,) -> (N, C, H, W) in [-1, 1]."""
        if labels is None:
            raise ValueError("the ACGAN generator needs labels: G(z, labels)")
        return self.net(torch.cat([z, F.one_hot(labels.long(), self.num_classes).to(z.dtype)], dim=1))


class ACGANDiscriminator(HeadedDiscriminator):
    """x -> ``dense_conv_trunk`` -> two linear heads: the adversarial logit and the class logits.

    ``D(x)`` (labels are ignored: D must tell the class itself) gives the logits; ``D(x, heads=True)``
    a dict with ``"logits"`` and ``"classes"``. ``class_weight`` scales the auxiliary class losses.
    """

    heads = (CLASS_HEAD,)

    def __init__(self, spec: DataSpec, width: int, hidden: int, class_weight: float) -> None:
        super().__init__(spec, width, hidden)
        self.class_weight = class_weight
        self.classify = nn.Linear(hidden, spec.num_classes)

    def auxiliary(self, h: torch.Tensor) -> torch.Tensor:
        """The class logits (N, num_classes)."""
        return self.classify(h)

    def _class_loss(self, out: dict[str, torch.Tensor], labels: torch.Tensor | None) -> torch.Tensor:
        if labels is None:
            raise ValueError("ACGAN's class loss needs the batch's labels")
        return F.cross_entropy(out[CLASS_HEAD].float(), labels.long())

    def d_aux_loss(self, real_out: dict[str, torch.Tensor], fake_out: dict[str, torch.Tensor],
                   labels: torch.Tensor | None, z: torch.Tensor) -> torch.Tensor:
        """-L_C for D: class cross-entropy on the real batch and on the generated one (asked for ``labels``)."""
        return self.class_weight * (self._class_loss(real_out, labels) + self._class_loss(fake_out, labels))

    def g_aux_loss(self, fake_out: dict[str, torch.Tensor], labels: torch.Tensor | None,
                   z: torch.Tensor) -> torch.Tensor:
        """-L_C for G: the cross-entropy of the classes G was asked for, on its samples."""
        return self.class_weight * self._class_loss(fake_out, labels)
