"""Typed registries with provenance: every component records which plugin registered it."""

from __future__ import annotations

import difflib
import fnmatch
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import pluggy

from ganzoo import contracts
from ganzoo.errors import GanzooError, PluginError, UnknownNameError
from ganzoo.plugins import PluginInfo, strict_mode

#: Component kinds and how many leading arguments the engine hands each callable
#: (the rest are config parameters, all with defaults).
HANDED_ARGS = {"networks": 1, "losses": 0, "datasets": 3, "schedules": 4}
KINDS = ("networks", "losses", "datasets", "schedules", "metrics", "experiments")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SINGULAR = {"networks": "network", "losses": "loss", "datasets": "dataset", "schedules": "schedule",
            "metrics": "metric", "experiments": "experiment"}


@dataclass(frozen=True)
class Component:
    """One registered entry: what it is and where it came from."""

    kind: str
    name: str
    obj: Any
    description: str
    plugin: str
    distribution: str
    version: str
    params: dict[str, Any] = field(default_factory=dict)

    def origin(self) -> dict[str, str]:
        """Where it came from, as runs and exports record it: name, plugin, distribution, version."""
        return {"name": self.name, "plugin": self.plugin, "distribution": self.distribution, "version": self.version}


def config_params(fn: Callable, handed: int, where: str) -> dict[str, Any]:
    """The config parameters of a component callable: its keyword parameters and their defaults."""
    params: dict[str, Any] = {}
    positional = 0
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if p.default is p.empty:
            positional += 1
            if positional > handed:
                raise TypeError(f"{where}: parameter {p.name!r} needs a default (it is a config parameter)")
            continue
        params[p.name] = p.default
    return params


def natural_key(name: str) -> list:
    """Sort key that orders 'gan-2' before 'gan-10'."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


class Registry:
    """Components by kind and name."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}

    def add(self, component: Component) -> None:
        """Add one component; a name taken by another plugin is an error naming both."""
        table = self._items[component.kind]
        other = table.get(component.name)
        if other is not None:
            raise PluginError(
                f"{SINGULAR[component.kind]} {component.name!r} is registered by both {other.plugin} "
                f"({other.distribution}) and {component.plugin} ({component.distribution}); "
                f"uninstall or disable one of them (GANZOO_DISABLE_PLUGINS)"
            )
        table[component.name] = component

    def get(self, kind: str, name: str) -> Component:
        """The component of that kind and name, or an error naming the closest known names."""
        try:
            return self._items[kind][name]
        except KeyError:
            known = list(self._items[kind])
            close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            what = SINGULAR[kind]
            raise UnknownNameError(
                f"unknown {what} {name!r}; {hint}see 'ganzoo list {kind}' (and 'ganzoo plugins')"
            ) from None

    def names(self, kind: str, pattern: str | None = None) -> list[str]:
        """Names of one kind, filtered by an fnmatch pattern, in natural order."""
        names = self._items[kind]
        selected = [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)]
        return sorted(selected, key=natural_key)

    def items(self, kind: str, pattern: str | None = None) -> list[Component]:
        """Components of one kind, filtered and ordered like names()."""
        return [self._items[kind][n] for n in self.names(kind, pattern)]

    def by_plugin(self, plugin: str, distribution: str | None = None) -> dict[str, list[str]]:
        """What one plugin (of one distribution, if given) registered, per kind."""
        out: dict[str, list[str]] = {}
        for kind, table in self._items.items():
            mine = sorted(c.name for c in table.values()
                          if c.plugin == plugin and distribution in (None, c.distribution))
            if mine:
                out[kind] = mine
        return out


def _validate(kind: str, name: Any, obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise TypeError(f"{where}: name {name!r} must be lower-case letters, digits, '.', '_' or '-'")
    if kind == "experiments":
        if not isinstance(obj, dict):
            raise TypeError(f"{where}: experiment {name!r} must be a dict, got {type(obj).__name__}")
        return {}
    if kind == "metrics":
        from ganzoo.metrics.base import Metric

        if not isinstance(obj, Metric):
            raise TypeError(f"{where}: metric {name!r} must be a ganzoo.metrics.Metric, got {type(obj).__name__}")
        return config_params(obj.fn, 1, f"{where}: metric {name!r}")
    if not callable(obj):
        raise TypeError(f"{where}: {SINGULAR[kind]} {name!r} must be callable, got {type(obj).__name__}")
    contracts.check_registered(kind, obj, f"{where}: {SINGULAR[kind]} {name!r}")
    return config_params(obj, HANDED_ARGS[kind], f"{where}: {SINGULAR[kind]} {name!r}")


def collect(pm: pluggy.PluginManager, infos: list[PluginInfo]) -> Registry:
    """Call every plugin's component hooks, each in its own guard, and gather the results.

    A plugin whose hook raises, registers something of the wrong type or clashes with another
    plugin is marked failed and none of that hook call's entries are kept (strict mode: raise).
    """
    registry = Registry()
    by_name = {f"{i.distribution}:{i.name}" if i.source != "local" else f"local:{i.name}": i for i in infos}
    for kind in KINDS:
        caller = getattr(pm.hook, f"ganzoo_{kind}")
        for impl in caller.get_hookimpls():  # registration order (pluggy calls them in reverse)
            label = pm.get_name(impl.plugin) or repr(impl.plugin)
            info = by_name.get(label)
            if info is not None and info.status != "loaded":
                continue
            plugin_name = info.name if info else label
            dist = info.distribution if info else "unknown"
            version = info.version if info else "unknown"
            pending: list[Component] = []

            def register(name: str, obj: Any, description: str = "", _kind: str = kind, _pending=pending,
                         _where: str = label, _plugin: str = plugin_name, _dist: str = dist, _ver: str = version) -> None:
                params = _validate(_kind, name, obj, _where)
                _pending.append(Component(_kind, name, obj, str(description), _plugin, _dist, _ver, params))

            try:
                impl.function(register=register)
                for component in pending:
                    registry.add(component)
            except Exception as exc:  # isolate the plugin, keep the rest working
                if isinstance(exc, GanzooError) and info is not None and info.source == "built-in":
                    raise  # e.g. a malformed registry.yaml: the user must fix it, not lose the built-ins
                for component in pending:
                    if registry._items[kind].get(component.name) is component:
                        del registry._items[kind][component.name]
                message = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__} in ganzoo_{kind}: {exc}"
                if strict_mode():
                    raise PluginError(f"plugin {label}: {message}".splitlines()[0]) from exc
                if info is not None:
                    info.status = "failed"
                    info.error = message.splitlines()[0]
    failed = {(i.name, i.distribution) for i in infos if i.status == "failed"}
    for table in registry._items.values():
        for name in [n for n, c in table.items() if (c.plugin, c.distribution) in failed]:
            del table[name]
    return registry
