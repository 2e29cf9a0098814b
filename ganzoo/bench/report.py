"""report.md: a table per metric (mean ± std over seeds, best marked), its protocol, the runs, plots and samples."""

from __future__ import annotations

import shlex
from pathlib import Path

from ganzoo.bench.plots import BARS, CURVES, SAMPLES
from ganzoo.bench.results import Group, Summary, comparable_protocol, format_value, groups, references_for, shown_outputs
from ganzoo.checkpoint import atomic_write_bytes

REPORT = "report.md"


def cell(summary: Summary | None) -> str:
    """'mean ± std' (the mean alone with one seed)."""
    if summary is None:
        return "—"
    if summary.std is None:
        return format_value(summary.mean)
    return f"{format_value(summary.mean)} ± {format_value(summary.std)}"


def best_variants(cells: dict[str, Summary], goal: str | None) -> set[str]:
    """The variants with the best mean by the output's goal (none without a goal, or when all tie)."""
    if goal not in ("max", "min") or len(cells) < 2:
        return set()
    best = (max if goal == "max" else min)(c.mean for c in cells.values())
    found = {name for name, c in cells.items() if c.mean == best}
    return found if len(found) < len(cells) else set()


def describe_protocol(protocol: dict) -> str:
    """One line naming how a metric was measured: evaluator (and its hash), split, sample counts, seed."""
    parts = []
    for key, value in comparable_protocol(protocol).items():
        if key == "dataset" and isinstance(value, dict):
            value = value.get("name", value)
        if key.endswith("sha256") and isinstance(value, str):
            value = value[:12]
        parts.append(f"{key.replace('_', ' ')} {value}")
    return "; ".join(parts)


def group_title(group: Group, all_groups: list[Group]) -> str:
    """'metric', or 'metric on dataset' when the metric has several groups (numbered if a data set repeats)."""
    same_metric = [g for g in all_groups if g.metric == group.metric]
    if len(same_metric) == 1:
        return group.metric
    same_data = [g for g in same_metric if g.dataset == group.dataset]
    suffix = f" (protocol {same_data.index(group) + 1})" if len(same_data) > 1 else ""
    return f"{group.metric} on {group.dataset}{suffix}"


def real_references(data: dict, group: Group) -> list[dict]:
    """The distinct real-data references (``protocol["reference"]``) of a group's finished runs."""
    found: list[dict] = []
    for record in data["runs"]:
        if record.get("status") != "ok" or record.get("variant") not in group.variants:
            continue
        reference = ((record.get("metrics") or {}).get(group.metric) or {}).get("protocol", {}).get("reference")
        if isinstance(reference, dict) and isinstance(reference.get("values"), dict) and reference not in found:
            found.append(reference)
    return found


def metric_section(data: dict, group: Group, title: str) -> list[str]:
    """The markdown of one group: its table, reference rows and the protocol under it."""
    goals = (data["suite"].get("goals") or {}).get(group.metric) or {}
    shown = shown_outputs(data, group.metric, list(group.outputs))
    header = [f"{o} ({'higher' if goals.get(o) == 'max' else 'lower'} is better)" if o in goals else o for o in shown]
    lines = [f"## {title}", "", "| variant | seeds | " + " | ".join(header) + " |",
             "|---|---|" + "---|" * len(shown)]
    best = {o: best_variants(group.outputs[o], goals.get(o)) for o in shown}
    for variant in group.variants:
        seeds = max(len(group.outputs[o][variant].values) for o in shown if variant in group.outputs[o])
        cells = []
        for o in shown:
            text = cell(group.outputs[o].get(variant))
            cells.append(f"**{text}** (best)" if variant in best[o] else text)
        lines.append(f"| {variant} | {seeds} | " + " | ".join(cells) + " |")
    for ref in references_for(data, group):
        values = [format_value(ref["values"][o]) if o in ref["values"] else "—" for o in shown]
        lines.append(f"| *reference: {ref['label']}* | | " + " | ".join(values) + " |")
    for real in real_references(data, group):
        values = [format_value(real["values"][o]) if o in real["values"] else "—" for o in shown]
        more = ", ".join(f"{k} {format_value(v)}" for k, v in real["values"].items() if k not in shown)
        label = f"real data: {real['label']}" + (f" ({more})" if more else "")
        lines.append(f"| *{label}* | | " + " | ".join(values) + " |")
    lines += ["", "Mean ± sample standard deviation over seeds; best by each output's goal among the variants."]
    if real_references(data, group):
        lines.append("Real data rows: the metric's reference, real samples scored under the same protocol.")
    if len(group.protocols) > 1:
        lines.append(f"**Warning: these runs were measured under {len(group.protocols)} different protocols; "
                     "their numbers are not comparable.**")
    lines += [f"Protocol: {describe_protocol(p)}." for p in group.protocols] + [""]
    return lines


