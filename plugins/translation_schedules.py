"""The training iterations of pix2pix (Isola et al. 2017) and CycleGAN (Zhu et al. 2017).

Both build on ``AdversarialSchedule`` for what every schedule of ganzoo shares (one Adam per network,
learning-rate decay, optional EMA of G, the run's precision and Adam kernel, exact-resume state) and
replace its iteration. Batches are ``(targets, sources)``: image-to-image data keeps the source
images where class data keeps its labels (``DataSpec.condition_shape``).
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ganzoo.errors import ConfigError
from ganzoo.fastpath import eager
from ganzoo.samples import underlying
from ganzoo.spec import DataSpec
from ganzoo_plugins.cyclegan_nets import CycleDiscriminator, CycleGenerator
from ganzoo_plugins.image_pool import ImagePool
from ganzoo_plugins.schedule import AdversarialSchedule, Batch


def check_translation(schedule: str, spec: DataSpec) -> None:
    """Refuse data without source images for a translation schedule."""
    if not spec.translation:
        raise ConfigError(f"schedule {schedule!r} trains image-to-image models on paired or unpaired images "
                          "(e.g. dataset mnist-edges, folder-pairs); this data set has no source images")


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference."""
    return (a - b).abs().mean()


class Pix2PixSchedule(AdversarialSchedule):
    """pix2pix's iteration: one update of the conditional D, then one of G on adversarial + λ·L1.

    G minimizes the adversarial loss of D(G(x), x) plus ``l1_weight`` (the paper's λ = 100) times the
    L1 distance to the target, which carries the low frequencies and lets the PatchGAN judge only
    local structure. D's loss is halved, as in the paper, to slow D relative to G. Any registered loss
    serves as the adversarial term (the paper: the non-saturating GAN loss), penalties included.
    """

    def __init__(self, G: torch.nn.Module, D: torch.nn.Module, loss: Any, spec: DataSpec, *, l1_weight: float,
                 lr_g: float, lr_d: float, betas: tuple[float, float], ema_decay: float, lr_decay: float) -> None:
        check_translation("pix2pix", spec)
        if l1_weight < 0:
            raise ConfigError(f"schedule.l1_weight must be 0 or more, got {l1_weight}")
        super().__init__(G, D, loss, spec, n_critic=1, lr_g=lr_g, lr_d=lr_d, betas=betas, ema_decay=ema_decay,
                         lr_decay=lr_decay)
        self.l1_weight = l1_weight

    def step(self, next_batch: Callable[[], Batch]) -> dict[str, torch.Tensor]:
        """One D update and one G update on a batch of (targets, sources)."""
        target, source = next_batch()
        z = self._noise(target.shape[0], target)
        with self.precision.autocast():
            fake = self.G(z, source)
            d_loss = self.loss.d_loss(self.D(target, source), self.D(fake.detach(), source))
            total = 0.5 * d_loss
            if self._penalty:
                total = total + self._penalty(eager(self.D), target, fake, source)
        self.opt_d.zero_grad(set_to_none=True)
        self.precision.backward(total)
        self.precision.step(self.opt_d)
        with self._without_gradient_sync(self.D), self.precision.autocast():
            fake_logits = self.D(fake, source)
            if self._g_needs_real:
                g_loss = self.loss.g_loss(fake_logits, self.D(target, source))
            else:
                g_loss = self.loss.g_loss(fake_logits)
            reconstruction = l1(fake, target)
            total_g = g_loss + self.l1_weight * reconstruction
        self.opt_g.zero_grad(set_to_none=True)
        self.precision.backward(total_g)
        self.precision.step(self.opt_g)
        end_iteration(self)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "l1": reconstruction.detach()}


def translations_and_reconstructions(G: torch.nn.Module, z: torch.Tensor, real_a: torch.Tensor, real_b: torch.Tensor,
                                     identity: bool) -> tuple[torch.Tensor, ...]:
    """CycleGAN's generator terms: (fake_b, fake_a, cycle, identity) with fake_b = G_AB(a), fake_a = G_BA(b),
    cycle = |G_BA(fake_b) - a| + |G_AB(fake_a) - b| and identity = |G_AB(b) - b| + |G_BA(a) - a| (0 unless asked)."""
    fake_b = G(z, real_a)
    fake_a = G(z, real_b, reverse=True)
    cycle = l1(G(z, fake_b, reverse=True), real_a) + l1(G(z, fake_a), real_b)
    same = l1(G(z, real_b), real_b) + l1(G(z, real_a, reverse=True), real_a) if identity else real_a.new_zeros(())
    return fake_b, fake_a, cycle, same


def end_iteration(schedule: AdversarialSchedule) -> None:
    """What follows both updates: the EMA step of G (if kept) and the learning-rate decay (if any)."""
    if schedule.ema is not None:
        schedule._update_ema()
    for scheduler in schedule.lr_schedulers:
        scheduler.step()


