"""results.json: one record per (variant, seed), the suite that made them, and summaries over seeds."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from collections.abc import Collection, Mapping
from pathlib import Path

from ganzoo.checkpoint import atomic_write_bytes
from ganzoo.errors import GanzooError
from ganzoo.runlock import is_lock_file

FORMAT = 1
#: Protocol keys that name one run rather than the way it was measured (the real-data reference follows from the rest;
#: ``outcome`` holds what a run's measurement found besides its values, e.g. code-agreement's category matching).
RUN_KEYS = ("run", "checkpoint", "step", "ganzoo_version", "reference", "outcome")


class ResultsError(GanzooError):
    """A results file or output directory that cannot be used."""


def results_path(out: Path) -> Path:
    """Where a suite's results live in its output directory."""
    return Path(out) / "results.json"


def read_results(path: Path) -> dict:
    """A results.json written by ``ganzoo bench``; anything else is a one-line error."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"no results file at {path}; pass DIR/results.json written by 'ganzoo bench'") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ResultsError(f"{path} is not a readable results.json ({type(exc).__name__}); "
                           "pass one written by 'ganzoo bench'") from None
    if not (isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("suite"), dict)
            and isinstance(data.get("runs"), list)):
        raise ResultsError(f"{path} is not a ganzoo bench results file (format {FORMAT})")
    return data


def write_results(data: dict, out: Path) -> Path:
    """Write results.json atomically (the old file or the whole new one)."""
    path = results_path(out)
    atomic_write_bytes((json.dumps(data, indent=2) + "\n").encode("utf-8"), path)
    return path


def open_results(out: Path, suite: dict, machine: dict, defaults: Mapping[str, Collection[str]] | None = None) -> dict:
    """The results to continue in ``out``: its own earlier ones, or a fresh file; another suite's is refused.

    ``defaults`` names, per variant, the dotted config keys left at their defaults: results recorded
    before an option existed continue when the option is at its default (a new option's default keeps
    the behaviour from before it) and everything else is as recorded.
    """
    out = Path(out)
    path = results_path(out)
    if path.exists():
        data = read_results(path)
        theirs = data["suite"]
        if theirs.get("fingerprint") != suite["fingerprint"] and not only_new_defaults(theirs, suite, defaults or {}):
            raise ResultsError(f"{out} holds results of {_differs(theirs, suite)}; choose another --out "
                               "(or remove that directory to start over)")
        data["suite"] = suite
        data["machine"] = machine
        return data
    if out.exists() and (not out.is_dir() or any(not is_lock_file(p) for p in out.iterdir())):
        raise ResultsError(f"--out {out} already holds other files (no results.json); choose another --out")
    return {"format": FORMAT, "suite": suite, "machine": machine, "runs": []}


def only_new_defaults(theirs: dict, ours: dict, defaults: Mapping[str, Collection[str]]) -> bool:
    """Whether two suite descriptions differ only by config options added since, each at its default."""
    same = ("name", "budget", "eval")
    old, new = theirs.get("variants") or {}, ours["variants"]
    if any(theirs.get(k) != ours[k] for k in same) or set(old) != set(new):
        return False
    for name, variant in new.items():
        if old[name].get("config_hash") == variant["config_hash"]:
            continue
        if not isinstance(old[name].get("config"), dict):
            return False
        before, now = _leaves(old[name]["config"]), _leaves(variant["config"])
        added = set(now) - set(before)
        if set(before) - set(now) or any(before[k] != now[k] for k in before) or not added <= set(defaults.get(name, ())):
            return False
    return True


def _leaves(config: dict, prefix: str = "") -> dict[str, object]:
    found: dict[str, object] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            found.update(_leaves(value, f"{prefix}{key}."))
        else:
            found[f"{prefix}{key}"] = value
    return found


def _differs(theirs: dict, ours: dict) -> str:
    if theirs.get("name") != ours["name"]:
        return f"another suite ({theirs.get('name')!r} from {theirs.get('file')})"
    old, new = theirs.get("variants") or {}, ours["variants"]
    for name in sorted(set(old) | set(new)):
        if name not in old or name not in new:
            return f"suite {ours['name']!r} with a different set of variants ({name!r} is in only one)"
        if old[name].get("config_hash") != new[name]["config_hash"]:
            return f"suite {ours['name']!r} with variant {name!r} configured differently"
    return f"suite {ours['name']!r} with a different budget or evaluation protocol"


def find_record(data: dict, run: str) -> dict | None:
    """The record of one run, if the suite has one."""
    return next((r for r in data["runs"] if r.get("run") == run), None)


def put_record(data: dict, record: dict) -> None:
    """Add a run's record, replacing an earlier one of the same run."""
    data["runs"] = [r for r in data["runs"] if r.get("run") != record["run"]] + [record]


