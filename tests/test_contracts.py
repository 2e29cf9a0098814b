"""The component contracts as code: protocols, checks at load and build, and the widened loss contract."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganzoo import contracts, hookimpl
from ganzoo.errors import PluginError
from ganzoo.spec import DataSpec
from ganzoo.testing import TinyDiscriminator, TinyGenerator, engine_with


def test_protocols_declare_their_required_members():
    assert contracts.required_members(contracts.Loss) == ["d_loss", "g_loss"]
    assert contracts.required_members(contracts.Schedule) == ["generator_for_sampling", "load_state_dict",
                                                              "state_dict", "step"]
    assert contracts.required_members(contracts.Generator) == ["latent_dim"]


def test_optional_members_come_from_the_protocol_default():
    class Bare:
        def d_loss(self, real, fake):
            return fake.mean()

    assert contracts.optional(Bare(), contracts.Loss, "g_needs_real") is False
    assert contracts.optional(Bare(), contracts.Loss, "penalty") is None
    with pytest.raises(KeyError, match="not an optional member"):
        contracts.optional(Bare(), contracts.Loss, "d_loss")


class HalfLoss:
    """A loss without d_loss."""

    def g_loss(self, fake, real=None):
        return -fake.mean()


class BrokenPlugin:
    """Registers a loss whose factory is a function (checked when built) and a network that returns one module."""

    __name__ = "broken-plugin"

    @hookimpl
    def ganzoo_losses(self, register):
        register("half-loss", lambda: HalfLoss())

    @hookimpl
    def ganzoo_networks(self, register):
        register("lonely", lambda spec: TinyGenerator())


def test_a_loss_missing_d_loss_is_one_line_naming_its_plugin_when_built():
    engine = engine_with(BrokenPlugin())
    config = engine.resolve("gan-ring8", ["loss=half-loss"])
    with pytest.raises(PluginError) as caught:
        engine.build(config, DataSpec((2,)))
    message = str(caught.value)
    assert "\n" not in message and "half-loss" in message and "broken-plugin" in message and "lacks d_loss" in message


def test_a_builder_must_return_a_generator_and_discriminator():
    engine = engine_with(BrokenPlugin())
    config = engine.resolve("gan-ring8", ["network=lonely"])
    with pytest.raises(PluginError, match="returned TinyGenerator, not a .generator, discriminator. pair"):
        engine.build(config, DataSpec((2,)))


def test_a_misspelt_hook_fails_its_plugin_and_names_the_hook():
    class Typo:
        __name__ = "typo"

        @hookimpl
        def ganzoo_schedule(self, register):
            """Misspelt: the hook is ganzoo_schedules."""

    engine = engine_with(Typo())
    info = next(i for i in engine.plugins if i.name == "typo")
    assert info.status == "failed"
    assert info.error == ("@hookimpl on unknown hook ganzoo_schedule (did you mean ganzoo_schedules?); "
                          "the hooks are in ganzoo.hookspecs")
    assert "gan-ring8" in engine.registry.names("experiments"), "the other plugins keep working"


def test_rpgan_pairs_real_and_fake_logits(engine):
    loss = engine.registry.get("losses", "rpgan").obj()
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.0, 1.0, 0.5])
    assert loss.d_loss(real, fake).item() == pytest.approx(F.softplus(-(real - fake)).mean().item())
    assert loss.g_loss(fake, real).item() == pytest.approx(F.softplus(-(fake - real)).mean().item())
    assert contracts.optional(loss, contracts.Loss, "g_needs_real") is True
    with pytest.raises(ValueError, match="real logits"):
        loss.g_loss(fake)


class SpyLoss:
    """Records the arguments g_loss sees."""

    def __init__(self, g_needs_real: bool) -> None:
        self.g_needs_real = g_needs_real
        self.g_calls: list[tuple] = []

    def d_loss(self, real, fake):
        return F.softplus(fake - real).mean()

    def g_loss(self, fake, real=None):
        self.g_calls.append((fake.detach().clone(), None if real is None else real.detach().clone()))
        return F.softplus(-fake).mean()


@pytest.mark.parametrize("g_needs_real", [True, False])
def test_the_schedule_hands_real_logits_to_a_relativistic_g_loss_only(engine, g_needs_real):
    torch.manual_seed(0)
    G, D = TinyGenerator(), TinyDiscriminator()
    loss = SpyLoss(g_needs_real)
    schedule = engine.registry.get("schedules", "alternating").obj(G, D, loss, DataSpec((2,)))
    real = torch.randn(8, 2)
    schedule.step(lambda: (real, None))
    (fake_logits, real_logits), = loss.g_calls
    assert fake_logits.shape == (8,)
    if g_needs_real:
        assert torch.allclose(real_logits, D(real).detach()), "G's loss sees D's logits on the same real batch"
    else:
        assert real_logits is None