def runs_section(data: dict) -> list[str]:
    """A row per variant: finished and failed runs, steps, training time, training images/s; then each failure."""
    lines = ["## Runs", "", "| variant | ok | failed | steps | training time (s) | training images/s |",
             "|---|---|---|---|---|---|"]
    for variant in data["suite"].get("variants") or {}:
        records = [r for r in data["runs"] if r.get("variant") == variant]
        ok = [r for r in records if r.get("status") == "ok"]
        failed = len(records) - len(ok)
        steps = cell(Summary([r["steps"] for r in ok])) if ok else "—"
        timing = cell(Summary([r["train_time_s"] for r in ok])) if ok else "—"
        rates = [r["images_per_s"] for r in ok if r.get("images_per_s")]
        rate = cell(Summary(rates)) if rates else "—"
        lines.append(f"| {variant} | {len(ok)} | {failed} | {steps} | {timing} | {rate} |")
    lines += ["", "Training time and images/s as logged by the trainer (periodic evaluations included).", ""]
    for record in data["runs"]:
        if record.get("status") == "failed":
            lines.append(f"- {record['run']} failed: {record.get('error')}")
    return lines + [""]


def header(data: dict) -> list[str]:
    """Title, what was run, on what machine, and the command that reproduces it."""
    suite, machine = data["suite"], data.get("machine") or {}
    budget = suite.get("budget") or {}
    limits = []
    if budget.get("steps"):
        limits.append(f"{budget['steps']} steps")
    if budget.get("seconds"):
        limits.append(f"{budget['seconds']:g} s wall-clock")
    seeds = sorted({r["seed"] for r in data["runs"]})
    lines = [f"# Benchmark: {suite['name']}", "",
             f"Suite file `{suite['file']}` (fingerprint `{suite['fingerprint']}`): {len(suite['variants'])} variants, "
             f"seeds {', '.join(map(str, seeds)) or 'none yet'}, budget per run {' or '.join(limits)}, "
             f"evaluation n={suite['eval']['n']} (seed {suite['eval']['seed']}, {suite['eval']['split']} split).", "",
             f"Machine: {machine.get('processor', '?')}, {machine.get('cpu_count', '?')} CPUs, "
             f"{machine.get('torch_threads', '?')} torch threads"
             f"{' per run, ' + str(machine['jobs']) + ' runs at once' if machine.get('jobs') else ''}, "
             f"device {machine.get('device', '?')}"
             f"{', ' + machine['gpu'] if machine.get('gpu') else ''}; torch {machine.get('torch', '?')}, "
             f"Python {machine.get('python', '?')}, {machine.get('platform', '?')}.", "",
             f"Reproduce: `ganzoo bench {shlex.quote(suite['file'])} --seeds {len(seeds) or 1} --out DIR`", ""]
    return lines


def variants_section(data: dict) -> list[str]:
    """What each variant is: its experiment and --set overrides."""
    lines = ["## Variants", ""]
    for name, v in (data["suite"].get("variants") or {}).items():
        sets = " ".join(f"--set {shlex.quote(o)}" for o in v.get("overrides") or [])
        desc = f" — {v['description']}" if v.get("description") else ""
        lines.append(f"- **{name}**: `{v['experiment']}{' ' + sets if sets else ''}`{desc}")
    return lines + [""]


def render(data: dict, plots: list[Path]) -> str:
    """The whole report as markdown."""
    lines = header(data) + variants_section(data)
    found = groups(data)
    for group in found:
        lines += metric_section(data, group, group_title(group, found))
    lines += runs_section(data)
    names = {p.name for p in plots}
    figures = [(SAMPLES, "Final samples of each variant (first seed)"),
               (CURVES, "Metrics vs training time (mean over seeds, band ± one std)"),
               (BARS, "Final metrics (mean ± one std over seeds)")]
    for name, caption in figures:
        if name in names:
            lines += [f"## {caption}", "", f"![{caption}]({name})", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(data: dict, out: Path, plots: list[Path]) -> Path:
    """Write report.md into ``out`` atomically."""
    path = Path(out) / REPORT
    atomic_write_bytes(render(data, plots).encode("utf-8"), path)
    return path
