"""Suite files: parsed, checked against the installed plugins and resolved into one config per variant.

A suite is a YAML mapping::

    name: smoke
    requires: ["ganzoo>=0.1"]            # distributions or plugins the suite needs
    seeds: 2                             # a count (seeds 0..N-1) or a list of seeds
    device: auto
    budget: {steps: 300, seconds: 60}    # per run: steps and/or wall-clock seconds
    metrics: [modes]                     # for every variant (a variant may list its own)
    eval: {n: 2500, every: 100, seed: 0, split: test}   # the pinned protocol
    set: [dataset.n=20000]               # --set overrides for every variant
    variants:
      ring8-hinge: {experiment: gan-ring8, set: [loss.name=hinge]}
    references:                          # published numbers shown as extra rows of that data set's table
      - {label: "PacGAN (Lin et al. 2018)", metric: modes, dataset: ring8, values: {modes: 6.3}}

Every error names the file and line it concerns, and is raised before anything trains.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ganzoo.config import load_yaml_file, parse_override
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.registry import NAME_PATTERN

TOP_LEVEL = ("name", "description", "requires", "seeds", "device", "budget", "metrics", "eval", "set", "variants",
             "references")
VARIANT_KEYS = ("experiment", "set", "metrics", "description")
#: Settings the suite pins for every run; a variant's --set may not change them.
PINNED = ("train.steps", "train.seed", "eval")
EVAL_DEFAULTS = {"n": 2000, "every": 0, "seed": 0, "split": "test"}


class SuiteError(GanzooError):
    """A suite file that cannot be run as written."""


@dataclass
class Variant:
    """One named experiment of a suite with its overrides and its resolved config (seed left at 0)."""

    name: str
    experiment: str
    overrides: list[str]
    pinned: list[str]
    metrics: list[str]
    config: dict
    description: str = ""
    line: int = 1
    defaults: frozenset[str] = frozenset()  # dotted keys of ``config`` left at their defaults

    def run_overrides(self, seed: int) -> list[str]:
        """The --set list that trains this variant with one seed: its own, then the suite's pinned settings."""
        return [*self.overrides, *self.pinned, f"train.seed={seed}"]


@dataclass
class Suite:
    """A checked suite: variants, seeds, per-run budget, pinned evaluation protocol."""

    name: str
    path: Path
    variants: list[Variant]
    seeds: list[int]
    steps: int | None
    seconds: float | None
    eval: dict
    device: str
    requires: list[str] = field(default_factory=list)
    references: list[dict] = field(default_factory=list)
    goals: dict[str, dict[str, str]] = field(default_factory=dict)

    def runs(self) -> list[tuple[Variant, int]]:
        """Every (variant, seed), one pass over the variants per seed."""
        return [(v, seed) for seed in self.seeds for v in self.variants]

    def fingerprint(self) -> str:
        """Hash of what makes results comparable: each variant's config, the budget and the protocol."""
        return stable_hash({"variants": {v.name: config_hash(v.config) for v in self.variants},
                            "steps": self.steps, "seconds": self.seconds, "eval": self.eval})

    def describe(self) -> dict:
        """The plain description stored at the top of results.json."""
        return {"name": self.name, "file": str(self.path), "fingerprint": self.fingerprint(),
                "budget": {"steps": self.steps, "seconds": self.seconds}, "eval": self.eval,
                "variants": {v.name: {"experiment": v.experiment, "overrides": v.overrides, "metrics": v.metrics,
                                      "dataset": v.config["dataset"]["name"], "config_hash": config_hash(v.config),
                                      "config": hashed_config(v.config), "description": v.description}
                             for v in self.variants},
                "goals": self.goals, "references": self.references, "requires": self.requires}


