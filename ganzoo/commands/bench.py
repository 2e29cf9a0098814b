"""``ganzoo bench``: run a benchmark suite (resumable), or compare two suites' results."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo.commands.common import add_override_argument, err, load_engine, out
from ganzoo.errors import GanzooError

if TYPE_CHECKING:
    import torch

    from ganzoo.bench.launchers import ParallelPlan, Slot
    from ganzoo.bench.live import SuiteView
    from ganzoo.bench.suite import Suite, Variant


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``bench``."""
    bench = sub.add_parser(
        "bench", help="run a benchmark suite, or compare two results.json files",
        description="ganzoo bench SUITE.yaml [--seeds N] [--device D] [--out DIR]  |  "
                    "ganzoo bench compare A/results.json B/results.json")
    bench.add_argument("suite", metavar="SUITE.yaml|compare", help="suite file, or 'compare'")
    bench.add_argument("files", nargs="*", metavar="RESULTS.json", help="with compare: baseline A, then B")
    bench.add_argument("--seeds", type=int, help="run seeds 0..N-1 (default: the suite's seeds)")
    bench.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps (default: the suite's device)")
    bench.add_argument("--out", help="output directory; re-running with it continues the suite "
                                     "(default: runs/bench-<suite name>)")
    bench.add_argument("--steps", type=int, help="training steps per run (replaces the suite's budget.steps)")
    add_override_argument(bench)
    bench.add_argument("--data-root", help="data directory (default: $GANZOO_DATA, else the user cache)")
    bench.add_argument("--no-progress", action="store_true", help="one line per finished run instead of a live table")
    bench.add_argument("--dry-run", action="store_true",
                       help="check the suite, its data and --out, list what each run would do; train nothing")
    bench.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="runs at once, each in its own process: one per GPU on CUDA, the CPU threads split "
                            "between them on the CPU (default 1: one after another, in this process)")
    bench.add_argument("--executor", choices=("slurm", "local"),
                       help="submit each run as a job through submitit (needs ganzoo[slurm]): to Slurm, or to "
                            "submitit's local executor; --jobs caps the jobs at once (on Slurm by default: all)")
    bench.add_argument("--executor-option", action="append", default=[], metavar="KEY=VALUE",
                       help="a submitit parameter, e.g. slurm_partition=gpu or timeout_min=90 (repeatable)")
    bench.set_defaults(handler=bench_command)


