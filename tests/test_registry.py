"""Registry semantics: provenance, clashes naming both plugins, import failures isolated."""

from __future__ import annotations

import pytest

from ganzoo import hookimpl
from ganzoo.engine import Engine
from ganzoo.errors import PluginError
from ganzoo.registry import natural_key


class ClashingPlugin:
    """Registers a network named like a built-in."""

    __name__ = "clashing"

    @hookimpl
    def ganzoo_networks(self, register):
        register("mlp", lambda spec: None, "a second mlp")


class GoodPlugin:
    __name__ = "good"

    @hookimpl
    def ganzoo_losses(self, register):
        register("my-loss", lambda scale=1.0: None, "a loss from a local plugin")


def test_components_record_their_provenance(engine):
    mlp = engine.registry.get("networks", "mlp")
    assert (mlp.plugin, mlp.distribution) == ("mlp", "ganzoo")
    assert mlp.params["latent_dim"] == 64


def test_a_clash_is_reported_naming_both_plugins_and_the_rest_still_works():
    engine = Engine(extra_plugins=[ClashingPlugin(), GoodPlugin()])
    failed = {p.name: p for p in engine.failed_plugins}
    assert "clashing" in failed
    assert "mlp (ganzoo)" in failed["clashing"].error and "clashing" in failed["clashing"].error
    assert engine.registry.get("networks", "mlp").plugin == "mlp"  # never silently overwritten
    assert engine.registry.get("losses", "my-loss").params == {"scale": 1.0}


def test_strict_mode_turns_a_clash_into_an_error(monkeypatch):
    monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="registered by both"):
        Engine(extra_plugins=[ClashingPlugin()]).registry


def test_a_plugin_registering_the_wrong_type_is_skipped():
    class WrongType:
        __name__ = "wrong-type"

        @hookimpl
        def ganzoo_experiments(self, register):
            register("exp-x", ["not", "a", "dict"])

    engine = Engine(extra_plugins=[WrongType()])
    assert "must be a dict" in {p.name: p for p in engine.failed_plugins}["wrong-type"].error
    assert "exp-x" not in engine.registry.names("experiments")


def test_builder_parameters_need_defaults():
    class NoDefault:
        __name__ = "no-default"

        @hookimpl
        def ganzoo_networks(self, register):
            register("bad-net", lambda spec, width: None)

    engine = Engine(extra_plugins=[NoDefault()])
    assert "needs a default" in {p.name: p for p in engine.failed_plugins}["no-default"].error


def test_list_patterns_and_natural_order(engine):
    assert engine.registry.names("experiments", "gan-*")[:2] == sorted(
        engine.registry.names("experiments", "gan-*"), key=natural_key)[:2]
    assert "gan-ring8" in engine.registry.names("experiments", "*ring*")
    assert natural_key("gan-2") < natural_key("gan-10")


def test_every_shipped_experiment_resolves(engine):
    """Each experiment in registry.yaml names registered components with options they accept (a typo in a
    new entry, e.g. an unknown network option, fails here before any user runs it)."""
    names = engine.registry.names("experiments")
    assert "mocogan-moving-mnist-64" in names and len(names) > 20
    for name in names:
        config = engine.resolve(name)
        for kind, key in (("networks", "network"), ("losses", "loss"), ("datasets", "dataset"),
                          ("schedules", "schedule")):
            assert config[key]["name"] in engine.registry.names(kind), (name, key)