def comparable_protocol(protocol: dict) -> dict:
    """A protocol block without the keys that name one run (for checking two results are comparable)."""
    return {k: v for k, v in protocol.items() if k not in RUN_KEYS}


@dataclass
class Summary:
    """One metric output of one variant over its seeds."""

    values: list[float]

    @property
    def mean(self) -> float:
        """Mean over seeds."""
        return statistics.fmean(self.values)

    @property
    def std(self) -> float | None:
        """Sample standard deviation over seeds (None with one seed)."""
        return statistics.stdev(self.values) if len(self.values) > 1 else None


def ok_runs(data: dict) -> list[dict]:
    """Records of finished runs whose every metric carries its protocol block."""
    return [r for r in data["runs"] if r.get("status") == "ok"
            and all(isinstance(m, dict) and m.get("protocol") for m in (r.get("metrics") or {}).values())]


@dataclass
class Group:
    """The variants of one metric that are comparable: same data set, same protocol."""

    metric: str
    dataset: str
    outputs: dict[str, dict[str, Summary]]  # output -> variant -> Summary
    protocols: list[dict]  # the distinct protocols of these runs (one when all is well)

    @property
    def variants(self) -> list[str]:
        """The variants in this group, in suite order."""
        return list(dict.fromkeys(v for cells in self.outputs.values() for v in cells))


def groups(data: dict) -> list[Group]:
    """A group per metric and data set (and per protocol, should a data set have been measured in two ways)."""
    variants = data["suite"].get("variants") or {}
    protocols: dict[tuple[str, str], list[dict]] = {}
    for record in ok_runs(data):
        for metric, result in record["metrics"].items():
            found = protocols.setdefault((metric, record["variant"]), [])
            if comparable_protocol(result["protocol"]) not in found:
                found.append(comparable_protocol(result["protocol"]))
    made: dict[tuple, Group] = {}
    for metric, outputs in summarize(data).items():
        for output, cells in outputs.items():
            for variant, summary in cells.items():
                dataset = (variants.get(variant) or {}).get("dataset", "")
                found = protocols[(metric, variant)]
                key = (metric, dataset, json.dumps(found, sort_keys=True, default=str))
                group = made.setdefault(key, Group(metric, dataset, {}, found))
                group.outputs.setdefault(output, {})[variant] = summary
    return list(made.values())


def references_for(data: dict, group: Group) -> list[dict]:
    """The suite's reference numbers for a group's metric (and data set, when the reference names one)."""
    return [ref for ref in data["suite"].get("references") or []
            if ref["metric"] == group.metric and ref.get("dataset", group.dataset) == group.dataset]


def summarize(data: dict) -> dict[str, dict[str, dict[str, Summary]]]:
    """{metric: {output: {variant: Summary}}} over the finished runs, in the suite's variant order."""
    order = list(data["suite"].get("variants") or {})
    table: dict[str, dict[str, dict[str, Summary]]] = {}
    for record in sorted(ok_runs(data), key=lambda r: (order.index(r["variant"]) if r["variant"] in order
                                                     else len(order), r["seed"])):
        for metric, result in record["metrics"].items():
            for output, value in result["values"].items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    cell = table.setdefault(metric, {}).setdefault(output, {})
                    cell.setdefault(record["variant"], Summary([])).values.append(float(value))
    return table


def shown_outputs(data: dict, metric: str, outputs: list[str]) -> list[str]:
    """The outputs of a metric that have a goal (all of them when the metric declares none)."""
    goals = (data["suite"].get("goals") or {}).get(metric) or {}
    return [o for o in outputs if o in goals] or list(outputs)


def format_value(value: float) -> str:
    """A number with four significant digits."""
    return f"{value:.4g}"


def read_curve(run_dir: Path, images_per_step: int) -> tuple[list[dict], float, int]:
    """(evaluation points with cumulative training seconds, training seconds, steps logged) from metrics.jsonl.

    Training time is summed over the trainer's logging windows (steps x images per step / images per second),
    so it continues correctly across resumes.
    """
    log = Path(run_dir) / "metrics.jsonl"
    points: list[dict] = []
    seconds, last_step = 0.0, 0
    if not log.is_file():
        return points, seconds, last_step
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or not isinstance(event.get("step"), int):
            continue
        if event.get("event") == "train" and event.get("images_per_s"):
            seconds += (event["step"] - last_step) * images_per_step / float(event["images_per_s"])
            last_step = event["step"]
        elif event.get("event") == "eval":
            values = {k: v for k, v in event.items() if k not in ("event", "step") and isinstance(v, (int, float))}
            points.append({"step": event["step"], "train_time_s": round(seconds, 3), "values": values})
    return points, seconds, last_step
