"""The adversarial training schedule: k discriminator updates per generator update, optional EMA of G."""

from __future__ import annotations

import itertools
import math
from contextlib import nullcontext
from typing import Any, Callable

import torch
from torch.optim.swa_utils import AveragedModel

from ganzoo import contracts
from ganzoo.fastpath import FastPaths, Precision, eager, set_adam_kernel
from ganzoo.samples import draw_latent
from ganzoo.spec import DataSpec
from ganzoo_plugins.augment import DiffAugment
from ganzoo_plugins.losses import per_sample

Batch = tuple[torch.Tensor, "torch.Tensor | None"]


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _logits(out: Any) -> torch.Tensor:
    """D's logits from what ``AdversarialSchedule._judge`` returned."""
    return out["logits"] if isinstance(out, dict) else out


class AdversarialSchedule:
    """One iteration = ``n_critic`` D updates then ``g_steps`` G updates (default 1), each network with its own Adam.

    Separate learning rates give the two time-scale update rule (Heusel et al. 2017); ``ema_decay``
    > 0 keeps an exponential moving average of G's weights for sampling (Yazıcı et al. 2019),
    warmed up as ``min(ema_decay, (1 + n) / (10 + n))`` after n updates so that a short run's
    average is not mostly G's initial weights.
    ``lr_decay`` < 1 multiplies both learning rates by that factor after every iteration, so late
    steps refine rather than oscillate: lr_t = lr · decay^t (``torch.optim.lr_scheduler.LambdaLR``,
    in closed form so a resumed run gets bitwise the same rates).
    ``augment`` names DiffAugment policies (Zhao et al. 2020; see ``augment.py``) applied to every
    batch D sees in both updates; gradient penalties still see the un-augmented samples.
    ``g_steps`` > 1 updates G that many times per iteration on the same latent batch, as the
    TensorFlow DCGAN of the Stacked MNIST protocol does (twice, so that D's loss does not go to
    zero; VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018).
    ``top_k`` < 1 is the top-k update (Sinha et al. 2020, "Top-k Training of GANs: Improving GAN
    Performance by Throwing Away Bad Samples"): G's loss averages only the k fakes of the batch that D
    scores as most realistic, k = ⌈B · max(top_k, top_k_decay^t)⌉ after t iterations, so the worst
    samples stop pulling the good ones off their modes. The paper decays k by γ = 0.99 per epoch down to
    a floor ν; here the decay is per iteration (the data sets have no common epoch length).
    The last D update's fake batch is reused for the first G update, as in the DCGAN reference loop; a
    relativistic loss (``g_needs_real``) also sees D's logits on that update's real batch.
    A D with auxiliary ``heads`` (``ganzoo.contracts.Discriminator``) is called with ``heads=True`` in
    both updates, and its ``d_aux_loss`` / ``g_aux_loss`` are added to D's and G's losses and logged
    as ``d_aux`` / ``g_aux``; G's latent inputs come from ``ganzoo.samples.draw_latent``.
    Under DDP the G update's pass through D skips D's gradient all-reduce (``no_sync``): those
    gradients are discarded by the next D update, so only D's own updates synchronize.
    """

    def __init__(self, G: torch.nn.Module, D: torch.nn.Module, loss: Any, spec: DataSpec, *, n_critic: int,
                 lr_g: float, lr_d: float, betas: tuple[float, float], ema_decay: float,
                 lr_decay: float = 1.0, augment: str = "", g_steps: int = 1, top_k: float = 1.0,
                 top_k_decay: float = 0.999) -> None:
        if n_critic < 1:
            raise ValueError("n_critic must be at least 1")
        if g_steps < 1:
            raise ValueError(f"g_steps must be at least 1, got {g_steps}")
        if not 0 < lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay}")
        if not 0 < top_k <= 1 or not 0 < top_k_decay <= 1:
            raise ValueError(f"top_k and top_k_decay must be in (0, 1], got {top_k} and {top_k_decay}")
        self.G, self.D, self.loss, self.spec, self.n_critic, self.g_steps = G, D, loss, spec, n_critic, g_steps
        self.batches_per_step = n_critic
        self.opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=tuple(betas))
        self.opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=tuple(betas))
        self.lr_decay = lr_decay
        self.top_k, self.top_k_decay = top_k, top_k_decay
        self.iterations = 0
        self.lr_schedulers = ([torch.optim.lr_scheduler.LambdaLR(opt, self._decay_factor) for opt in (self.opt_g, self.opt_d)]
                              if lr_decay < 1 else [])
        self.ema_decay = ema_decay
        self.ema = AveragedModel(G, use_buffers=True) if ema_decay > 0 else None
        self.precision = Precision()
        self.augment = DiffAugment(augment, spec) if augment else _identity
        self._penalty = contracts.optional(loss, contracts.Loss, "penalty")
        self._g_needs_real = bool(contracts.optional(loss, contracts.Loss, "g_needs_real"))
        self._regularization = contracts.optional(G, contracts.Generator, "regularization")
        self._heads = bool(contracts.optional(D, contracts.Discriminator, "heads"))
        self._d_aux = contracts.optional(D, contracts.Discriminator, "d_aux_loss")
        self._g_aux = contracts.optional(D, contracts.Discriminator, "g_aux_loss")

    def _decay_factor(self, steps: int) -> float:
        return self.lr_decay ** steps

    def use_fast_paths(self, fast: FastPaths) -> None:
        """Train under the run's autocast / gradient scaling, with its Adam kernel (before the first step)."""
        self.precision = fast.precision()
        set_adam_kernel(self.opt_g, fast.adam)
        set_adam_kernel(self.opt_d, fast.adam)

    def _noise(self, n: int, like: torch.Tensor) -> torch.Tensor:
        return draw_latent(self.G, n, device=like.device)

    @torch.no_grad()
    def _update_ema(self) -> None:
        """One warmed-up EMA step over G's parameters and buffers, without a host synchronization (the
        update counter stays on the CPU); integer buffers (BatchNorm's batch count) follow G's."""
        n = int(self.ema.n_averaged)
        weight = 1.0 - min(self.ema_decay, (1 + n) / (10 + n)) if n else 1.0
        by_dtype: dict[torch.dtype, tuple[list, list]] = {}
        for mine, theirs in zip(itertools.chain(self.ema.module.parameters(), self.ema.module.buffers()),
                                itertools.chain(self.G.parameters(), self.G.buffers())):
            if mine.is_floating_point():
                pair = by_dtype.setdefault(mine.dtype, ([], []))
                pair[0].append(mine)
                pair[1].append(theirs.detach())
            else:
                mine.copy_(theirs)
        for mine_list, theirs_list in by_dtype.values():
            torch._foreach_lerp_(mine_list, theirs_list, weight)
        self.ema.n_averaged += 1

    def step(self, next_batch: Callable[[], Batch]) -> dict[str, torch.Tensor]:
        """One training iteration; returns detached loss tensors (no host synchronization)."""
        for i in range(self.n_critic):
            real, labels = next_batch()
            last = i == self.n_critic - 1
            z = self._noise(real.shape[0], real)
            with self.precision.autocast():
                if last:
                    fake = self.G(z, labels)
                else:
                    with torch.no_grad():
                        fake = self.G(z, labels)
                real_out, fake_out = self._judge(real, labels), self._judge(fake.detach(), labels)
                d_loss = self.loss.d_loss(_logits(real_out), _logits(fake_out))
                total = d_loss + self._penalty(eager(self.D), real, fake, labels) if self._penalty else d_loss
                if self._d_aux is not None:
                    d_aux = self._d_aux(real_out, fake_out, labels, z)
                    total = total + d_aux
            self.opt_d.zero_grad(set_to_none=True)
            self.precision.backward(total)
            self.precision.step(self.opt_d)
        for i in range(self.g_steps):
            if i > 0:
                with self.precision.autocast():
                    fake = self.G(z, labels)
            g_loss, g_aux = self._update_g(fake, real, labels, z)
        if self.ema is not None:
            self._update_ema()
        for scheduler in self.lr_schedulers:
            scheduler.step()
        self.iterations += 1
        logs = {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}
        if self._d_aux is not None:
            logs["d_aux"] = d_aux.detach()
        if self._g_aux is not None:
            logs["g_aux"] = g_aux.detach()
        return logs

    def top_k_count(self, batch: int) -> int:
        """How many of a batch of ``batch`` fakes G's loss averages over at this iteration (all without top-k)."""
        if self.top_k >= 1:
            return batch
        return max(1, math.ceil(batch * max(self.top_k, self.top_k_decay ** self.iterations)))

    def _update_g(self, fake: torch.Tensor, real: torch.Tensor, labels: torch.Tensor | None,
                  z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One G update on ``fake`` = G(z): its adversarial loss and auxiliary loss (None without one)."""
        g_aux = None
        with self._without_gradient_sync(self.D), self.precision.autocast():
            fake_out = self._judge(fake, labels)
            fake_logits = _logits(fake_out)
            real_logits = None
            if self._g_needs_real:
                with torch.no_grad():  # G's gradient does not pass through D(real): skip its backward
                    real_logits = self.D(self.augment(real), labels)
            k = self.top_k_count(fake_logits.shape[0])
            if k < fake_logits.shape[0]:
                best = per_sample(fake_logits.detach()).topk(k).indices
                fake_logits = fake_logits[best]
                real_logits = real_logits[best] if real_logits is not None else None
            g_loss = self.loss.g_loss(fake_logits, real_logits) if self._g_needs_real else self.loss.g_loss(fake_logits)
            total_g = g_loss + self._regularization() if self._regularization else g_loss
            if self._g_aux is not None:
                g_aux = self._g_aux(fake_out, labels, z)
                total_g = total_g + g_aux
        self.opt_g.zero_grad(set_to_none=True)
        self.precision.backward(total_g)
        self.precision.step(self.opt_g)
        return g_loss, g_aux

    def _judge(self, x: torch.Tensor, labels: torch.Tensor | None) -> Any:
        """D on (augmented) x: its logits, or the dict of logits and auxiliary heads where D declares heads."""
        if self._heads:
            return self.D(self.augment(x), labels, heads=True)
        return self.D(self.augment(x), labels)

    @staticmethod
    def _without_gradient_sync(module: torch.nn.Module) -> Any:
        """DDP's ``no_sync()`` for a wrapped network, else nothing."""
        from torch.nn.parallel import DistributedDataParallel

        return module.no_sync() if isinstance(module, DistributedDataParallel) else nullcontext()

    def generator_for_sampling(self) -> torch.nn.Module:
        """The EMA generator when enabled, else G itself."""
        return self.ema.module if self.ema is not None else self.G

    def state_dict(self) -> dict:
        """Optimizers, learning-rate decay, EMA, the fp16 gradient scaler and the loss's counters (if it has any)."""
        state = {"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}
        loss_state = contracts.optional(self.loss, contracts.Loss, "state_dict")
        if loss_state is not None:
            state["loss"] = loss_state()
        if self.lr_schedulers:
            state["decayed_steps"] = self.lr_schedulers[0].last_epoch
        state["iterations"] = self.iterations  # so a resume continues top-k's decay, also when it turns top-k on
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        if self.precision.scaler is not None:
            state["scaler"] = self.precision.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() saved; the learning rates and Adam kernel this schedule was built with win.

        So a run resumed with ``--set schedule.lr_g=...`` (or rolled back by the divergence guard)
        continues with the new rates and the saved Adam moments, and a run may resume with other fast paths.
        With ``lr_decay`` the configured rates are decayed by the iterations already done.
        """
        kept = ("lr", "initial_lr", "fused", "foreach")
        for opt, key in ((self.opt_g, "opt_g"), (self.opt_d, "opt_d")):
            settings = [{k: group[k] for k in kept if k in group} for group in opt.param_groups]
            opt.load_state_dict(state[key])
            for group, setting in zip(opt.param_groups, settings):
                group.update(setting)
        steps = state.get("decayed_steps", 0)
        self.iterations = state.get("iterations", 0)
        for scheduler in self.lr_schedulers:
            scheduler.last_epoch = steps
            for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs):
                group["lr"] = base * self._decay_factor(steps)
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])
        self.precision.load_state_dict(state.get("scaler", {}))
        load_loss_state = contracts.optional(self.loss, contracts.Loss, "load_state_dict")
        if "loss" in state and load_loss_state is not None:
            load_loss_state(state["loss"])
