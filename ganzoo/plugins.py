"""Builds the plugin manager: built-ins and third-party entry points, each loaded in its own guard.

Environment:
  GANZOO_LOAD_PLUGINS     comma-separated distribution names to load (empty: none but the built-ins)
  GANZOO_DISABLE_PLUGINS  comma-separated plugin or distribution names to skip
  GANZOO_STRICT_PLUGINS   1: any plugin failure is a hard error (for plugin authors' CI)
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import pluggy

from ganzoo import hookspecs
from ganzoo.errors import PluginError

ENTRY_POINT_GROUP = "ganzoo"
BUILTIN_PACKAGE = "ganzoo_plugins"
BUILTIN_DISTRIBUTION = "ganzoo"


@dataclass
class PluginInfo:
    """What ganzoo knows of one plugin: where it came from and how loading it went."""

    name: str
    distribution: str
    version: str
    source: str  # "built-in" or "entry point"
    status: str = "loaded"  # loaded | failed | blocked
    error: str = ""
    module: object | None = None
    hooks: list[str] = field(default_factory=list)

    @property
    def uninstall_hint(self) -> str:
        """The command that removes this plugin's distribution."""
        return f"ganzoo uninstall {self.distribution}"


def strict_mode() -> bool:
    """True when GANZOO_STRICT_PLUGINS asks for plugin failures to be hard errors."""
    return os.environ.get("GANZOO_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}


def _env_names(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {n.strip().lower() for n in raw.split(",") if n.strip()}


def alias_source_builtins() -> None:
    """In a source checkout, import ``plugins/`` as ganzoo_plugins so edits take effect.

    A wheel ships the same directory as the ganzoo_plugins package; an editable install
    holds only a snapshot of it, so the checkout's own directory must win.
    """
    if BUILTIN_PACKAGE in sys.modules:
        return
    root = Path(__file__).resolve().parent.parent
    init = root / "plugins" / "__init__.py"
    if not (init.is_file() and (root / "registry.yaml").is_file() and (root / "pyproject.toml").is_file()):
        return
    spec = importlib.util.spec_from_file_location(
        BUILTIN_PACKAGE, init, submodule_search_locations=[str(init.parent)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[BUILTIN_PACKAGE] = module
    spec.loader.exec_module(module)


def _fail(info: PluginInfo, exc: BaseException) -> PluginInfo:
    info.status = "failed"
    info.error = (str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}").splitlines()[0]
    if strict_mode():
        raise PluginError(
            f"plugin {info.name!r} ({info.distribution}) failed to load: {info.error} "
            f"(GANZOO_STRICT_PLUGINS is set; fix it or run '{info.uninstall_hint}')"
        ) from exc
    return info


REQUIRED_BUILTINS = {"core"}  # the default losses and schedules live here


def _discover() -> list[tuple[str, str, str, object]]:
    """(plugin name, distribution, version, entry point) for every entry point in the group.

    Built-ins come first, so a third-party plugin that reuses a built-in name is the one
    reported as clashing, whatever order the environment lists distributions in.
    """
    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "unknown"
        version = ep.dist.version if ep.dist is not None else "unknown"
        found.append((ep.name, dist, version, ep))
    return sorted(found, key=lambda item: item[1].lower() != BUILTIN_DISTRIBUTION)


def load_plugins(extra: list[object] | None = None) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """Build the manager: every entry point of group ``ganzoo`` (built-ins included), then ``extra``.

    A plugin that fails to import is recorded as failed and skipped (a hard error in strict mode).
    ``extra`` holds already-imported plugin modules or objects (used by tests and ganzoo.testing).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    alias_source_builtins()
    allow = _env_names("GANZOO_LOAD_PLUGINS")
    deny = _env_names("GANZOO_DISABLE_PLUGINS")
    infos: list[PluginInfo] = []
    for name, dist, version, ep in _discover():
        builtin = dist.lower() == BUILTIN_DISTRIBUTION
        info = PluginInfo(name, dist, version, "built-in" if builtin else "entry point")
        infos.append(info)
        names = {name.lower(), dist.lower()}
        if deny and names & deny:
            if builtin and name in REQUIRED_BUILTINS:
                raise PluginError(
                    f"built-in plugin {name!r} cannot be disabled: the engine needs it "
                    "(remove it from GANZOO_DISABLE_PLUGINS)"
                )
            info.status = "blocked"
            continue
        if not builtin and allow is not None and not names & allow:
            info.status = "blocked"
            continue
        try:
            module = ep.load()
            _register_checked(pm, module, f"{dist}:{name}")
        except (Exception, SystemExit) as exc:  # a broken plugin must not take ganzoo down
            _fail(info, exc)
            continue
        info.module = module
        info.hooks = _hook_names(pm, module)
    for obj in extra or []:
        if pm.is_registered(obj):  # already loaded through its entry point
            continue
        name = getattr(obj, "__name__", type(obj).__name__)
        info = PluginInfo(name, getattr(obj, "__distribution__", name), "local", "local")
        infos.append(info)
        try:
            _register_checked(pm, obj, f"local:{name}")
        except PluginError as exc:
            _fail(info, exc)
            continue
        info.module = obj
        info.hooks = _hook_names(pm, obj)
    return pm, infos


def _register_checked(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Register a plugin; a hook implementation that names no ganzoo hook (a misspelt one) unregisters it
    again and raises a one-line PluginError naming the closest hooks (``pm.check_pending()``)."""
    pm.register(plugin, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError:
        unknown = sorted(c.name for c in pm.get_hookcallers(plugin) or [] if not c.has_spec())
        pm.unregister(plugin)
        known = [n for n in dir(hookspecs) if n.startswith("ganzoo_")]
        hints = [n + "".join(f" (did you mean {m}?)" for m in difflib.get_close_matches(n, known, n=1))
                 for n in unknown]
        raise PluginError(f"@hookimpl on unknown hook {'; '.join(hints)}; the hooks are in ganzoo.hookspecs") from None


def _hook_names(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    return sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])


def plugin_label(pm: pluggy.PluginManager, plugin: object) -> str:
    """The registered name of a plugin object, e.g. ``ganzoo:networks``."""
    return pm.get_name(plugin) or repr(plugin)