def bench_command(args: argparse.Namespace) -> int:
    """Dispatch to compare or to running a suite."""
    if args.suite == "compare":
        if len(args.files) != 2:
            raise GanzooError("usage: ganzoo bench compare A/results.json B/results.json")
        return compare_command(Path(args.files[0]), Path(args.files[1]))
    if args.files:
        raise GanzooError(f"unexpected arguments {' '.join(args.files)}; usage: ganzoo bench SUITE.yaml [--out DIR]")
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Check everything (suite, plugins, metrics, data, output directory), then run, report and plot."""
    from ganzoo.bench.launchers import plan_parallel
    from ganzoo.bench.live import SuiteView
    from ganzoo.bench.plots import write_plots
    from ganzoo.bench.report import write_report
    from ganzoo.bench.results import open_results
    from ganzoo.bench.runner import SuiteInterrupted, run_name, run_suite
    from ganzoo.bench.suite import check_fit, load_suite
    from ganzoo.data import default_data_root
    from ganzoo.device import resolve_device
    from ganzoo.runlock import acquire
    from ganzoo.signals import Aborted, exit_code

    engine = load_engine()
    suite = load_suite(engine, Path(args.suite), args.seeds, args.device, args.overrides, args.steps)
    device = submit_device(suite.device) if args.executor == "slurm" else resolve_device(suite.device)
    data_root = default_data_root(args.data_root)
    check_fit(engine, suite, data_root)
    parallel = args.jobs != 1 or args.executor is not None
    plan = (plan_parallel(args.executor, args.jobs, device, suite.seconds, args.executor_option, len(suite.runs()))
            if parallel else None)
    target = Path(args.out) if args.out else Path("runs") / f"bench-{suite.name}"
    defaults = {v.name: v.defaults for v in suite.variants}
    data = open_results(target, suite.describe(), machine(device, plan), defaults)
    names = [run_name(v, s) for v, s in suite.runs()]
    if args.dry_run:
        for name in names:
            out.print(f"{name}: {plan_of(data, target, name)}", highlight=False)
        return 0
    with acquire(target, create=True, instead="choose another --out"):
        data = open_results(target, suite.describe(), machine(device, plan), defaults)  # again, now that no one else writes
        err.print(f"suite [bold]{suite.name}[/]: {len(suite.variants)} variants x {len(suite.seeds)} seeds on {device} "
                  f"-> {target}", highlight=False)
        again = f"re-run the same command to continue: ganzoo {' '.join(sys.argv[1:]) or 'bench ...'}"
        try:
            live = not args.no_progress and err.is_terminal
            with SuiteView(f"ganzoo bench {suite.name}", names, err, live=live) as view:
                if plan is not None:
                    run_parallel(args, plan, suite, data, target, device, data_root, view)
                else:
                    run_suite(engine, suite, data, target, device, data_root, view)
        except SuiteInterrupted as exc:
            current = "the runs in progress have checkpoints" if parallel else "the current one has a checkpoint"
            err.print(f"stopped by {signal.Signals(exc.signum).name}; finished runs are recorded, {current}; "
                      f"{again}", highlight=False, markup=False)
            return exit_code(exc.signum)
        except Aborted as exc:
            err.print(f"aborted by {signal.Signals(exc.signum).name}; {again}", highlight=False, markup=False)
            return exit_code(exc.signum)
        plots = write_plots(data, target)
        report = write_report(data, target, plots)
    failed = [r["run"] for r in data["runs"] if r.get("status") == "failed"]
    out.print(f"results: {target / 'results.json'}\nreport:  {report}", highlight=False)
    if failed:
        err.print(f"{len(failed)} run(s) failed: {', '.join(failed)} (errors in results.json and the report)",
                  highlight=False)
        return 1
    return 0


def submit_device(name: str) -> "torch.device":
    """The device runs submitted to a cluster will use: checked here when this machine has it, else taken as
    named (a login node need not have the compute nodes' GPUs)."""
    import torch

    from ganzoo.device import DEVICE_PATTERN, resolve_device

    try:
        return resolve_device(name)
    except GanzooError:
        if not DEVICE_PATTERN.match(name or ""):
            raise
        return torch.device(name)


def machine(device: "torch.device", plan: "ParallelPlan | None") -> dict:
    """results.json's machine block: this machine (for Slurm: the submitting host), and for a parallel suite the
    runs at once, where they run and the threads each has."""
    import torch

    from ganzoo.bench.runner import describe_machine

    if plan is None:
        return describe_machine(device)
    info = describe_machine(torch.device("cpu") if plan.executor == "slurm" else device)
    info.update(device=str(device), jobs=len(plan.slots), executor=plan.executor or "processes")
    if plan.slots[0].threads:
        info["torch_threads"] = plan.slots[0].threads
    return info


def run_parallel(args: argparse.Namespace, plan: "ParallelPlan", suite: "Suite", data: dict, target: Path,
                 device: "torch.device", data_root: Path, view: "SuiteView") -> dict:
    """Run the suite with runs at once as ``plan`` says, each in a process (or submitit job) of its own."""
    from ganzoo.bench.parallel import job_launcher, run_suite_parallel
    from ganzoo.bench.worker import job_spec

    launcher = plan.launcher(target / ".jobs")
    watch = plan.executor is None  # a local child stops when this process is gone; a cluster job does not

    def spec_of(variant: "Variant", seed: int, slot: "Slot") -> dict:
        return job_spec(args, suite, variant.name, seed, target, data_root, slot.threads, watch_parent=watch)

    return run_suite_parallel(suite, data, target, device, view, job_launcher(launcher, spec_of), plan.slots)


def plan_of(data: dict, target: Path, name: str) -> str:
    """What running the suite would do with one run: skip it, resume it, retry it or start it."""
    from ganzoo.bench.results import find_record

    record = find_record(data, name)
    if record is not None:
        return "done" if record.get("status") == "ok" else "retry (failed before)"
    return "resume from its checkpoint" if (target / "runs" / name / "config.yaml").is_file() else "start"


def compare_command(path_a: Path, path_b: Path) -> int:
    """Print, per variant and metric output, A's and B's means, B - A, and whether it exceeds the seed spread."""
    from rich.table import Table

    from ganzoo.bench.compare import compare
    from ganzoo.bench.results import format_value, read_results

    a, b = read_results(path_a), read_results(path_b)
    rows = compare(a, b)
    if not rows:
        raise GanzooError(f"{path_a} and {path_b} share no variant with finished runs and the same metric; "
                          "nothing to compare")
    table = Table(title=f"B = {path_b} vs A = {path_a}", title_justify="left")
    for column in ("variant", "metric", "A mean", "B mean", "B - A", "seed spread", "exceeds", "verdict"):
        table.add_column(column, justify="right" if "mean" in column or column in ("B - A", "seed spread") else "left")
    for row in rows:
        exceeds = {True: "yes", False: "no", None: "—"}[row.exceeds]
        spread = format_value(row.spread) if row.spread is not None else "—"
        table.add_row(row.variant, row.key, format_value(row.mean_a), format_value(row.mean_b),
                      f"{row.difference:+.4g}", spread, exceeds, row.verdict)
    out.print(table)
    out.print("seed spread = std(A) + std(B) over seeds; a difference that exceeds it is flagged 'yes'.",
              highlight=False)
    return 0
