"""Adversarial losses, each computed from discriminator logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class Minimax:
    """The original saturating minimax game (Goodfellow et al. 2014): G minimizes log(1 - D(G(z)))."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """-log D(x) - log(1 - D(G(z)))."""
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """log(1 - D(G(z))) = -softplus(logit)."""
        return -F.softplus(fake).mean()


def gradient_input(x: torch.Tensor) -> torch.Tensor:
    """``x`` detached, as a tensor to take D's input gradient at: a view of a fresh leaf, itself not a leaf.

    (torch's module tracker, used by ``FlopCounterMode`` in the throughput benchmark, cannot run
    ``autograd.grad`` with respect to a leaf passed into a module.)
    """
    return x.detach().requires_grad_(True).view_as(x)


def r1_penalty(D: torch.nn.Module, real: torch.Tensor, labels: torch.Tensor | None, gamma: float) -> torch.Tensor:
    """R1 (Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?"): γ/2 E‖∇D(x)‖² on real x."""
    real = gradient_input(real)
    (grad,) = torch.autograd.grad(D(real, labels).sum(), real, create_graph=True)
    return 0.5 * gamma * grad.flatten(1).pow(2).sum(1).mean()


class NonSaturating(Minimax):
    """The non-saturating generator loss of Goodfellow et al. 2014: G maximizes log D(G(z)).

    ``r1_gamma`` > 0 adds the R1 penalty to D's loss, which makes training locally convergent.
    ``r1_every`` = k > 1 applies it lazily, on every k-th D update only and weighted by k
    (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"): about the same
    regularization for a k-th of its extra backward passes.
    """

    def __init__(self, r1_gamma: float = 0.0, r1_every: int = 1) -> None:
        if r1_gamma < 0:
            raise ValueError(f"r1_gamma must be non-negative, got {r1_gamma}")
        if r1_every < 1:
            raise ValueError(f"r1_every must be at least 1, got {r1_every}")
        self.r1_gamma, self.r1_every = r1_gamma, r1_every
        self.d_updates = 0
        if r1_gamma > 0:
            self.penalty = self._r1

    def _r1(self, D: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
            labels: torch.Tensor | None) -> torch.Tensor:
        due = self.d_updates % self.r1_every == 0
        self.d_updates += 1
        if not due:
            return real.new_zeros(())
        return r1_penalty(D, real, labels, self.r1_gamma * self.r1_every)

    def state_dict(self) -> dict:
        """The D-update count, so a resumed run applies lazy R1 on the same updates."""
        return {"d_updates": self.d_updates}

    def load_state_dict(self, state: dict) -> None:
        """Continue the D-update count that state_dict() saved."""
        self.d_updates = int(state["d_updates"])

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """-log D(G(z))."""
        return F.softplus(-fake).mean()


class LeastSquares:
    """Least-squares GAN (Mao et al. 2017), targets a=0, b=c=1."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """½(D(x) - 1)² + ½D(G(z))²."""
        return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """½(D(G(z)) - 1)²."""
        return 0.5 * (fake - 1).pow(2).mean()


class Hinge:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018)."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """max(0, 1 - D(x)) + max(0, 1 + D(G(z)))."""
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """-D(G(z))."""
        return -fake.mean()


class WassersteinGP:
    """Wasserstein loss with gradient penalty (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs")."""

    def __init__(self, gp_weight: float = 10.0) -> None:
        self.gp_weight = gp_weight

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """D(G(z)) - D(x)."""
        return fake.mean() - real.mean()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """-D(G(z))."""
        return -fake.mean()

    def penalty(self, D: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                labels: torch.Tensor | None) -> torch.Tensor:
        """λ(‖∇D(x̂)‖₂ - 1)² at random interpolates x̂ between real and fake samples."""
        alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
        mixed = gradient_input(alpha * real.detach() + (1 - alpha) * fake.detach())
        out = D(mixed, labels)
        (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
        return self.gp_weight * (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()
