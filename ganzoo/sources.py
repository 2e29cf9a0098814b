"""Where an experiment comes from: a registry name, or a YAML file of experiments (FILE.yaml[:NAME])."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ganzoo.config import ResolvedConfig, load_experiments_file, trace_entry
from ganzoo.errors import ConfigError
from ganzoo.registry import NAME_PATTERN

FILE_ARGUMENT = re.compile(r"(?P<path>.+\.ya?ml)(?::(?P<name>[^/\\]+))?", re.IGNORECASE)


def trace_experiment(engine: Any, argument: str, overrides: list[str]) -> ResolvedConfig:
    """The validated config, with origins, of a registry name or ``FILE.yaml`` / ``FILE.yaml:NAME`` (whose
    ``extends`` may name another entry of the file, or a registry experiment)."""
    match = FILE_ARGUMENT.fullmatch(argument)
    if match is None:
        return trace_entry(engine.registry, argument, engine.registry.get("experiments", argument).obj, overrides)
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
    return trace_entry(engine.registry, wanted, entries[wanted], overrides, scope=str(path), siblings=entries)
