"""Adversarial losses, each computed from discriminator logits.

Logits are one per sample (N,) or a map per sample (N, ...) (a PatchGAN's): every loss averages over
all of them, and every penalty takes the gradient of each sample's mean logit (``per_sample``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class Minimax:
    """The original saturating minimax game (Goodfellow et al. 2014): G minimizes log(1 - D(G(z)))."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """-log D(x) - log(1 - D(G(z)))."""
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """log(1 - D(G(z))) = -softplus(logit)."""
        return -F.softplus(fake).mean()


def per_sample(logits: torch.Tensor) -> torch.Tensor:
    """One value per sample (N,): the logits themselves, or the mean of each sample's map of logits."""
    return logits.reshape(logits.shape[0], -1).mean(1)


def gradient_input(x: torch.Tensor) -> torch.Tensor:
    """``x`` detached, as a tensor to take D's input gradient at: a view of a fresh leaf, itself not a leaf.

    (torch's module tracker, used by ``FlopCounterMode`` in the throughput benchmark, cannot run
    ``autograd.grad`` with respect to a leaf passed into a module.)
    """
    return x.detach().requires_grad_(True).view_as(x)


def gradient_penalty(D: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor | None, gamma: float) -> torch.Tensor:
    """γ/2 E‖∇ₓD(x)‖²: R1 when x is real data, R2 when x is generated (Mescheder et al. 2018,
    "Which Training Methods for GANs do actually Converge?")."""
    x = gradient_input(x)
    (grad,) = torch.autograd.grad(per_sample(D(x, labels)).sum(), x, create_graph=True)
    return 0.5 * gamma * grad.flatten(1).pow(2).sum(1).mean()


class ZeroCenteredPenalties:
    """R1 on real and R2 on generated samples, applied lazily.

    ``r1_gamma`` > 0 penalizes D's input gradient on real data (R1), which makes training locally
    convergent (Mescheder et al. 2018); ``r2_gamma`` > 0 does the same on generated data (R2), which
    R3GAN pairs with R1 (Huang et al. 2024, "The GAN is dead; long live the GAN! A Modern GAN
    Baseline"). ``r1_every`` = k > 1 applies them on every k-th D update only, weighted by k
    (lazy regularization, Karras et al. 2020, "Analyzing and Improving the Image Quality of
    StyleGAN"): about the same regularization for a k-th of the extra backward passes.
    """

    def __init__(self, r1_gamma: float = 0.0, r1_every: int = 1, r2_gamma: float = 0.0) -> None:
        for name, gamma in (("r1_gamma", r1_gamma), ("r2_gamma", r2_gamma)):
            if gamma < 0:
                raise ValueError(f"{name} must be non-negative, got {gamma}")
        if r1_every < 1:
            raise ValueError(f"r1_every must be at least 1, got {r1_every}")
        self.r1_gamma, self.r2_gamma, self.r1_every = r1_gamma, r2_gamma, r1_every
        self.d_updates = 0
        if r1_gamma > 0 or r2_gamma > 0:
            self.penalty = self._penalties

    def _penalties(self, D: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                   labels: torch.Tensor | None) -> torch.Tensor:
        due = self.d_updates % self.r1_every == 0
        self.d_updates += 1
        total = real.new_zeros(())
        if not due:
            return total
        if self.r1_gamma > 0:
            total = total + gradient_penalty(D, real, labels, self.r1_gamma * self.r1_every)
        if self.r2_gamma > 0:
            total = total + gradient_penalty(D, fake, labels, self.r2_gamma * self.r1_every)
        return total

    def state_dict(self) -> dict:
        """The D-update count, so a resumed run applies lazy penalties on the same updates."""
        return {"d_updates": self.d_updates}

    def load_state_dict(self, state: dict) -> None:
        """Continue the D-update count that state_dict() saved."""
        self.d_updates = int(state["d_updates"])


class NonSaturating(ZeroCenteredPenalties, Minimax):
    """The non-saturating generator loss of Goodfellow et al. 2014: G maximizes log D(G(z)),
    with optional (lazy) R1 and R2 penalties (see ``ZeroCenteredPenalties``)."""

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """-log D(G(z))."""
        return F.softplus(-fake).mean()


class RelativisticPairing(ZeroCenteredPenalties):
    """The relativistic pairing GAN loss, RpGAN (Jolicoeur-Martineau 2018, "The relativistic
    discriminator: a key element missing from standard GAN"): D judges each real sample against the
    generated sample of the same batch position, f(D(x) - D(G(z))) with f = softplus(-t), and G
    the reverse. With R1 and R2 it is the loss of R3GAN (Huang et al. 2024), which shows it has no
    mode-dropping local minima where the plain non-saturating loss has them.
    """

    g_needs_real = True

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """E softplus(-(D(x) - D(G(z))))."""
        return F.softplus(fake - real).mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """E softplus(-(D(G(z)) - D(x))); the real logits are D's on the same iteration's real batch."""
        if real is None:
            raise ValueError("the RpGAN generator loss needs the real logits (g_needs_real)")
        return F.softplus(real - fake).mean()


class LeastSquares:
    """Least-squares GAN (Mao et al. 2017), targets a=0, b=c=1."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """½(D(x) - 1)² + ½D(G(z))²."""
        return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """½(D(G(z)) - 1)²."""
        return 0.5 * (fake - 1).pow(2).mean()


class Hinge:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018)."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """max(0, 1 - D(x)) + max(0, 1 + D(G(z)))."""
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """-D(G(z))."""
        return -fake.mean()


class WassersteinGP:
    """Wasserstein loss with gradient penalty (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs")."""

    def __init__(self, gp_weight: float = 10.0) -> None:
        self.gp_weight = gp_weight

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """D(G(z)) - D(x)."""
        return fake.mean() - real.mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """-D(G(z))."""
        return -fake.mean()

    def penalty(self, D: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                labels: torch.Tensor | None) -> torch.Tensor:
        """λ(‖∇D(x̂)‖₂ - 1)² at random interpolates x̂ between real and fake samples."""
        alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
        mixed = gradient_input(alpha * real.detach() + (1 - alpha) * fake.detach())
        out = per_sample(D(mixed, labels))
        (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
        return self.gp_weight * (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()
