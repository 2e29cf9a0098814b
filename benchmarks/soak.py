"""Soak: one long gan-ring8 run, watched for growing memory, open files and run directory.

    uv run python benchmarks/soak.py [--steps 50000] [--eval-every 1000] [--checkpoint-every 500]
                                     [--warmup 0.1] [--tolerance 0.05] [--set K=V] [--run-dir DIR]
                                     [--out benchmarks/results/soak-cpu.json]

An observer plugin samples, at every logging step (train.log_every), this process's resident set
size (VmRSS in /proc/self/status), its open file descriptors (/proc/self/fd) and the run
directory's size and file count. After the warm-up (the first ``--warmup`` share of the steps) the
run passes when neither RSS nor open files ever exceeds its value at the end of the warm-up by more
than ``--tolerance``, and checkpoints/ never holds more than train.keep_last step files (plus
last.pt and best.pt). metrics.jsonl and samples/ grow with the steps by design and are reported
apart. Writes JSON and the same as Markdown beside it, with the machine described. Linux only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ganzoo import hookimpl
from ganzoo.checkpoint import STEP_FILE

RESULTS = Path(__file__).resolve().parent / "results"


def resident_mb() -> float:
    """This process's resident set size in MiB (VmRSS)."""
    text = Path("/proc/self/status").read_text(encoding="ascii")
    return int(re.search(r"^VmRSS:\s+(\d+) kB", text, re.M).group(1)) / 1024


def open_files() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd")) - 1  # less the one listdir itself opens


def directory_usage(run_dir: Path) -> dict[str, int]:
    """Bytes and files of the whole run directory, of checkpoints/ and its step files."""
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    checkpoints = [p for p in files if p.parent.name == "checkpoints"]
    return {"run_dir_bytes": sum(p.stat().st_size for p in files), "run_dir_files": len(files),
            "checkpoint_bytes": sum(p.stat().st_size for p in checkpoints), "checkpoint_files": len(checkpoints),
            "step_files": sum(bool(STEP_FILE.match(p.name)) for p in checkpoints)}


class Probe:
    """Observer plugin: memory, open files and the run directory at every logging step."""

    __name__ = "soak-probe"

    def __init__(self, report_every: int) -> None:
        self.samples: list[dict[str, Any]] = []
        self.report_every, self.started = report_every, time.perf_counter()

    @hookimpl
    def ganzoo_step_end(self, run: Any, step: int, logs: dict) -> None:
        """Record one sample; a progress line on stderr every ``report_every`` steps."""
        sample = {"step": step, "elapsed_s": round(time.perf_counter() - self.started, 2),
                  "rss_mb": round(resident_mb(), 2), "open_files": open_files(), **directory_usage(run.run_dir)}
        self.samples.append(sample)
        if step % self.report_every == 0:
            print(f"soak: step {step}/{run.total_steps}, RSS {sample['rss_mb']:.1f} MiB, {sample['open_files']} "
                  f"open files, run dir {sample['run_dir_bytes'] / 2**20:.1f} MiB in {sample['run_dir_files']} files",
                  file=sys.stderr, flush=True)


def growth(samples: list[dict], key: str, warm: int) -> dict[str, float]:
    """A quantity at the end of the warm-up, at the end and at its post-warm-up maximum, with growth in %,
    and its least-squares slope per 10,000 steps after the warm-up."""
    base, after = samples[warm][key], samples[warm:]
    top, end = max(s[key] for s in after), after[-1][key]
    steps = [s["step"] for s in after]
    mean_step, mean_value = sum(steps) / len(after), sum(s[key] for s in after) / len(after)
    spread = sum((x - mean_step) ** 2 for x in steps)
    slope = sum((s["step"] - mean_step) * (s[key] - mean_value) for s in after) / spread if spread else 0.0
    return {"warmup": base, "end": end, "max": top, "max_growth_pct": round(100 * (top / base - 1), 2),
            "end_growth_pct": round(100 * (end / base - 1), 2), "slope_per_10k_steps": round(slope * 10_000, 4)}


