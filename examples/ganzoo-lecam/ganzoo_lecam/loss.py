"""The hinge loss with the LeCam regularizer (Tseng, Jiang, Liu, Yang & Yang 2021, "Regularizing Generative
Adversarial Networks under Limited Data", CVPR).

With few training images the discriminator's logits on real and generated images drift apart without bound
while it memorizes the training set. The regularizer ties each set of logits to an exponential moving average of
the *other* set's:

    R_LC = E_x ‖D(x) − α_F‖² + E_z ‖D(G(z)) − α_R‖²,

where α_R and α_F track the mean logit on real and on generated images over D's updates. The paper shows that
the regularized objective minimizes a weighted LeCam divergence, which is more robust when data is limited.
D's loss is the hinge loss (Lim & Ye 2017) plus λ·R_LC; G's loss is the hinge loss's, -E D(G(z)).

The two averages are state a resumed run must continue, so the loss saves them with ``state_dict()`` (the
schedule puts them in every checkpoint) and restores them with ``load_state_dict()``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class LeCamHinge:
    """Hinge loss plus ``weight`` times the LeCam regularizer, its anchors averaged with ``decay`` per D update."""

    def __init__(self, weight: float = 0.3, decay: float = 0.99) -> None:
        if weight < 0:
            raise ValueError(f"weight must be non-negative, got {weight}")
        if not 0 <= decay < 1:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.weight, self.decay = weight, decay
        self.anchor_real: torch.Tensor | None = None
        self.anchor_fake: torch.Tensor | None = None

    @torch.no_grad()
    def _track(self, real: torch.Tensor, fake: torch.Tensor) -> None:
        """Move the anchors toward this batch's mean logits (the first batch sets them), on the logits' device."""
        real_mean, fake_mean = real.float().mean(), fake.float().mean()
        if self.anchor_real is None or self.anchor_fake is None:
            self.anchor_real, self.anchor_fake = real_mean.clone(), fake_mean.clone()
        else:
            self.anchor_real = self.anchor_real.to(real_mean.device).lerp(real_mean, 1 - self.decay)
            self.anchor_fake = self.anchor_fake.to(fake_mean.device).lerp(fake_mean, 1 - self.decay)

    def regularizer(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """R_LC: the mean squared distance of the real logits to the fake anchor and of the fake logits to the real
        anchor (the anchors as they stand; ``d_loss`` updates them first)."""
        return (real - self.anchor_fake).pow(2).mean() + (fake - self.anchor_real).pow(2).mean()

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """max(0, 1 - D(x)) + max(0, 1 + D(G(z))) + λ R_LC, after moving the anchors by this batch."""
        self._track(real.detach(), fake.detach())
        hinge = F.relu(1 - real).mean() + F.relu(1 + fake).mean()
        return hinge + self.weight * self.regularizer(real, fake)

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """-D(G(z)): the regularizer acts on D only."""
        return -fake.mean()

    def state_dict(self) -> dict:
        """Both anchors (None before the first D update)."""
        return {"anchor_real": self.anchor_real, "anchor_fake": self.anchor_fake}

    def load_state_dict(self, state: dict) -> None:
        """Continue from saved anchors."""
        self.anchor_real, self.anchor_fake = state["anchor_real"], state["anchor_fake"]
