"""Where an experiment comes from: a registry name, or a YAML file of experiments (FILE.yaml[:NAME])."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ganzoo.config import load_experiments_file, resolve_entry
from ganzoo.errors import ConfigError
from ganzoo.registry import NAME_PATTERN

FILE_ARGUMENT = re.compile(r"(?P<path>.+\.ya?ml)(?::(?P<name>[^/\\]+))?", re.IGNORECASE)


def resolve_experiment(engine: Any, argument: str, overrides: list[str]) -> tuple[str, dict]:
    """(name, validated config) for a registry name or ``FILE.yaml`` / ``FILE.yaml:NAME``."""
    match = FILE_ARGUMENT.fullmatch(argument)
    if match is None:
        return argument, engine.resolve(argument, overrides)
    path, wanted = Path(match["path"]), match["name"]
    entries = load_experiments_file(path)
    for name in entries:
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ConfigError(f"{path}: experiment name {name!r} must be lower-case letters, digits, '.', '_' or '-'")
    if wanted is None:
        if len(entries) != 1:
            names = ", ".join(entries) or "none"
            raise ConfigError(f"{path} holds {len(entries)} experiments ({names}); pick one with {path}:NAME")
        wanted = next(iter(entries))
    if wanted not in entries:
        raise ConfigError(f"{path} has no experiment {wanted!r}; it holds {', '.join(entries) or 'none'}")
    return wanted, resolve_entry(engine.registry, wanted, entries[wanted], overrides)
