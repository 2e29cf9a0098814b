"""Options on the built-in networks and schedule: PacGAN packing, the projection discriminator, lr decay."""

from __future__ import annotations

import pytest
import torch

from ganzoo.spec import DataSpec

POINTS = DataSpec((2,), 0, (-2.0, 2.0))


def test_packed_discriminator_judges_packs_of_samples(engine):
    """pack=m: a batch of N samples gives N/m logits, each a function of exactly its own m samples."""
    G, D = engine.registry.get("networks", "mlp").obj(POINTS, latent_dim=4, hidden=8, depth=1, d_hidden=8,
                                                       d_depth=1, pack=2)
    x = torch.randn(6, 2, requires_grad=True)
    logits = D(x)
    assert logits.shape == (3,)
    (grad,) = torch.autograd.grad(logits[1], x)
    assert grad[2:4].abs().sum() > 0 and grad[:2].abs().sum() == 0 and grad[4:].abs().sum() == 0
    with pytest.raises(ValueError, match="divisible by 2"):
        D(torch.randn(5, 2))
    with pytest.raises(ValueError, match="pack"):
        engine.registry.get("networks", "mlp").obj(POINTS, pack=0)


def test_projection_discriminator_adds_the_label_inner_product(engine):
    """logit(x, y) = head(φ(x, y)) + <embed'(y), φ(x, y)>, the projection term starting at zero."""
    spec = DataSpec((1, 28, 28), 10)
    _, D = engine.registry.get("networks", "cgan").obj(spec, latent_dim=8, embed_dim=4, g_hidden=[16],
                                                        d_hidden=[16, 8], projection=True)
    D.eval()
    x, y = torch.rand(5, 1, 28, 28) * 2 - 1, torch.tensor([0, 3, 3, 7, 9])
    with torch.no_grad():
        plain = D(x, y)
        D.projection.weight.normal_()
        features = D.features(torch.cat([x.flatten(1), D.embedding(y)], 1))
        projected = D(x, y)
    assert D.projection.weight.shape == (10, 8)
    torch.testing.assert_close(projected - plain, (D.projection(y) * features).sum(1))


def _schedule(engine, **params):
    G, D = engine.registry.get("networks", "mlp").obj(POINTS, latent_dim=4, hidden=8, depth=1, d_hidden=8, d_depth=1)
    loss = engine.registry.get("losses", "non-saturating").obj()
    return engine.registry.get("schedules", "alternating").obj(G, D, loss, POINTS, lr_g=1e-3, lr_d=2e-3, **params)


def test_lr_decay_multiplies_both_rates_per_step_and_survives_a_resume(engine):
    schedule = _schedule(engine, lr_decay=0.9)
    batches = iter([(torch.randn(8, 2), None)] * 10)
    for _ in range(3):
        schedule.step(lambda: next(batches))
    assert schedule.opt_g.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.9 ** 3)
    assert schedule.opt_d.param_groups[0]["lr"] == pytest.approx(2e-3 * 0.9 ** 3)
    resumed = _schedule(engine, lr_decay=0.9)
    resumed.load_state_dict(schedule.state_dict())
    assert resumed.opt_g.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.9 ** 3)
    resumed.step(lambda: next(batches))
    assert resumed.opt_d.param_groups[0]["lr"] == pytest.approx(2e-3 * 0.9 ** 4)
    with pytest.raises(ValueError, match="lr_decay"):
        _schedule(engine, lr_decay=1.5)


def test_g_steps_updates_g_that_many_times_per_d_update_on_one_latent_batch(engine):
    """g_steps=2 (the Stacked MNIST protocol's loop): two G optimizer steps and one D step per iteration, the
    second G step on the same z as the first; one batch drawn."""
    torch.manual_seed(0)
    schedule = _schedule(engine, g_steps=2)
    drawn, latents = [], []
    G_forward = schedule.G.forward
    schedule.G.forward = lambda z, labels=None: (latents.append(z.clone()), G_forward(z, labels))[1]
    schedule.step(lambda: drawn.append(1) or (torch.randn(8, 2), None))
    assert len(drawn) == 1 and len(latents) == 2 and torch.equal(latents[0], latents[1])
    assert schedule.opt_g.state_dict()["state"][0]["step"] == 2
    assert schedule.opt_d.state_dict()["state"][0]["step"] == 1
    with pytest.raises(ValueError, match="g_steps"):
        _schedule(engine, g_steps=0)