def stable_hash(value: Any) -> str:
    """sha256 of the canonical JSON form of plain data (first 16 hex digits)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


def hashed_config(config: dict) -> dict:
    """A resolved config without its seed, description and run record: what ``config_hash`` hashes."""
    plain = {k: v for k, v in config.items() if k not in ("run", "description")}
    plain["train"] = {k: v for k, v in plain.get("train", {}).items() if k != "seed"}
    return plain


def config_hash(config: dict) -> str:
    """Hash of ``hashed_config``: equal hashes train the same thing."""
    return stable_hash(hashed_config(config))


class _Where:
    """Finds the line of a key in the suite text, so errors point at it."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def line(self, key: str, indented: bool = False, after: int = 0) -> int:
        """First line (1-based) at or after ``after`` that opens ``key:``; the file start when none does."""
        indent = r"[ \t]+(?:-[ \t]*)?" if indented else ""
        pattern = re.compile(rf"^{indent}[\"']?{re.escape(key)}[\"']?[ \t]*:")
        for number, text in enumerate(self.lines[after:], start=after + 1):
            if pattern.match(text):
                return number
        return max(after, 1)

    def error(self, message: str, key: str, indented: bool = False, after: int = 0) -> SuiteError:
        """A SuiteError that names the file and the line of ``key``."""
        return SuiteError(f"{self.path}:{self.line(key, indented, after)}: {message}")


def _check_type(where: _Where, key: str, value: Any, types: tuple[type, ...], what: str, **at: Any) -> Any:
    if isinstance(value, bool) and bool not in types or not isinstance(value, types):
        raise where.error(f"'{key}' must be {what}, got {value!r}", key, **at)
    return value


def _string_list(where: _Where, key: str, value: Any, **at: Any) -> list[str]:
    _check_type(where, key, value, (list,), "a list of strings", **at)
    for item in value:
        _check_type(where, key, item, (str,), "a list of strings", **at)
    return list(value)


def _seeds(where: _Where, raw: Any, count: int | None) -> list[int]:
    if count is not None:
        if count < 1:
            raise SuiteError(f"--seeds must be at least 1, got {count}")
        return list(range(count))
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw < 1:
            raise where.error(f"'seeds' must be a count of at least 1 or a list of seeds, got {raw}", "seeds")
        return list(range(raw))
    if not isinstance(raw, list) or not raw or any(not isinstance(s, int) or isinstance(s, bool) for s in raw):
        raise where.error(f"'seeds' must be a count or a non-empty list of integers, got {raw!r}", "seeds")
    if len(set(raw)) != len(raw):
        raise where.error(f"'seeds' lists a seed twice: {raw}", "seeds")
    return list(raw)


def _budget(where: _Where, raw: Any, steps: int | None) -> tuple[int | None, float | None]:
    if raw is None:
        raise where.error("the suite needs a budget per run: budget: {steps: N} and/or {seconds: S}", "budget")
    _check_type(where, "budget", raw, (dict,), "a mapping with steps and/or seconds")
    unknown = [k for k in raw if k not in ("steps", "seconds")]
    if unknown:
        raise where.error(f"unknown budget key {unknown[0]!r}; use steps and/or seconds", "budget")
    budget_steps = raw.get("steps")
    seconds = raw.get("seconds")
    if budget_steps is not None and (not isinstance(budget_steps, int) or isinstance(budget_steps, bool)
                                     or budget_steps < 1):
        raise where.error(f"budget.steps must be a positive integer, got {budget_steps!r}", "budget")
    if seconds is not None and (not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0):
        raise where.error(f"budget.seconds must be a positive number, got {seconds!r}", "budget")
    if steps is not None:
        if steps < 1:
            raise SuiteError(f"--steps must be at least 1, got {steps}")
        budget_steps = steps
    if budget_steps is None and seconds is None:
        raise where.error("budget needs steps and/or seconds (per run)", "budget")
    return budget_steps, float(seconds) if seconds is not None else None


