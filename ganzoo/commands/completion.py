"""Shell completion with argcomplete: experiment names, component kinds and names, and ``--set`` keys.

``ganzoo.cli`` hands its parser to argcomplete only when the shell asks for completions (``_ARGCOMPLETE``
is set), so ``ganzoo --help`` neither imports argcomplete nor loads a plugin. argcomplete calls each
completer as ``completer(prefix=..., parsed_args=..., ...)``; a completer returns candidates (a mapping
gives each a description, which zsh and fish show) and argcomplete keeps those that start with the prefix.
"""

from __future__ import annotations

import argparse
import glob
import os
from typing import Any

from ganzoo.config import CHOICES, COMPONENTS, SECTIONS
from ganzoo.errors import GanzooError
from ganzoo.registry import KINDS, Registry

YAML_SUFFIXES = (".yaml", ".yml")


def answer(parser: argparse.ArgumentParser) -> None:
    """Print the completions the shell asked for and exit (argcomplete's protocol)."""
    import argcomplete

    argcomplete.autocomplete(parser)


def kinds(**_: Any) -> tuple[str, ...]:
    """The component kinds ``ganzoo list`` takes."""
    return KINDS


def component_names(parsed_args: argparse.Namespace, **_: Any) -> dict[str, str]:
    """Names (with descriptions) of the kind already on the command line (``ganzoo list KIND PATTERN``)."""
    kind = getattr(parsed_args, "kind", None) or "experiments"
    return {c.name: c.description for c in _registry().items(kind)} if kind in KINDS else {}


def experiments(prefix: str, **_: Any) -> dict[str, str]:
    """Registered experiments (with descriptions), YAML files and folders, and the entries of FILE.yaml:."""
    path, sep, _name = prefix.rpartition(":")
    if sep and path.lower().endswith(YAML_SUFFIXES):
        return {f"{path}:{name}": "" for name in _file_entries(path)}
    found = {c.name: c.description for c in _registry().items("experiments")}
    found.update({p: "" for p in _yaml_paths(prefix)})
    return found


def override_keys(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> dict[str, str]:
    """``--set`` keys as ``key=`` (described by their current value in the experiment named on the command
    line, when there is one); after ``=``, the names a component key takes and a setting's allowed values."""
    key, sep, _value = prefix.partition("=")
    if sep:
        return {f"{key}={v}": "" for v in _values(key)}
    config = _config(getattr(parsed_args, "experiment", None))
    if config is None:
        return {f"{k}=": "" for k in _generic_keys()}
    return {f"{k}=": repr(v) for k, v in _leaves(config).items()}


def _registry() -> Registry:
    from ganzoo.engine import Engine

    return Engine().registry


def _yaml_paths(prefix: str) -> list[str]:
    """Folders (ending in /) and YAML files that start with the prefix."""
    found = []
    for path in glob.glob(glob.escape(os.path.expanduser(prefix)) + "*"):
        if os.path.isdir(path):
            found.append(path + "/")
        elif path.lower().endswith(YAML_SUFFIXES):
            found.append(path)
    return found


def _file_entries(path: str) -> list[str]:
    from ganzoo.config import load_experiments_file

    try:
        return [str(name) for name in load_experiments_file(path)]
    except GanzooError:
        return []


def _values(key: str) -> list[str]:
    """What the shell may offer after ``key=``: component names for a component key, else a setting's choices."""
    block = key.removesuffix(".name")
    if block in COMPONENTS:
        return _registry().names(COMPONENTS[block])
    return [str(c).lower() for c in CHOICES.get(key, ())]


def _config(experiment: str | None) -> dict | None:
    """The resolved config of the experiment on the command line, or None (none named, or it does not resolve)."""
    if not experiment:
        return None
    from ganzoo.api import resolve_config

    try:
        return resolve_config(experiment)[1]
    except GanzooError:
        return None


def _generic_keys() -> list[str]:
    """Keys every experiment has: each component's name and each section's settings."""
    return [f"{block}.name" for block in COMPONENTS] + [f"{s}.{k}" for s, keys in SECTIONS.items() for k in keys]


def _leaves(config: dict, prefix: str = "") -> dict[str, Any]:
    """Every settable dotted key of a resolved config, with its value."""
    found: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            found.update(_leaves(value, f"{prefix}{key}."))
        elif f"{prefix}{key}" != "experiment":
            found[f"{prefix}{key}"] = value
    return found
