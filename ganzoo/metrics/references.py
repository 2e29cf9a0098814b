"""What real data scores under a metric's protocol, cached beside the evaluators: computed once, then read.

A reference (``Metric.reference``) depends on the metric, the data set, split, sample count and seed, and the
rest of its protocol (the evaluator's hash among it), never on the generated samples; under
``CACHE/evaluators/references/`` one JSON file per such key holds it. The key also names the metric's
outputs, so a metric that gains one (a new version of its plugin) computes its reference again instead of
reading one without it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ganzoo.checkpoint import atomic_write_bytes
from ganzoo.metrics.base import EvalContext, Metric, MetricResult

#: Protocol keys that describe the generated samples, not the real data a reference is measured on.
FAKE_KEYS = ("fake_samples",)


def reference_key(name: str, ctx: EvalContext, result: MetricResult) -> dict[str, Any]:
    """What a metric's reference depends on, as plain JSON values."""
    key = {"metric": name, "dataset": ctx.dataset, "split": ctx.split, "n": ctx.n, "seed": ctx.seed,
           "outputs": sorted(result.values),
           "protocol": {k: v for k, v in result.protocol.items() if k not in FAKE_KEYS}}
    return json.loads(json.dumps(key, sort_keys=True, default=str))


def reference_file(cache_dir: Path, key: dict[str, Any]) -> Path:
    """The cache file of one reference key."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()[:32]
    return Path(cache_dir) / "evaluators" / "references" / f"{digest}.json"


def cached_reference(metric: Metric, name: str, ctx: EvalContext, result: MetricResult) -> dict[str, Any]:
    """``metric.reference`` of a result as a plain dict: from the cache when computed before under the same
    key, else computed now and stored there."""
    key = reference_key(name, ctx, result)
    path = reference_file(ctx.cache_dir, key)
    stored = _read(path)
    if stored is not None and stored.get("key") == key:
        return stored["reference"]
    reference = metric.reference(ctx, result).to_dict()
    atomic_write_bytes((json.dumps({"key": key, "reference": reference}, indent=1) + "\n").encode("utf-8"), path)
    return reference


def _read(path: Path) -> dict | None:
    """A cache file's content; None when absent or unreadable (it is then computed again)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stored if isinstance(stored, dict) and isinstance(stored.get("reference"), dict) else None