def summarize(samples: list[dict], warmup: float, tolerance: float, keep_last: int) -> dict[str, Any]:
    """Growth of RSS and open files after the warm-up, the run directory's bounds, and the verdicts."""
    total = samples[-1]["step"]
    warm = next(i for i, s in enumerate(samples) if s["step"] >= warmup * total)
    rss, fds = growth(samples, "rss_mb", warm), growth(samples, "open_files", warm)
    step_files = max(s["step_files"] for s in samples)
    checkpoint_files = max(s["checkpoint_files"] for s in samples)
    first, last = samples[warm], samples[-1]
    others = (last["run_dir_bytes"] - last["checkpoint_bytes"]) - (first["run_dir_bytes"] - first["checkpoint_bytes"])
    return {
        "warmup_step": first["step"], "rss_mb": rss, "open_files": fds,
        "run_dir": {"bytes_end": last["run_dir_bytes"], "files_end": last["run_dir_files"],
                    "checkpoint_bytes_max": max(s["checkpoint_bytes"] for s in samples),
                    "checkpoint_files_max": checkpoint_files, "step_files_max": step_files, "keep_last": keep_last,
                    "log_and_samples_bytes_per_10k_steps": round(others / max(1, total - first["step"]) * 10_000)},
        "verdict": {"rss_within_tolerance": rss["max_growth_pct"] <= 100 * tolerance,
                    "open_files_within_tolerance": fds["max_growth_pct"] <= 100 * tolerance,
                    "checkpoints_bounded_by_keep_last": step_files <= keep_last and checkpoint_files <= keep_last + 2},
    }


def machine(device: Any) -> dict[str, Any]:
    """The machine: CPU model, cores, torch threads and versions (``ganzoo.bench``'s description) and load."""
    from ganzoo.bench.runner import describe_machine
    from ganzoo.fastpath import physical_cores

    return {**describe_machine(device), "physical_cores": physical_cores(), "load_average_1m": os.getloadavg()[0]}


def markdown(report: dict) -> str:
    """The report as Markdown: the verdicts, the figures, and the samples at every tenth of the run."""
    s, m, p = report["summary"], report["machine"], report["protocol"]
    rss, fds, rd = s["rss_mb"], s["open_files"], s["run_dir"]
    ok = {True: "yes", False: "**no**"}
    lines = [
        f"# Soak: {p['experiment']} for {report['steps_reached']:,} steps on {m['device']}", "",
        f"`{report['command']}` at {report['time']}", "",
        *([] if report["complete"] else [f"**Partial**: stopped by signal {report['stopped_by']} at step "
                                         f"{report['steps_reached']:,} of {p['steps']:,}.", ""]),
        f"Machine: {m['processor']}, {m['physical_cores']} physical cores ({m['cpu_count']} logical), "
        f"torch {m['torch']} with {m['torch_threads']} threads, Python {m['python']}; 1-minute load average at the "
        f"end: {m['load_average_1m']:.1f}. Wall time {report['wall_s'] / 60:.1f} min "
        f"({report['steps_reached'] / report['wall_s']:.0f} steps/s with evaluations and checkpoints).", "",
        f"Protocol: evaluation every {p['eval_every']:,} steps, checkpoint every {p['checkpoint_every']:,}, "
        f"keep_last {p['keep_last']}, a sample at every log step ({p['log_every']}); warm-up {p['warmup']:.0%} "
        f"(to step {s['warmup_step']:,}); tolerance {p['tolerance']:.0%}.", "",
        "| quantity | end of warm-up | end | max after warm-up | max growth | end growth | slope per 10k steps |",
        "|---|---|---|---|---|---|---|",
        f"| RSS (MiB) | {rss['warmup']:.1f} | {rss['end']:.1f} | {rss['max']:.1f} | {rss['max_growth_pct']:+.2f}% | "
        f"{rss['end_growth_pct']:+.2f}% | {rss['slope_per_10k_steps']:+.2f} MiB |",
        f"| open files | {fds['warmup']} | {fds['end']} | {fds['max']} | {fds['max_growth_pct']:+.2f}% | "
        f"{fds['end_growth_pct']:+.2f}% | {fds['slope_per_10k_steps']:+.2f} |", "",
        f"Run directory at the end: {rd['bytes_end'] / 2**20:.2f} MiB in {rd['files_end']} files; checkpoints/ "
        f"held at most {rd['checkpoint_files_max']} files ({rd['step_files_max']} step file(s), keep_last "
        f"{rd['keep_last']}; {rd['checkpoint_bytes_max'] / 2**20:.2f} MiB at most). metrics.jsonl and samples/ "
        f"grew by {rd['log_and_samples_bytes_per_10k_steps'] / 1024:.0f} KiB per 10,000 steps, by design.", "",
        f"- RSS within {p['tolerance']:.0%} after warm-up: {ok[s['verdict']['rss_within_tolerance']]}",
        f"- open files within {p['tolerance']:.0%} after warm-up: {ok[s['verdict']['open_files_within_tolerance']]}",
        f"- checkpoints bounded by keep_last: {ok[s['verdict']['checkpoints_bounded_by_keep_last']]}", "",
        "| step | elapsed s | RSS MiB | open files | run dir MiB | run dir files | checkpoint files |",
        "|---|---|---|---|---|---|---|",
    ]
    samples = report["samples"]
    for i in sorted({round(k * (len(samples) - 1) / 10) for k in range(11)}):
        x = samples[i]
        lines.append(f"| {x['step']:,} | {x['elapsed_s']:.0f} | {x['rss_mb']:.1f} | {x['open_files']} | "
                     f"{x['run_dir_bytes'] / 2**20:.2f} | {x['run_dir_files']} | {x['checkpoint_files']} |")
    return "\n".join(lines) + "\n"