class CycleGANSchedule(AdversarialSchedule):
    """CycleGAN's iteration: one update of both generators, then one of both discriminators.

    G_AB and G_BA minimize the adversarial losses of D_B(G_AB(a)) and D_A(G_BA(b)), plus ``cycle_weight``
    (λ = 10) times the cycle losses |G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|, plus ``identity_weight``·λ
    (0.5λ) times the identity losses |G_AB(b) - b| + |G_BA(a) - a|. Each D is then updated on real
    images of its domain against translations drawn from a history pool of ``pool_size`` (50), its loss
    halved. The paper trains with the least-squares loss (LSGAN; the experiments' default) at batch
    size 1; any registered loss serves. Sources are domain A, targets domain B; the pools draw from
    their own seeded generators (seeded from torch's at construction) and are saved with the schedule.
    """

    def __init__(self, G: torch.nn.Module, D: torch.nn.Module, loss: Any, spec: DataSpec, *, cycle_weight: float,
                 identity_weight: float, pool_size: int, lr_g: float, lr_d: float, betas: tuple[float, float],
                 ema_decay: float, lr_decay: float) -> None:
        check_translation("cyclegan", spec)
        for name, value in (("cycle_weight", cycle_weight), ("identity_weight", identity_weight),
                            ("pool_size", pool_size)):
            if value < 0:
                raise ConfigError(f"schedule.{name} must be 0 or more, got {value}")
        if not (isinstance(underlying(G), CycleGenerator) and isinstance(underlying(D), CycleDiscriminator)):
            raise ConfigError("schedule 'cyclegan' trains the two-direction networks of network 'cyclegan'; "
                              "set network.name=cyclegan")
        if identity_weight > 0 and spec.condition_shape[0] != spec.shape[0]:
            raise ConfigError(f"the identity loss needs both domains to have the same channels (A has "
                              f"{spec.condition_shape[0]}, B {spec.shape[0]}); set schedule.identity_weight=0")
        super().__init__(G, D, loss, spec, n_critic=1, lr_g=lr_g, lr_d=lr_d, betas=betas, ema_decay=ema_decay,
                         lr_decay=lr_decay)
        self.cycle_weight, self.identity_weight = cycle_weight, identity_weight
        seed = int(torch.randint(0, 2**62, ()))
        self.pools = {"a": ImagePool(pool_size, seed), "b": ImagePool(pool_size, seed + 1)}

    def _domain_logits(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        """The patch logits of the D of one domain ("a" or "b")."""
        return self.D(x, None, domain=domain)

    def _adversarial(self, fake: torch.Tensor, real: torch.Tensor, domain: str) -> torch.Tensor:
        """G's adversarial loss against the D of one domain (and that domain's real batch where the loss needs it)."""
        logits = self._domain_logits(fake, domain)
        if self._g_needs_real:
            return self.loss.g_loss(logits, self._domain_logits(real, domain))
        return self.loss.g_loss(logits)

    def _penalties(self, real: torch.Tensor, fake: torch.Tensor, domain: str) -> torch.Tensor:
        """The loss's penalty on the D of one domain."""
        def judge(x: torch.Tensor, labels: Any = None) -> torch.Tensor:
            return eager(self.D)(x, None, domain=domain)

        return self._penalty(judge, real, fake, None)

    def step(self, next_batch: Callable[[], Batch]) -> dict[str, torch.Tensor]:
        """One update of both generators, then one of both discriminators, on a batch of (B images, A images)."""
        real_b, real_a = next_batch()
        z = self._noise(real_a.shape[0], real_a)
        self.D.requires_grad_(False)
        with self._without_gradient_sync(self.D), self.precision.autocast():
            fake_b, fake_a, cycle, identity = translations_and_reconstructions(self.G, z, real_a, real_b,
                                                                              self.identity_weight > 0)
            g_loss = self._adversarial(fake_b, real_b, "b") + self._adversarial(fake_a, real_a, "a")
            total_g = g_loss + self.cycle_weight * (cycle + self.identity_weight * identity)
        self.opt_g.zero_grad(set_to_none=True)
        self.precision.backward(total_g)
        self.precision.step(self.opt_g)
        self.D.requires_grad_(True)
        with self.precision.autocast():
            pooled_b, pooled_a = self.pools["b"].query(fake_b), self.pools["a"].query(fake_a)
            d_loss = (self.loss.d_loss(self._domain_logits(real_b, "b"), self._domain_logits(pooled_b, "b"))
                      + self.loss.d_loss(self._domain_logits(real_a, "a"), self._domain_logits(pooled_a, "a")))
            total = 0.5 * d_loss
            if self._penalty:
                total = total + self._penalties(real_b, pooled_b, "b") + self._penalties(real_a, pooled_a, "a")
        self.opt_d.zero_grad(set_to_none=True)
        self.precision.backward(total)
        self.precision.step(self.opt_d)
        end_iteration(self)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "cycle": cycle.detach(),
                "identity": identity.detach()}

    def state_dict(self) -> dict:
        """The adversarial schedule's state and both history pools (their images and generators)."""
        return {**super().state_dict(), "pools": {k: pool.state_dict() for k, pool in self.pools.items()}}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() saved."""
        super().load_state_dict(state)
        for key, pool in self.pools.items():
            pool.load_state_dict(state["pools"][key])
