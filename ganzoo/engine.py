"""The engine: plugins -> registry -> resolved config -> built components."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ganzoo import config as config_mod
from ganzoo import contracts
from ganzoo.errors import DataError, GanzooError, PluginError
from ganzoo.plugins import PluginInfo, load_plugins
from ganzoo.registry import SINGULAR, Component, Registry, collect
from ganzoo.spec import Data


@dataclass
class Components:
    """Everything one training run is made of."""

    generator: Any
    discriminator: Any
    loss: Any
    schedule: Any


def _what(component: Component, made: str) -> str:
    """How an error names what a registered component made, e.g. "the loss of loss 'x' (plugin p, dist)"."""
    return (f"the {made} of {SINGULAR[component.kind]} {component.name!r} "
            f"(plugin {component.plugin}, {component.distribution})")


class Engine:
    """Loads plugins once and answers questions about what they registered."""

    def __init__(self, extra_plugins: list[object] | None = None) -> None:
        self.pm, self.plugins = load_plugins(extra_plugins)
        self._silenced_observers: set[str] = set()

    @cached_property
    def registry(self) -> Registry:
        """Every component, collected from every loaded plugin."""
        return collect(self.pm, self.plugins)

    @property
    def failed_plugins(self) -> list[PluginInfo]:
        """Plugins that failed to load or to register (after the registry was collected)."""
        self.registry  # noqa: B018 - collecting marks hook failures
        return [p for p in self.plugins if p.status == "failed"]

    def resolve(self, experiment: str, overrides: list[str] | None = None) -> dict:
        """The validated config of an experiment with overrides applied."""
        return self.trace(experiment, overrides).config

    def trace(self, experiment: str, overrides: list[str] | None = None) -> config_mod.ResolvedConfig:
        """``resolve``'s config with where each value came from (``origins``: ``default`` for defaults)."""
        return config_mod.trace_entry(self.registry, experiment, self.registry.get("experiments", experiment).obj,
                                      overrides)

    def load_data(self, config: dict, split: str, root: Path) -> Data:
        """Load the config's data set split; offline or missing data is a clear error."""
        from ganzoo.data import downloads_allowed

        block = dict(config["dataset"])
        factory = self.registry.get("datasets", block.pop("name")).obj
        try:
            data = factory(Path(root), split, downloads_allowed(), **block)
        except GanzooError:
            raise
        except (OSError, RuntimeError) as exc:
            raise DataError(
                f"data set {config['dataset']['name']!r} is not under {root} and could not be downloaded "
                f"({type(exc).__name__}); pass --data-root DIR or set GANZOO_DATA to a directory that holds it"
            ) from None
        if not isinstance(data, Data):
            raise DataError(f"data set {config['dataset']['name']!r} returned {type(data).__name__}, not ganzoo.Data")
        return data

    def build(self, config: dict, spec: Any) -> Components:
        """Build networks and loss for a data spec (on the CPU; the trainer moves them), each checked
        against its contract (``ganzoo.contracts``)."""
        G, D = self.build_networks(config, spec)
        loss_cfg = dict(config["loss"])
        made = self.registry.get("losses", loss_cfg.pop("name"))
        loss = contracts.check(made.obj(**loss_cfg), contracts.Loss, _what(made, "loss"))
        return Components(G, D, loss, None)

    def build_networks(self, config: dict, spec: Any, origin: dict | None = None) -> tuple[Any, Any]:
        """Build the generator and discriminator alone (what sampling needs: no loss, schedule or metric), on
        the CPU, each checked against its contract. A network whose plugin is gone is one line naming what
        provides it: ``origin`` ({plugin, distribution, version}), else the run's record (``run.network``)."""
        net = dict(config["network"])
        name = net.pop("name")
        origin = origin or (config.get("run") or {}).get("network")
        if origin and name not in self.registry.names("networks"):
            raise PluginError(f"network {name!r} comes from plugin {origin['plugin']} ({origin['distribution']} "
                              f"{origin['version']}), which is not installed; install it with "
                              f"'ganzoo install {origin['distribution']}=={origin['version']}'")
        builder = self.registry.get("networks", name)
        built = builder.obj(spec, **net)
        if not (isinstance(built, tuple) and len(built) == 2):
            raise PluginError(f"network {builder.name!r} of plugin {builder.plugin} ({builder.distribution}) returned "
                              f"{type(built).__name__}, not a (generator, discriminator) pair")
        G, D = built
        contracts.check(G, contracts.Generator, _what(builder, "generator"))
        contracts.check(D, contracts.Discriminator, _what(builder, "discriminator"))
        return G, D

    def make_schedule(self, config: dict, components: Components, spec: Any) -> Any:
        """The schedule, built over networks already on their device and checked against its contract."""
        sched = dict(config["schedule"])
        made = self.registry.get("schedules", sched.pop("name"))
        schedule = made.obj(components.generator, components.discriminator, components.loss, spec, **sched)
        components.schedule = contracts.check(schedule, contracts.Schedule, _what(made, "schedule"))
        return components.schedule

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Call one observer hook (``ganzoo_train_start``, ...) on every plugin, each in its own guard.

        An observer that raises is reported once on stderr and not called again this run, so a
        broken logger cannot stop training; a GanzooError (a deliberate, explained stop such as a
        missing optional dependency) propagates, and strict mode makes any failure an error.
        """
        import sys

        from ganzoo.errors import PluginError
        from ganzoo.plugins import strict_mode

        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            label = self.pm.get_name(impl.plugin) or repr(impl.plugin)
            if label in self._silenced_observers:
                continue
            try:
                impl.function(**{name: kwargs[name] for name in impl.argnames})
            except GanzooError:
                raise
            except Exception as exc:
                message = f"plugin {label} failed in {hook}: {type(exc).__name__}: {exc}".splitlines()[0]
                if strict_mode():
                    raise PluginError(message) from exc
                self._silenced_observers.add(label)
                print(f"ganzoo: warning: {message}; it is skipped for the rest of this run", file=sys.stderr)

    def metric(self, name: str):
        """A registered metric by name."""
        return self.registry.get("metrics", name).obj
