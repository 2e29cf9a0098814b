"""Running a suite: every (variant, seed) trained through the normal run path, evaluated under the pinned protocol.

Each run lives in DIR/runs/<variant>-s<seed>/ and gets a record in DIR/results.json as soon as it ends.
A re-run skips runs with an ok record, resumes a half-finished run from its checkpoint, and retries a
failed one from scratch. A run that fails is recorded with its error and the suite goes on.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import signal
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import torch

from ganzoo.bench.live import SuiteView
from ganzoo.bench.results import find_record, format_value, put_record, read_curve, write_results
from ganzoo.bench.suite import Suite, Variant, config_hash
from ganzoo.errors import GanzooError

#: The "signal" a run's wall-clock budget sends to the training loop.
TIME_UP = int(signal.SIGALRM)


class SuiteInterrupted(Exception):
    """SIGINT/SIGTERM stopped the suite after the current run wrote a checkpoint."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def run_name(variant: Variant, seed: int) -> str:
    """The directory name of one run: <variant>-s<seed>."""
    return f"{variant.name}-s{seed}"


def describe_machine(device: torch.device) -> dict:
    """The machine the numbers were taken on."""
    info = {"platform": platform.platform(), "processor": _cpu_name(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "device": str(device), "torch": str(torch.__version__),
            "python": platform.python_version()}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_suite(engine: Any, suite: Suite, data: dict, out: Path, device: torch.device, data_root: Path,
              view: SuiteView) -> dict:
    """Run every (variant, seed) not yet done, writing results.json after each; returns the results."""
    out = Path(out)
    write_results(data, out)
    for variant, seed in pending_runs(suite, data, out, view):
        name = run_name(variant, seed)
        run_dir = out / "runs" / name
        started = time.perf_counter()
        try:
            record = train_and_evaluate(engine, suite, variant, seed, run_dir, device, data_root, view)
        except SuiteInterrupted:
            raise
        except Exception as exc:  # a failing run is recorded and the suite goes on
            record = failed_record(variant, seed, device, exc, time.perf_counter() - started)
        put_record(data, record)
        write_results(data, out)
        view.finished(name, record["status"], summary_note(record, suite.goals))
    return data


def pending_runs(suite: Suite, data: dict, out: Path, view: SuiteView) -> list[tuple[Variant, int]]:
    """The runs still to do, in suite order: finished ones are shown as done, failed ones cleared for a retry."""
    todo = []
    for variant, seed in suite.runs():
        name = run_name(variant, seed)
        earlier = find_record(data, name)
        if earlier is not None and earlier.get("status") == "ok":
            view.finished(name, "ok", summary_note(earlier, suite.goals), earlier=True)
            continue
        run_dir = out / "runs" / name
        if earlier is not None and run_dir.exists():
            shutil.rmtree(run_dir)  # a failed run is retried from scratch
        todo.append((variant, seed))
    return todo


def summary_note(record: dict, goals: dict[str, dict[str, str]]) -> str:
    """A short description of a record for the live view: the first metric's outputs that have a goal."""
    if record.get("status") != "ok":
        return str(record.get("error", ""))[:120]
    metric, result = next(iter(record["metrics"].items()), ("", {"values": {}}))
    values = {k: v for k, v in result["values"].items() if k in goals.get(metric, {})} or result["values"]
    shown = ", ".join(f"{k}={format_value(v)}" for k, v in list(values.items())[:3])
    return f"{shown} ({record['train_time_s']:.0f} s training, {record['steps']} steps)"


def failed_record(variant: Variant, seed: int, device: torch.device, exc: Exception, wall: float) -> dict:
    """The record of a run that raised: its error on one line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    error = text if isinstance(exc, GanzooError) else f"{type(exc).__name__}: {text}".rstrip(": ")
    return {"run": run_name(variant, seed), "variant": variant.name, "experiment": variant.experiment,
            "overrides": variant.overrides, "seed": seed, "config_hash": config_hash(variant.config),
            "device": str(device), "status": "failed", "error": error, "wall_time_s": round(wall, 3),
            "finished": _now()}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def prepare(engine: Any, variant: Variant, seed: int, run_dir: Path, device: torch.device,
            data_root: Path) -> Any:
    """A trainer for the run (``ganzoo.api``): reopened from its directory when it has a config, else started."""
    from ganzoo import api

    common = {"device": device, "data_root": data_root, "progress": False, "engine": engine, "echo": _warnings_only}
    if (run_dir / "config.yaml").is_file():
        return api.reopen(run_dir, **common)
    if run_dir.exists():
        shutil.rmtree(run_dir)  # created but never configured: nothing to keep
    return api.start(variant.experiment, overrides=variant.run_overrides(seed), out=run_dir, **common)


def _warnings_only(text: str) -> None:
    """The live view shows each run's start; the library's warnings still reach stderr."""
    if text.startswith("warning: "):
        print(f"ganzoo: {text}", file=sys.stderr, flush=True)


def train_and_evaluate(engine: Any, suite: Suite, variant: Variant, seed: int, run_dir: Path, device: torch.device,
                       data_root: Path, view: SuiteView, stop: Callable[[], int | None] | None = None) -> dict:
    """Train one run to its budget (continuing a half-finished one), evaluate it and return its record.

    ``stop``, polled every step, returns a signal number to stop training after a checkpoint (the run is then
    interrupted, as by SIGINT/SIGTERM), or None to go on.
    """
    from ganzoo.data import user_cache_dir
    from ganzoo.lifecycle import train_to_end
    from ganzoo.metrics.evaluate import evaluate_run

    name = run_name(variant, seed)
    started = time.perf_counter()
    trainer = prepare(engine, variant, seed, run_dir, device, data_root)
    try:
        _, before, _ = read_curve(run_dir, trainer.images_per_step)
        view.running(name, trainer.step, trainer.total_steps)
        clock = time.perf_counter()

        def out_of_time() -> int | None:
            view.progress(name, trainer.step)
            requested = stop() if stop is not None else None
            if requested is not None:
                return requested
            if suite.seconds is not None and before + time.perf_counter() - clock >= suite.seconds:
                return TIME_UP
            return None

        if trainer.step < trainer.total_steps and (suite.seconds is None or before < suite.seconds):
            stopped_by = train_to_end(trainer, out_of_time).stopped_by
            if stopped_by not in (None, TIME_UP):
                raise SuiteInterrupted(stopped_by)
    finally:
        trainer.writer.release()  # the run's lock; train_to_end released it already when it trained
    if not (run_dir / "samples" / "final.png").is_file():
        trainer.write_samples("final")
    view.progress(name, trainer.step)
    metrics = evaluate_run(engine, run_dir, variant.metrics, suite.eval["n"], suite.eval["seed"], suite.eval["split"],
                           device, data_root, user_cache_dir())
    return ok_record(variant, seed, trainer, metrics, device, time.perf_counter() - started)


def ok_record(variant: Variant, seed: int, trainer: Any, metrics: dict, device: torch.device, wall: float) -> dict:
    """The record of a finished run: identity, versions, timings, final metrics with protocols, curve, samples."""
    points, seconds, logged = read_curve(trainer.run_dir, trainer.images_per_step)
    final = {f"{m}.{k}": v for m, r in metrics.items() for k, v in r["values"].items()}
    curve = [p for p in points if p["step"] < trainer.step]
    curve.append({"step": trainer.step, "train_time_s": round(seconds, 3), "values": final})
    run = trainer.config.get("run") or {}
    return {"run": run_name(variant, seed), "variant": variant.name, "experiment": variant.experiment,
            "overrides": variant.overrides, "seed": seed, "config_hash": config_hash(trainer.config),
            "device": str(device), "versions": run.get("versions"), "status": "ok", "error": None,
            "steps": trainer.step, "budget_stop": "seconds" if trainer.step < trainer.total_steps else "steps",
            "resumes": len(run.get("resumes") or []), "train_time_s": round(seconds, 3),
            "wall_time_s": round(wall, 3),
            "images_per_s": round(logged * trainer.images_per_step / seconds, 1) if seconds > 0 else None,
            "metrics": metrics, "curve": curve, "samples": f"runs/{trainer.run_dir.name}/samples/final.png",
            "finished": _now()}
