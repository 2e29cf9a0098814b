"""Experiments that build on others: an entry with ``extends: NAME`` starts from that experiment's entry.

The rule, applied from the root of a chain (a extends b extends c: c, then b, then a) to the experiment
itself: a section (``train``, ``eval``, ...) merges key by key, the later entry's values winning. A
component block (``loss: {name: rpgan}`` or ``loss: rpgan``) merges the same way, but an entry that names
another component first drops the parameters of the earlier one that the new component does not take, as
``--set loss.name=...`` does: ``r1_gamma`` carries over from ``non-saturating`` to ``rpgan`` (both take
it), and is dropped on a switch to ``hinge``. Any other value (``description``, a list) replaces the earlier
one. Each value's origin (which entry set it) is recorded for ``ganzoo show --origin``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Collection

from ganzoo.errors import ConfigError

#: Where registry experiments live; an experiment file's scope is its path.
REGISTRY = "registry"
#: Where an entry came from: (scope, name).
EntryKey = tuple[str, str]
#: Finds a parent: (the name an entry extends, that entry's key) -> (the parent's key, its entry).
FindParent = Callable[[str, EntryKey], tuple[EntryKey, dict]]
#: The config parameters of a component: (block such as "loss", component name) -> parameter names.
ParamsOf = Callable[[str, str], Collection[str]]

#: The origin of a value the experiment itself sets.
OWN = "experiment"


@dataclass
class Flattened:
    """An entry with its parents merged in: the merged entry (no ``extends``), each dotted key's origin
    (``experiment`` or ``parent NAME``), and the parents' labels, nearest first."""

    entry: dict
    origins: dict[str, str]
    parents: list[str]


def label(key: EntryKey) -> str:
    """How an entry is named to the user: its name, or ``FILE:NAME`` for an entry of an experiments file."""
    scope, name = key
    return name if scope == REGISTRY else f"{scope}:{name}"


def flatten(key: EntryKey, entry: dict, find_parent: FindParent, params_of: ParamsOf,
            components: Collection[str]) -> Flattened:
    """Merge an entry's chain of parents under it (see the module's rule)."""
    layers = chain(key, entry, find_parent)
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for i in reversed(range(len(layers))):
        layer_key, layer = layers[i]
        source = OWN if i == 0 else f"parent {label(layer_key)}"
        for name, value in layer.items():
            if name != "extends":
                _merge_key(merged, origins, name, value, source, params_of, components)
    return Flattened(merged, origins, [label(k) for k, _ in layers[1:]])


def chain(key: EntryKey, entry: dict, find_parent: FindParent) -> list[tuple[EntryKey, dict]]:
    """The entry and its ancestors, nearest first; a cycle or a malformed ``extends`` is a ConfigError."""
    layers = [(key, entry)]
    while "extends" in layers[-1][1]:
        child_key, child = layers[-1]
        parent = child["extends"]
        if not isinstance(parent, str) or not parent:
            raise ConfigError(f"{label(child_key)!r}: extends must name one experiment, got {parent!r}")
        parent_key, parent_entry = find_parent(parent, child_key)
        if any(parent_key == k for k, _ in layers):
            cycle = " -> ".join(label(k) for k, _ in [*layers, (parent_key, None)])
            raise ConfigError(f"experiments extend each other in a cycle ({cycle}); remove one of these extends")
        layers.append((parent_key, parent_entry))
    return layers


def set_origin(origins: dict[str, str], path: str, value: Any, source: str) -> None:
    """Record that ``source`` set ``path`` to ``value``: each key of a mapping, else the path itself; what
    was recorded below the path before is forgotten."""
    for known in [k for k in origins if k == path or k.startswith(path + ".")]:
        del origins[known]
    if isinstance(value, dict):
        origins.update({f"{path}.{k}": source for k in value})
    else:
        origins[path] = source


def _merge_key(merged: dict, origins: dict[str, str], name: str, value: Any, source: str, params_of: ParamsOf,
               components: Collection[str]) -> None:
    before = merged.get(name)
    if name in components:
        before, value = _block(before), _block(value)
    if not (isinstance(value, dict) and isinstance(before, dict)):
        merged[name] = copy.deepcopy(value)
        set_origin(origins, name, value, source)
        return
    if name in components and "name" in value and value["name"] != before.get("name"):
        before = _keep_params(before, origins, name, params_of(name, value["name"]))
    merged[name] = {**before, **copy.deepcopy(value)}
    for k, v in value.items():
        set_origin(origins, f"{name}.{k}", v, source)


def _block(value: Any) -> Any:
    """A component block given as its name alone, as a mapping."""
    return {"name": value} if isinstance(value, str) else value


def _keep_params(block: dict, origins: dict[str, str], name: str, params: Collection[str]) -> dict:
    """The block without the parameters a newly named component does not take (their origins forgotten)."""
    for param in block:
        if param != "name" and param not in params:
            origins.pop(f"{name}.{param}", None)
    return {p: v for p, v in block.items() if p == "name" or p in params}