def to_json(report: dict) -> str:
    """The report as indented JSON with one line per sample."""
    head = json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=1)
    rows = ",\n".join("  " + json.dumps(s) for s in report["samples"])
    return head[: -len("\n}")] + f',\n "samples": [\n{rows}\n ]\n}}\n'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiment", default="gan-ring8", help="experiment to soak (default: gan-ring8)")
    p.add_argument("--steps", type=int, default=50_000, help="training steps (default: 50,000)")
    p.add_argument("--eval-every", type=int, default=1000, help="steps between evaluations (default: 1,000)")
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints (default: 500)")
    p.add_argument("--warmup", type=float, default=0.1, help="share of the steps before the baseline (default: 0.1)")
    p.add_argument("--tolerance", type=float, default=0.05, help="allowed growth after warm-up (default: 0.05)")
    p.add_argument("--device", default="cpu", help="auto | cpu | cuda | cuda:N (default: cpu)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override (repeatable), e.g. --set train.log_every=50")
    p.add_argument("--run-dir", default=None, help="keep the run here (default: a temporary directory, removed)")
    p.add_argument("--out", default=str(RESULTS / "soak-cpu.json"), help="JSON file to write (Markdown beside it)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the soak and write its report; exit 1 when a bound is exceeded, 2 on bad input."""
    import torch

    from ganzoo.api import train
    from ganzoo.device import resolve_device
    from ganzoo.engine import Engine
    from ganzoo.errors import GanzooError
    from ganzoo.signals import Aborted

    args = parse_args(argv)
    if not Path("/proc/self/status").is_file():
        print("soak: error: needs /proc (Linux) to read memory and open files", file=sys.stderr)
        return 2
    if args.steps < 10 or not 0 <= args.warmup < 1 or args.tolerance < 0:
        print("soak: error: --steps must be at least 10, --warmup in [0, 1), --tolerance 0 or more", file=sys.stderr)
        return 2
    overrides = [f"eval.every={args.eval_every}", f"train.checkpoint_every={args.checkpoint_every}", *args.overrides]
    probe = Probe(max(1, args.steps // 10))
    with tempfile.TemporaryDirectory(prefix="ganzoo-soak-") as scratch:
        run_dir = Path(args.run_dir) if args.run_dir else Path(scratch) / "run"
        try:
            device = resolve_device(args.device)
            started = time.perf_counter()
            run = train(args.experiment, steps=args.steps, overrides=overrides, device=device, out=run_dir,
                        progress=False, engine=Engine(extra_plugins=[probe]))
        except GanzooError as exc:
            print(f"soak: error: {exc}", file=sys.stderr)
            return 2
        except Aborted as exc:
            print(f"soak: aborted by a second signal {exc.signum}; no report written", file=sys.stderr)
            return 128 + exc.signum
        wall = time.perf_counter() - started
    if not probe.samples:
        print("soak: error: the run ended before its first logging step; raise --steps", file=sys.stderr)
        return 2
    train_config = run.config["train"]
    report = {
        "benchmark": "soak", "command": " ".join(["uv run python benchmarks/soak.py", *(argv or sys.argv[1:])]),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(device),
        "protocol": {"experiment": args.experiment, "steps": args.steps, "eval_every": args.eval_every,
                     "checkpoint_every": args.checkpoint_every, "log_every": train_config["log_every"],
                     "sample_every": train_config["sample_every"], "keep_last": train_config["keep_last"],
                     "warmup": args.warmup, "tolerance": args.tolerance, "overrides": overrides,
                     "torch_threads": torch.get_num_threads()},
        "complete": run.complete, "stopped_by": run.stopped_by, "steps_reached": run.step, "wall_s": round(wall, 1),
        "final_eval": {m: r["values"] for m, r in run.results.items()},
        "summary": summarize(probe.samples, args.warmup, args.tolerance, train_config["keep_last"]),
        "samples": probe.samples,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_json(report), encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return 0 if all(report["summary"]["verdict"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