def _eval(where: _Where, raw: Any) -> dict:
    raw = {} if raw is None else _check_type(where, "eval", raw, (dict,), "a mapping (n, every, seed, split)")
    unknown = [k for k in raw if k not in EVAL_DEFAULTS]
    if unknown:
        raise where.error(f"unknown eval key {unknown[0]!r}; use {', '.join(EVAL_DEFAULTS)}", "eval")
    protocol = {**EVAL_DEFAULTS, **raw}
    for key in ("n", "every", "seed"):
        value = protocol[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < (2 if key == "n" else 0):
            raise where.error(f"eval.{key} must be an integer of at least {2 if key == 'n' else 0}, got {value!r}",
                              "eval")
    _check_type(where, "eval", protocol["split"], (str,), "a split name (eval.split)")
    return protocol


def _check_requires(where: _Where, requires: list[str], plugins: list[Any]) -> None:
    """Each requirement must be met by a loaded plugin (by plugin or distribution name) or an installed distribution."""
    for text in requires:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise where.error(f"requires: {text!r} is not a valid requirement ({exc})", "requires") from None
        wanted = canonicalize_name(req.name)
        found = [p for p in plugins if wanted in (canonicalize_name(p.name), canonicalize_name(p.distribution))]
        loaded = [p for p in found if p.status == "loaded"]
        if found and not loaded:
            p = found[0]
            raise where.error(f"the suite requires {text!r} but plugin {p.name} ({p.distribution}) is {p.status}"
                              f"{': ' + p.error if p.error else ''}; see 'ganzoo plugins'", "requires")
        if loaded:
            have = loaded[0].version
        else:
            try:
                have = version(req.name)
            except PackageNotFoundError:
                raise where.error(f"the suite requires {text!r}, which is not installed; install it "
                                  f"(e.g. uv pip install '{text}') and run again", "requires") from None
        if req.specifier and not req.specifier.contains(have, prereleases=True):
            raise where.error(f"the suite requires {text!r} but version {have} is installed; "
                              f"install a matching version", "requires")


def _check_overrides(where: _Where, overrides: list[str], key: str, **at: Any) -> None:
    for text in overrides:
        try:
            path = ".".join(parse_override(text)[0])
        except ConfigError as exc:
            raise where.error(str(exc), key, **at) from None
        for pinned in PINNED:
            if path == pinned or path.startswith(pinned + "."):
                raise where.error(f"--set {text!r}: {pinned} is pinned by the suite (budget, seeds, eval); "
                                  "change it in the suite, not per variant", key, **at)


def _metric_names(engine: Any, where: _Where, names: list[str], key: str, **at: Any) -> list[str]:
    if not names:
        raise where.error("name at least one metric (see 'ganzoo list metrics')", key, **at)
    for name in names:
        try:
            engine.registry.get("metrics", name)
        except GanzooError as exc:
            raise where.error(str(exc), key, **at) from None
    return names


def _pinned_overrides(steps: int | None, protocol: dict, metrics: list[str]) -> list[str]:
    pinned = [f"eval.metrics={json.dumps(metrics)}", "eval.primary=null", f"eval.n={protocol['n']}",
              f"eval.every={protocol['every']}", f"eval.split={json.dumps(protocol['split'])}"]
    return pinned + ([f"train.steps={steps}"] if steps is not None else [])


def _variants(engine: Any, where: _Where, raw: Any, common: list[str], metrics: list[str] | None,
              steps: int | None, protocol: dict) -> list[Variant]:
    if not isinstance(raw, dict) or not raw:
        raise where.error("'variants' must be a non-empty mapping of variant name -> {experiment: NAME, set: [...]}",
                          "variants")
    start = where.line("variants")
    variants = []
    for name, entry in raw.items():
        at = {"indented": True, "after": start}
        key = str(name)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise where.error(f"variant name {name!r} must be lower-case letters, digits, '.', '_' or '-'", key, **at)
        entry = {"experiment": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict) or not isinstance(entry.get("experiment"), str):
            raise where.error(f"variant {name!r} needs 'experiment: NAME' (see 'ganzoo list')", key, **at)
        unknown = [k for k in entry if k not in VARIANT_KEYS]
        if unknown:
            raise where.error(f"variant {name!r}: unknown key {unknown[0]!r}; use {', '.join(VARIANT_KEYS)}", key, **at)
        own = _string_list(where, key, entry.get("set", []), **at)
        _check_overrides(where, own, key, **at)
        names = (_metric_names(engine, where, _string_list(where, key, entry["metrics"], **at), key, **at)
                 if "metrics" in entry else metrics)
        if names is None:
            raise where.error(f"variant {name!r} has no metrics: list them under 'metrics' (suite or variant)",
                              key, **at)
        pinned = _pinned_overrides(steps, protocol, names)
        try:
            traced = engine.trace(entry["experiment"], [*common, *own, *pinned])
        except GanzooError as exc:
            raise where.error(f"variant {name!r}: {exc}", key, **at) from None
        defaults = frozenset(k for k, origin in traced.origins.items() if origin == "default")
        variants.append(Variant(name, entry["experiment"], [*common, *own], pinned, names, traced.config,
                                str(entry.get("description", "")), where.line(key, **at), defaults))
    return variants


def _references(where: _Where, raw: Any) -> list[dict]:
    _check_type(where, "references", raw, (list,), "a list of {label, metric, values}")
    for ref in raw:
        ok = (isinstance(ref, dict) and isinstance(ref.get("label"), str) and isinstance(ref.get("metric"), str)
              and isinstance(ref.get("values"), dict) and set(ref) <= {"label", "metric", "dataset", "values"}
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in ref["values"].values()))
        if not ok:
            raise where.error(f"each reference needs label, metric, numeric values and optionally dataset, "
                              f"got {ref!r}", "references")
    return copy.deepcopy(raw)


