"""Experiment config: registry entry (over the entries it extends) <- component defaults <- --set overrides,
validated.

A resolved config is plain data (dicts, lists, numbers, strings) with one block per component
(``name`` plus that component's parameters) and the fixed sections below.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from ganzoo.errors import ConfigError, UnknownNameError
from ganzoo.extends import REGISTRY, EntryKey, FindParent, flatten, label, set_origin
from ganzoo.registry import Registry

#: Component blocks of a config and the registry kind each names.
COMPONENTS = {"dataset": "datasets", "network": "networks", "loss": "losses", "schedule": "schedules"}
DEFAULT_COMPONENTS = {"loss": "non-saturating", "schedule": "alternating"}

#: Fixed sections: key -> (allowed types, default).
SECTIONS: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
    "train": {
        "steps": ((int,), 2000),
        "batch_size": ((int,), 64),
        "seed": ((int,), 0),
        "log_every": ((int,), 50),
        "sample_every": ((int,), 500),
        "checkpoint_every": ((int,), 1000),
        "keep_last": ((int,), 1),
        "amp": ((str,), "auto"),
        "compile": ((bool,), False),
        "compile_mode": ((str,), "default"),
        "channels_last": ((str, bool), "auto"),
        "adam": ((str,), "auto"),
        "threads": ((int,), 0),
    },
    "eval": {
        "metrics": ((list,), []),
        "primary": ((str, type(None)), None),
        "every": ((int,), 0),
        "n": ((int,), 2000),
        "split": ((str,), "test"),
    },
    "sample": {
        "n": ((int,), 64),
        "nrow": ((int,), 8),
    },
    "logging": {
        "tensorboard": ((bool,), False),
    },
    "guard": {
        "rollbacks": ((int,), 0),
        "lr_factor": ((float,), 0.5),
    },
    "distributed": {
        "batchnorm": ((str,), "auto"),
    },
}
#: Allowed values of string settings.
CHOICES = {"distributed.batchnorm": ("auto", "sync", "per-rank"), "train.amp": ("auto", "off", "bf16", "fp16"),
           "train.compile_mode": ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"),
           "train.channels_last": ("auto", True, False), "train.adam": ("auto", "fused", "foreach", "for-loop")}
TOP_LEVEL = {"description", *COMPONENTS, *SECTIONS}
POSITIVE = {"train.steps", "train.batch_size", "train.log_every", "train.sample_every", "train.checkpoint_every",
            "train.keep_last", "eval.n", "sample.n", "sample.nrow"}


def parse_override(text: str) -> tuple[list[str], Any]:
    """``key.path=value`` -> (["key", "path"], value parsed as a YAML scalar or list)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"bad --set {text!r}: use --set key.path=value (e.g. --set train.steps=500)")
    return key.split("."), parse_yaml_value(raw, f"bad --set {text!r}")


def parse_yaml_value(raw: str, where: str) -> Any:
    """A command-line value read as YAML ("" when blank); malformed YAML or a value that contains itself is
    a ConfigError that starts with ``where``."""
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{where}: the value is not valid YAML ({_first_line(exc)})") from None
    if contains_itself(value):
        raise ConfigError(f"{where}: the value contains itself; write it out in full")
    return value


