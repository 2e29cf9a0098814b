"""One run of a suite in a process of its own: what ``ganzoo bench --jobs N`` and ``--executor`` start per run.

The job is a plain dict (``job_spec``): the suite file and the command-line options that shaped it, the
suite's fingerprint, the run (variant, seed) and where to write it. ``run_job`` reloads the suite,
checks that it is the one the parent ran (the fingerprint), trains and evaluates the run through
``ganzoo.bench.runner.train_and_evaluate`` exactly as a sequential suite does, and returns its
outcome: ``{"record": ...}`` (finished or failed, as results.json stores it), ``{"interrupted": SIGNUM}``
(stopped after a checkpoint; nothing to record) or ``{"error": ...}`` (the suite could not be loaded).

    python -m ganzoo.bench.worker JOB.json RESULT.json
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

Outcome = dict[str, Any]


def job_spec(args: Any, suite: Any, variant: str, seed: int, out: Path, data_root: Path,
             threads: int | None, watch_parent: bool) -> dict:
    """The job of one run, as plain JSON: ``args`` are the bench command's parsed options."""
    return {"suite": str(Path(args.suite).resolve()), "seeds": args.seeds, "device": args.device,
            "overrides": list(args.overrides or []), "steps": args.steps, "fingerprint": suite.fingerprint(),
            "variant": variant, "seed": seed, "out": str(Path(out).resolve()),
            "data_root": str(Path(data_root).resolve()), "threads": threads,
            "parent_pid": os.getpid() if watch_parent else None}


def parent_gone(parent_pid: int | None) -> Callable[[], int | None]:
    """A stop check for the training loop: SIGTERM once the process that started this one has ended (so a
    killed ``ganzoo bench`` leaves no run training on without it, and its lock is freed after a checkpoint)."""

    def check() -> int | None:
        return int(signal.SIGTERM) if parent_pid is not None and os.getppid() != parent_pid else None

    return check


def run_job(spec: dict) -> Outcome:
    """Train and evaluate one run of a suite in this process; its outcome (see the module's docstring)."""
    if spec.get("threads"):
        os.environ["OMP_NUM_THREADS"] = str(spec["threads"])  # read by the trainer (fastpath.default_threads)
    from rich.console import Console

    from ganzoo.bench.live import SuiteView
    from ganzoo.bench.runner import SuiteInterrupted, failed_record, run_name, train_and_evaluate
    from ganzoo.bench.suite import load_suite
    from ganzoo.device import resolve_device
    from ganzoo.engine import Engine
    from ganzoo.errors import GanzooError

    try:
        engine = Engine()
        suite = load_suite(engine, Path(spec["suite"]), spec["seeds"], spec["device"], spec["overrides"],
                           spec["steps"])
        if suite.fingerprint() != spec["fingerprint"]:
            raise GanzooError(f"{spec['suite']} changed while the suite ran; re-run the suite")
        variant = next(v for v in suite.variants if v.name == spec["variant"])
        device = resolve_device(suite.device)
    except (GanzooError, StopIteration) as exc:
        return {"error": str(exc).splitlines()[0] if str(exc) else f"variant {spec['variant']!r} is not in the suite"}
    name = run_name(variant, spec["seed"])
    run_dir = Path(spec["out"]) / "runs" / name
    view = SuiteView(name, [name], Console(quiet=True), live=False)  # the parent shows the live table
    started = time.perf_counter()
    try:
        record = train_and_evaluate(engine, suite, variant, spec["seed"], run_dir, device, Path(spec["data_root"]),
                                    view, stop=parent_gone(spec.get("parent_pid")))
    except SuiteInterrupted as exc:
        return {"interrupted": exc.signum}
    except Exception as exc:  # a failing run is recorded, as in a sequential suite
        record = failed_record(variant, spec["seed"], device, exc, time.perf_counter() - started)
    return {"record": record}


def main(argv: list[str]) -> int:
    """Run the job in ``argv[0]`` and write its outcome to ``argv[1]``; 128 + signal when it was interrupted."""
    from ganzoo.checkpoint import atomic_write_bytes

    job, result = Path(argv[0]), Path(argv[1])
    try:
        outcome = run_job(json.loads(job.read_text(encoding="utf-8")))
    except KeyboardInterrupt:
        outcome = {"interrupted": int(signal.SIGINT)}
    atomic_write_bytes((json.dumps(outcome, indent=1) + "\n").encode("utf-8"), result)
    return 128 + outcome["interrupted"] if "interrupted" in outcome else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
