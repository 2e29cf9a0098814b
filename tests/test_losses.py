"""Every registered loss gives finite values and gradients; the closed forms hold."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo import contracts
from ganzoo.engine import Engine

LOSSES = Engine().registry.names("losses")


@pytest.mark.parametrize("name", LOSSES)
def test_loss_is_finite_and_backpropagates(engine, name):
    loss = engine.registry.get("losses", name).obj()
    real = torch.randn(16, requires_grad=True)
    fake = torch.randn(16, requires_grad=True)
    d = loss.d_loss(real, fake)
    g = loss.g_loss(fake, real) if contracts.optional(loss, contracts.Loss, "g_needs_real") else loss.g_loss(fake)
    assert d.dim() == 0 and g.dim() == 0 and torch.isfinite(d) and torch.isfinite(g)
    d_grads = torch.autograd.grad(d, (real, fake), retain_graph=True)
    (g_grad,) = torch.autograd.grad(g, fake)
    for grad in (*d_grads, g_grad):
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_non_saturating_and_minimax_at_zero_logits(engine):
    zero = torch.zeros(4)
    ns = engine.registry.get("losses", "non-saturating").obj()
    mm = engine.registry.get("losses", "minimax").obj()
    assert ns.d_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert ns.g_loss(zero).item() == pytest.approx(math.log(2))
    assert mm.g_loss(zero).item() == pytest.approx(-math.log(2))


def test_hinge_and_least_squares_closed_forms(engine):
    hinge = engine.registry.get("losses", "hinge").obj()
    lsq = engine.registry.get("losses", "least-squares").obj()
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert hinge.d_loss(real, fake).item() == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)
    assert lsq.g_loss(torch.tensor([1.0])).item() == 0.0


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic(engine):
    loss = engine.registry.get("losses", "wgan-gp").obj(gp_weight=10.0)

    class Linear(torch.nn.Module):
        def forward(self, x, labels=None):
            return x[:, 0]  # gradient (1, 0): norm exactly 1

    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    assert loss.penalty(Linear(), real, fake, None).item() == pytest.approx(0.0, abs=1e-9)

    class Steep(torch.nn.Module):
        def forward(self, x, labels=None):
            return 3 * x[:, 0]

    assert loss.penalty(Steep(), real, fake, None).item() == pytest.approx(10.0 * 4)


class NormFive(torch.nn.Module):
    """A critic whose input gradient has norm 5 everywhere."""

    def forward(self, x, labels=None):
        return 3 * x[:, 0] - 4 * x[:, 1]


def test_r1_penalty_is_half_gamma_times_the_squared_gradient_on_real_data(engine):
    loss = engine.registry.get("losses", "non-saturating").obj(r1_gamma=2.0)
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    assert loss.penalty(NormFive(), real, fake, None).item() == pytest.approx(0.5 * 2.0 * 25)
    assert not hasattr(engine.registry.get("losses", "non-saturating").obj(), "penalty"), \
        "without r1_gamma the loss adds no penalty pass"
    with pytest.raises(ValueError, match="r1_gamma"):
        engine.registry.get("losses", "non-saturating").obj(r1_gamma=-1.0)


def test_r2_penalizes_the_gradient_on_generated_samples_and_adds_to_r1(engine):
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    r2 = engine.registry.get("losses", "rpgan").obj(r2_gamma=2.0)
    assert r2.penalty(NormFive(), real, fake, None).item() == pytest.approx(0.5 * 2.0 * 25)
    both = engine.registry.get("losses", "non-saturating").obj(r1_gamma=1.0, r2_gamma=2.0)
    assert both.penalty(NormFive(), real, fake, None).item() == pytest.approx(0.5 * 3.0 * 25)


def test_lazy_r1_applies_every_kth_update_weighted_by_k(engine):
    """r1_every=3: the penalty is 3x on updates 1, 4, 7, ... and zero, with no D pass, in between."""
    loss = engine.registry.get("losses", "non-saturating").obj(r1_gamma=2.0, r1_every=3)

    class CountingSteep(torch.nn.Module):
        calls = 0

        def forward(self, x, labels=None):
            CountingSteep.calls += 1
            return 3 * x[:, 0] - 4 * x[:, 1]

    terms = [loss.penalty(CountingSteep(), torch.randn(8, 2), torch.randn(8, 2), None).item() for _ in range(7)]
    assert terms == pytest.approx([75.0, 0, 0, 75.0, 0, 0, 75.0])
    assert CountingSteep.calls == 3
    with pytest.raises(ValueError, match="r1_every"):
        engine.registry.get("losses", "non-saturating").obj(r1_gamma=1.0, r1_every=0)