def load_suite(engine: Any, path: Path, seeds: int | None = None, device: str | None = None,
               overrides: list[str] | None = None, steps: int | None = None) -> Suite:
    """Parse and check a suite file; command-line --seeds, --device, --set and --steps win over the file."""
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"no suite file at {path}; pass a YAML file such as benchmarks/smoke.yaml")
    raw = load_yaml_file(path)
    where = _Where(path, path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}:1: a suite must be a mapping with variants, seeds, budget and metrics")
    for key in raw:
        if key not in TOP_LEVEL:
            raise where.error(f"unknown suite key {key!r}; use {', '.join(TOP_LEVEL)}", str(key))
    requires = _string_list(where, "requires", raw.get("requires", []))
    _check_requires(where, requires, engine.plugins)
    budget_steps, seconds = _budget(where, raw.get("budget"), steps)
    protocol = _eval(where, raw.get("eval"))
    metrics = (_metric_names(engine, where, _string_list(where, "metrics", raw["metrics"]), "metrics")
               if "metrics" in raw else None)
    common = _string_list(where, "set", raw.get("set", []))
    _check_overrides(where, common, "set")
    if overrides:
        _check_overrides(where, overrides, "set")
    variants = _variants(engine, where, raw.get("variants"), [*common, *(overrides or [])], metrics,
                         budget_steps, protocol)
    name = _check_type(where, "name", raw.get("name", path.stem), (str,), "a string")
    chosen_device = device or _check_type(where, "device", raw.get("device", "auto"), (str,), "a device name")
    goals = {m: dict(engine.metric(m).goals) for v in variants for m in v.metrics}
    return Suite(name, path, variants, _seeds(where, raw.get("seeds", 1), seeds), budget_steps, seconds, protocol,
                 chosen_device, requires, _references(where, raw.get("references", [])), goals)


def check_fit(engine: Any, suite: Suite, data_root: Path) -> None:
    """Load each variant's data (train and evaluation split) and build its networks, so a metric that does not
    apply or data that is missing is reported before anything trains."""
    from ganzoo.metrics.base import model_spec

    loaded: dict[str, Any] = {}

    def data(config: dict, split: str) -> Any:
        key = json.dumps([config["dataset"], split], sort_keys=True)
        if key not in loaded:
            loaded[key] = engine.load_data(config, split, data_root)
        return loaded[key]

    for variant in suite.variants:
        try:
            spec = data(variant.config, "train").spec
            data(variant.config, suite.eval["split"])
            generator = engine.build(variant.config, spec).generator
            for name in variant.metrics:
                engine.metric(name).check_applies(name, model_spec(spec, generator))
        except GanzooError as exc:
            raise SuiteError(f"{suite.path}:{variant.line}: variant {variant.name!r}: {exc}") from None
        except (ValueError, TypeError, RuntimeError) as exc:
            raise SuiteError(f"{suite.path}:{variant.line}: variant {variant.name!r} cannot be built: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
