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


def test_uniform_latent_draws_from_the_unit_square_at_every_sampling_site(engine):
    """latent=uniform: draw_latent (training, sampling, evaluation) gives U(-1, 1) noise, reproducible by seed;
    the default stays Gaussian; an unknown latent is a config error naming the choices."""
    from ganzoo.errors import ConfigError
    from ganzoo.samples import draw_latent

    build = engine.registry.get("networks", "mlp").obj
    G, _ = build(POINTS, latent_dim=2, hidden=8, depth=1, d_hidden=8, d_depth=1, latent="uniform")
    z = draw_latent(G, 4000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (4000, 2) and z.min() >= -1 and z.max() <= 1
    assert abs(z.var().item() - 1 / 3) < 0.02  # U(-1, 1): variance 1/3, a Gaussian's is 1
    assert torch.equal(z, draw_latent(G, 4000, generator=torch.Generator().manual_seed(0)))
    assert G(z).shape == (4000, 2)
    normal, _ = build(POINTS, latent_dim=2, hidden=8, depth=1, d_hidden=8, d_depth=1)
    assert draw_latent(normal, 4000, generator=torch.Generator().manual_seed(0)).abs().max() > 1
    with pytest.raises(ConfigError, match="normal, uniform"):
        build(POINTS, latent="sphere")


def test_mixture_latent_maps_each_component_through_its_learnt_mean_and_deviation(engine):
    """latent=mixture (DeLiGAN): z = [ε | one-hot k], k uniform; G sees μ_k + σ_k ⊙ ε, and both are learnt."""
    from ganzoo.errors import ConfigError
    from ganzoo.samples import draw_latent

    build = engine.registry.get("networks", "mlp").obj
    G, _ = build(POINTS, latent_dim=2, hidden=8, depth=1, d_hidden=8, d_depth=1, latent="mixture", components=5)
    z = draw_latent(G, 5000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (5000, 7) and G.latent_dim == 7
    weights = z[:, 2:]
    assert torch.equal(weights.sum(1), torch.ones(5000)) and set(weights.unique().tolist()) == {0.0, 1.0}
    share = weights.mean(0)
    assert (share - 0.2).abs().max() < 0.03  # components drawn uniformly
    assert torch.equal(z, draw_latent(G, 5000, generator=torch.Generator().manual_seed(0)))
    with torch.no_grad():
        G.stds.zero_()  # without spread, every sample of a component lands on the image of its mean
        out = G(z)
        k = weights.argmax(1)
        for c in range(5):
            assert torch.allclose(out[k == c], G.net(G.means[c : c + 1]).expand(int((k == c).sum()), 2))
        G.stds.fill_(G.INITIAL_STD)
    G(z[:64]).pow(2).sum().backward()
    assert G.means.grad.abs().sum() > 0 and G.stds.grad.abs().sum() > 0
    with pytest.raises(ConfigError, match="components"):
        build(POINTS, latent="mixture", components=0)


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


def test_top_k_updates_g_from_the_fakes_d_rates_best_only_and_k_decays_to_its_floor(engine):
    """top_k (Sinha et al. 2020): G's loss reaches only the k fakes with D's highest logits; k = ⌈B·max(ν, γ^t)⌉
    after t iterations, and a resumed schedule continues the decay where it stopped."""
    torch.manual_seed(0)
    schedule = _schedule(engine, top_k=0.5, top_k_decay=0.5)
    assert schedule.top_k_count(8) == 8
    fakes, judged = [], []
    G_forward, D_forward = schedule.G.forward, schedule.D.forward

    def recording_G(z, labels=None):
        fake = G_forward(z, labels)
        fake.retain_grad()
        fakes.append(fake)
        return fake

    schedule.G.forward = recording_G
    schedule.D.forward = lambda x, labels=None: (lambda out: judged.append(out.detach()) or out)(D_forward(x, labels))
    schedule.step(lambda: (torch.randn(8, 2), None))
    # the first step: k = 8, every fake gets a gradient
    assert (fakes[-1].grad.abs().sum(1) > 0).all()
    assert schedule.top_k_count(8) == 4
    schedule.step(lambda: (torch.randn(8, 2), None))
    reached = fakes[-1].grad.abs().sum(1) > 0
    best = set(judged[-1].topk(4).indices.tolist())
    assert set(reached.nonzero().flatten().tolist()) == best
    assert schedule.top_k_count(8) == 4  # max(0.5, 0.25): the floor
    resumed = _schedule(engine, top_k=0.5, top_k_decay=0.9)
    resumed.load_state_dict(schedule.state_dict())
    assert resumed.iterations == 2 and resumed.top_k_count(100) == 81
    with pytest.raises(ValueError, match="top_k"):
        _schedule(engine, top_k=0.0)