def contains_itself(value: Any) -> bool:
    """True for parsed YAML holding a list or mapping inside itself (an alias inside its own anchor,
    ``&a [*a]``), which every walk of a config would follow forever."""
    try:
        json.dumps(value, default=str, skipkeys=True)
    except ValueError:
        return True
    return False


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def load_yaml_file(path: Path) -> Any:
    """Parse a YAML file safely; a syntax error names the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save it as UTF-8 YAML") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or _first_line(exc)
        raise ConfigError(f"{where}: malformed YAML: {problem}") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{path}: malformed YAML: {_first_line(exc)}") from None
    if contains_itself(data):
        raise ConfigError(f"{path}: a value contains itself (an alias inside its own anchor); write it out in full")
    return data


def load_experiments_file(path: Path) -> dict[str, dict]:
    """A registry file: a mapping of experiment name -> entry (each a mapping)."""
    data = load_yaml_file(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of experiment names to entries, got {type(data).__name__}")
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: experiment {name!r} must be a mapping, got {type(entry).__name__}")
    return data


def _type_name(types: tuple[type, ...]) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


FLOAT_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def coerce(path: str, value: Any, types: tuple[type, ...]) -> Any:
    """Check a value against the allowed types (an int is accepted as a float; lists as tuples).

    YAML 1.1 reads ``5e-4`` (no dot) as a string; where a float is expected it is taken as one.
    It also reads ``off`` as false: a boolean given to a string setting is taken as on/off.
    """
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if float in types and str not in types and isinstance(value, str) and FLOAT_TEXT.match(value.strip()):
        return float(value)
    if tuple in types and isinstance(value, list):
        return list(value)
    if str in types and bool not in types and isinstance(value, bool):
        return "on" if value else "off"  # YAML 1.1 reads on/off (and yes/no) as booleans
    if bool not in types and isinstance(value, bool):
        raise ConfigError(f"{path}: expected {_type_name(types)}, got a boolean ({value!r})")
    if not isinstance(value, types):
        raise ConfigError(f"{path}: expected {_type_name(types)}, got {type(value).__name__} ({value!r})")
    return list(value) if isinstance(value, tuple) else value


def types_of_default(default: Any) -> tuple[type, ...]:
    """Allowed types for a component parameter, from its default value."""
    if default is None:
        return (object,)
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, float):
        return (float,)
    if isinstance(default, int):
        return (int,)
    if isinstance(default, (list, tuple)):
        return (list, tuple)
    return (type(default),)


def _unknown_key(path: str, valid: list[str], experiment: str) -> ConfigError:
    close = difflib.get_close_matches(path, valid, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    return ConfigError(f"unknown config key {path!r} in {experiment!r}; {hint}valid keys: {', '.join(valid)}")


def _set_path(raw: dict, keys: list[str], value: Any) -> None:
    node = raw
    for key in keys[:-1]:
        child = node.get(key)
        if isinstance(child, str) and key in COMPONENTS:
            child = {"name": child}
        if child is None:
            child = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {'.'.join(keys)}: {key!r} is not a section")
        node[key] = child
        node = child
    if len(keys) == 1 and keys[0] in COMPONENTS and isinstance(value, str):
        current = node.get(keys[0])
        node[keys[0]] = {"name": value} if not isinstance(current, dict) else {**current, "name": value}
        return
    node[keys[-1]] = value


def _resolve_component(block: Any, key: str, registry: Registry, experiment: str) -> dict:
    if isinstance(block, str):
        block = {"name": block}
    if block is None and key in DEFAULT_COMPONENTS:
        block = {"name": DEFAULT_COMPONENTS[key]}
    if not isinstance(block, dict) or "name" not in block:
        raise ConfigError(f"{experiment!r}: '{key}' needs a name (e.g. {key}: {{name: ...}})")
    if not isinstance(block["name"], str):
        raise ConfigError(f"{experiment!r}: {key}.name must be a name (see 'ganzoo list'), got {block['name']!r}")
    component = registry.get(COMPONENTS[key], block["name"])
    resolved: dict[str, Any] = {"name": component.name}
    valid = [f"{key}.name"] + [f"{key}.{p}" for p in component.params]
    for param in block:
        if param != "name" and param not in component.params:
            raise _unknown_key(f"{key}.{param}", valid, experiment)
    for param, default in component.params.items():
        value = block.get(param, default)
        resolved[param] = coerce(f"{key}.{param}", value, types_of_default(default)) if param in block else copy.deepcopy(default)
        if isinstance(resolved[param], tuple):
            resolved[param] = list(resolved[param])
    return resolved


def _component_name(block: Any) -> Any:
    return block.get("name") if isinstance(block, dict) else block


def _drop_foreign_params(raw: dict, key: str, overridden: set[tuple[str, str]], registry: Registry) -> None:
    """After ``--set KEY.name=OTHER``, drop the entry's parameters OTHER does not take (``--set`` ones stay checked).

    So ``--set loss.name=hinge`` on an experiment whose loss sets ``r1_gamma`` switches the loss,
    while ``schedule.lr_g`` carries over to any schedule that has it.
    """
    block = raw.get(key)
    if not isinstance(block, dict) or not isinstance(block.get("name"), str):
        return
    params = registry.get(COMPONENTS[key], block["name"]).params
    raw[key] = {p: v for p, v in block.items() if p == "name" or p in params or (key, p) in overridden}


@dataclass
class ResolvedConfig:
    """A resolved config with where each value came from: ``origins`` maps each dotted key to
    ``experiment`` (the entry itself), ``parent NAME`` (an entry it extends), ``default`` or ``--set``;
    ``parents`` names the entries it extends, nearest first."""

    config: dict
    origins: dict[str, str]
    parents: list[str]


def resolve(registry: Registry, experiment: str, overrides: list[str] | None = None) -> dict:
    """One plain, validated config for an experiment, with overrides applied."""
    return resolve_entry(registry, experiment, registry.get("experiments", experiment).obj, overrides)


def resolve_entry(registry: Registry, experiment: str, entry: dict, overrides: list[str] | None = None) -> dict:
    """One plain, validated config from an experiment entry (registry, file or saved run), with overrides."""
    return trace_entry(registry, experiment, entry, overrides).config


def trace_entry(registry: Registry, experiment: str, entry: dict, overrides: list[str] | None = None, *,
                scope: str = REGISTRY, siblings: Mapping[str, dict] | None = None) -> ResolvedConfig:
    """Resolve an entry as ``resolve_entry`` does, recording each value's origin. ``scope`` is where the entry
    lives (an experiments file's path, else the registry); its ``extends`` looks in ``siblings`` (the file's
    other entries) first, then in the registry."""
    flat = flatten((scope, experiment), entry, _parent_finder(registry, siblings or {}),
                   lambda key, name: registry.get(COMPONENTS[key], name).params, COMPONENTS)
    raw, origins = flat.entry, flat.origins
    names_before = {key: _component_name(raw.get(key)) for key in COMPONENTS}
    overridden: set[tuple[str, str]] = set()
    for text in overrides or []:
        keys, value = parse_override(text)
        if keys[0] not in TOP_LEVEL:
            raise _unknown_key(".".join(keys), sorted(TOP_LEVEL), experiment)
        _set_path(raw, keys, value)
        overridden.add((keys[0], keys[1] if len(keys) > 1 else "name"))
        component_name = len(keys) == 1 and keys[0] in COMPONENTS and isinstance(value, str)
        set_origin(origins, ".".join(keys) + (".name" if component_name else ""), value, "--set")
    for key in COMPONENTS:
        if _component_name(raw.get(key)) != names_before[key]:
            _drop_foreign_params(raw, key, overridden, registry)
    for key in raw:
        if key not in TOP_LEVEL:
            raise _unknown_key(str(key), sorted(TOP_LEVEL), experiment)
    config: dict[str, Any] = {"experiment": experiment, "description": str(raw.get("description", ""))}
    for key in COMPONENTS:
        config[key] = _resolve_component(raw.get(key), key, registry, experiment)
    for section, schema in SECTIONS.items():
        block = raw.get(section) or {}
        if not isinstance(block, dict):
            raise ConfigError(f"{experiment!r}: '{section}' must be a mapping")
        valid = [f"{section}.{k}" for k in schema]
        for k in block:
            if k not in schema:
                raise _unknown_key(f"{section}.{k}", valid, experiment)
        config[section] = {}
        for k, (types, default) in schema.items():
            value = coerce(f"{section}.{k}", block[k], types) if k in block else copy.deepcopy(default)
            if f"{section}.{k}" in POSITIVE and value <= 0:
                raise ConfigError(f"{section}.{k} must be positive, got {value}")
            if f"{section}.{k}" in CHOICES and value not in CHOICES[f"{section}.{k}"]:
                allowed = ", ".join(str(c).lower() if isinstance(c, bool) else c for c in CHOICES[f"{section}.{k}"])
                raise ConfigError(f"{section}.{k} must be one of {allowed}, got {value!r}")
            config[section][k] = value
    _check_guard(config["guard"])
    _check_threads(config["train"])
    _check_metrics(config, registry)
    _check_plain(config, experiment)
    return ResolvedConfig(config, _leaf_origins(config, origins), flat.parents)


def _parent_finder(registry: Registry, siblings: Mapping[str, dict]) -> FindParent:
    """Parents come from the entry's own file (another entry of that name), else from the registry."""
    def find(name: str, child: EntryKey) -> tuple[EntryKey, dict]:
        scope, child_name = child
        if scope != REGISTRY and name != child_name and name in siblings:
            return (scope, name), siblings[name]
        try:
            return (REGISTRY, name), registry.get("experiments", name).obj
        except UnknownNameError:
            close = difflib.get_close_matches(name, [*siblings, *registry.names("experiments")], n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ConfigError(f"{label(child)!r} extends unknown experiment {name!r}; {hint}"
                              "see 'ganzoo list'") from None

    return find


def _leaf_origins(config: dict, origins: dict[str, str], prefix: str = "") -> dict[str, str]:
    """The origin of every leaf of a resolved config (``default`` where no entry or --set gave it)."""
    found: dict[str, str] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(_leaf_origins(value, origins, path + "."))
        elif path != "experiment":
            found[path] = origins.get(path, "default")
    return found


def _check_threads(train: dict) -> None:
    if train["threads"] < 0:
        raise ConfigError(f"train.threads must be 0 (physical cores) or more, got {train['threads']}")


def _check_guard(guard: dict) -> None:
    if guard["rollbacks"] < 0:
        raise ConfigError(f"guard.rollbacks must be 0 or more, got {guard['rollbacks']}")
    if not 0 < guard["lr_factor"] < 1:
        raise ConfigError(f"guard.lr_factor must lie strictly between 0 and 1, got {guard['lr_factor']}")


PLAIN = (str, int, float, bool, type(None))


def _check_plain(value: Any, where: str) -> None:
    """Configs hold only YAML's plain types, so checkpoints load with weights_only=True."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{where}: key {k!r} must be a string")
            _check_plain(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
    elif not isinstance(value, PLAIN):
        raise ConfigError(f"{where}: {type(value).__name__} values are not allowed; use a string, number, bool or list")


def _check_metrics(config: dict, registry: Registry) -> None:
    metrics = config["eval"]["metrics"]
    for name in metrics:
        if not isinstance(name, str):
            raise ConfigError(f"eval.metrics: expected metric names, got {name!r}")
        registry.get("metrics", name)
    primary = config["eval"]["primary"]
    if primary is not None:
        metric = primary.split(".")[0]
        if metric not in metrics:
            raise ConfigError(f"eval.primary {primary!r} must be one of eval.metrics ({', '.join(metrics) or 'none'})")


def to_yaml(config: dict) -> str:
    """The config as YAML, keys in their natural order."""
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
