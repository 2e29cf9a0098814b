"""Running a suite's runs concurrently (``ganzoo bench --jobs N``, ``--executor slurm|local``).

Each run trains in a process (or cluster job) of its own through ``ganzoo.bench.worker``, the same
``train_and_evaluate`` a sequential suite calls, so its record is the one a sequential suite would
write (on the CPU with the same threads, the same metrics bit for bit). What stays with this process:
which runs to start (finished ones are skipped, failed ones retried from scratch, half-finished ones
resume in their worker), a slot per running run, results.json written after each record (records in
the suite's order), and the live table, fed from each run's metrics.jsonl. The first SIGINT/SIGTERM
is passed on to every running run, which checkpoints and stops; nothing new starts, and the suite
ends as a sequential one does (re-running the command continues it). A second one kills them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import torch

from ganzoo.bench.launchers import Handle, Slot
from ganzoo.bench.live import SuiteView
from ganzoo.bench.results import put_record, write_results
from ganzoo.bench.runner import SuiteInterrupted, failed_record, pending_runs, run_name, summary_note
from ganzoo.bench.suite import Suite, Variant
from ganzoo.errors import GanzooError
from ganzoo.signals import GracefulStop

#: Seconds between two looks at the running jobs.
POLL_S = 0.25
#: Bytes read from the end of a run's metrics.jsonl for the live table.
TAIL_BYTES = 8192

Launch = Callable[[Variant, int, Slot], Handle]


def last_logged_step(run_dir: Path) -> int:
    """The step of the last 'train' event in a run's metrics.jsonl (0 before the first), read from its end."""
    log = Path(run_dir) / "metrics.jsonl"
    try:
        with log.open("rb") as fh:
            fh.seek(max(0, log.stat().st_size - TAIL_BYTES))
            lines = fh.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return 0
    for line in reversed(lines):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "train" and isinstance(event.get("step"), int):
            return event["step"]
    return 0


def run_suite_parallel(suite: Suite, data: dict, out: Path, device: torch.device, view: SuiteView,
                       launch: Launch, slots: list[Slot]) -> dict:
    """Run every (variant, seed) not yet done, one per slot at a time, writing results.json after each record."""
    out = Path(out)
    write_results(data, out)
    order = {run_name(v, s): i for i, (v, s) in enumerate(suite.runs())}
    queue = pending_runs(suite, data, out, view)
    free = list(range(len(slots)))
    running: dict[str, tuple[Handle, int, Variant, int, float]] = {}
    stopped_by: int | None = None
    passed_on = False
    with GracefulStop() as stop:
        try:
            while running or (queue and (stop.requested() or stopped_by) is None):
                requested = stop.requested() or stopped_by
                while requested is None and queue and free:
                    variant, seed = queue.pop(0)
                    index = free.pop(0)
                    name = run_name(variant, seed)
                    running[name] = (launch(variant, seed, slots[index]), index, variant, seed, time.perf_counter())
                    view.running(name, last_logged_step(out / "runs" / name), int(variant.config["train"]["steps"]),
                                 note=f"on {slots[index].label}")
                for name, (handle, index, variant, seed, started) in list(running.items()):
                    outcome = handle.poll()
                    if outcome is None:
                        view.progress(name, last_logged_step(out / "runs" / name))
                        continue
                    del running[name]
                    free.append(index)
                    handle.finish()
                    if "interrupted" in outcome:
                        stopped_by = stopped_by or int(outcome["interrupted"])
                        continue
                    if (stop.requested() or stopped_by) is not None and "record" not in outcome:
                        continue  # stopped on our request before it could say more: it resumes next time
                    record = outcome.get("record") or failed_record(
                        variant, seed, device, GanzooError(outcome.get("error") or outcome.get("lost", "no outcome")),
                        time.perf_counter() - started)
                    put_record(data, record)
                    data["runs"].sort(key=lambda r: order.get(r.get("run"), len(order)))
                    write_results(data, out)
                    view.finished(name, record["status"], summary_note(record, suite.goals))
                requested = stop.requested() or stopped_by
                if requested is not None and not passed_on:
                    for handle, *_ in running.values():
                        handle.stop(requested)
                    passed_on = True
                if running:
                    time.sleep(POLL_S)
        except BaseException:
            for handle, *_ in running.values():
                handle.kill()
            raise
    requested = stop.requested() or stopped_by
    if requested is not None:
        raise SuiteInterrupted(requested)
    return data


def job_launcher(launcher: Any, spec_of: Callable[[Variant, int, Slot], dict]) -> Launch:
    """A Launch that starts ``spec_of(variant, seed, slot)`` with ``launcher`` in that slot."""
    return lambda variant, seed, slot: launcher.start(spec_of(variant, seed, slot), slot)
