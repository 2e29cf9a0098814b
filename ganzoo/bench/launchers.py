"""Where the runs of a parallel suite execute: a process per run on this machine, or a job per run through submitit.

A launcher starts one job (``ganzoo.bench.worker``) in a slot and hands back a handle the suite polls:
``poll()`` is None while the job runs, then its outcome; ``stop(signum)`` asks it to stop after a
checkpoint; ``kill()`` ends it at once. ``plan_slots`` divides this machine among the jobs: one
CUDA device each (its own ``CUDA_VISIBLE_DEVICES``), or an equal share of the CPU threads
(``OMP_NUM_THREADS``, read by each run's trainer).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from ganzoo.config import parse_yaml_value
from ganzoo.errors import GanzooError

#: What ``--executor`` accepts: a Slurm cluster, or submitit's local executor (the same path, on this machine).
EXECUTORS = ("slurm", "local")
#: A job without a result file that ended on its own is recorded with this much of its log.
LOG_TAIL_LINES = 3


class Handle(Protocol):
    """A started job."""

    def poll(self) -> dict | None:
        """None while the job runs; then its outcome (``ganzoo.bench.worker``), or {"lost": why} without one."""

    def stop(self, signum: int) -> None:
        """Ask the job to stop after a checkpoint."""

    def kill(self) -> None:
        """End the job at once."""

    def finish(self) -> None:
        """Clean up after the job's outcome was read (its log stays)."""


@dataclass(frozen=True)
class Slot:
    """A share of this machine for one job: ``env`` for its process, the GPU or thread count it stands for."""

    label: str
    env: dict[str, str] = field(default_factory=dict)
    gpu: str | None = None
    threads: int | None = None


def visible_gpus() -> list[str]:
    """The CUDA devices this process may hand out: the entries of CUDA_VISIBLE_DEVICES, else 0..count-1."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip()]
    return [str(i) for i in range(torch.cuda.device_count())]


def plan_slots(device: torch.device, jobs: int) -> list[Slot]:
    """``jobs`` slots on this machine: one GPU each on CUDA, else the CPU threads split evenly (at least one)."""
    from ganzoo.fastpath import default_threads

    if jobs < 1:
        raise GanzooError(f"--jobs must be at least 1, got {jobs}")
    if device.type == "cuda":
        if device.index is not None and jobs > 1:
            raise GanzooError(f"--jobs {jobs} puts one run on each GPU; use --device cuda (or auto), not {device}")
        gpus = visible_gpus()
        if jobs > len(gpus):
            raise GanzooError(f"--jobs {jobs} puts one run on each GPU, but {len(gpus)} GPU(s) are visible; "
                              f"use --jobs {len(gpus)} or fewer")
        return [Slot(f"GPU {gpu}", {"CUDA_VISIBLE_DEVICES": gpu}, gpu=gpu) for gpu in gpus[:jobs]]
    if device.type != "cpu" and jobs > 1:
        raise GanzooError(f"--jobs {jobs} runs on the CPU or one run per CUDA GPU; {device.type} has one device, "
                          "use --jobs 1")
    threads = max(1, default_threads() // jobs)
    label = f"{threads} thread{'s' if threads > 1 else ''}"
    return [Slot(label, {"OMP_NUM_THREADS": str(threads)}, threads=threads) for _ in range(jobs)]


class ProcessHandle:
    """A job in a child process of its own session (so a terminal's Ctrl-C reaches the suite, which passes it on once)."""

    def __init__(self, spec: dict, slot: Slot, folder: Path) -> None:
        name = f"{spec['variant']}-s{spec['seed']}"
        self.job, self.result, self.log = folder / f"{name}.job.json", folder / f"{name}.result.json", folder / f"{name}.log"
        folder.mkdir(parents=True, exist_ok=True)
        self.result.unlink(missing_ok=True)
        self.job.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
        with self.log.open("w", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ganzoo.bench.worker", str(self.job), str(self.result)],
                env={**os.environ, **slot.env}, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def poll(self) -> dict | None:
        """None while the process runs; then the outcome it wrote, or why there is none."""
        code = self.process.poll()
        if code is None:
            return None
        try:
            return json.loads(self.result.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"lost": f"its process ended with exit code {code} without a result ({log_tail(self.log)})"}

    def stop(self, signum: int) -> None:
        """Pass a stop signal on (the run checkpoints and ends)."""
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL the process and wait for it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def finish(self) -> None:
        """Remove the job's files but its log."""
        for path in (self.job, self.result):
            path.unlink(missing_ok=True)


def log_tail(path: Path) -> str:
    """The last lines of a job's log on one line, and where the log is."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        lines = []
    tail = " | ".join(lines[-LOG_TAIL_LINES:])
    return f"log {path}" + (f": {tail}" if tail else "")


class ProcessLauncher:
    """One child process per run on this machine (``--jobs N``): ``python -m ganzoo.bench.worker``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def start(self, spec: dict, slot: Slot) -> ProcessHandle:
        """Start the run of ``spec`` in ``slot``."""
        return ProcessHandle(spec, slot, self.folder)


def executor_options(texts: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` texts (values read as YAML scalars) as submitit parameters."""
    options = {}
    for text in texts:
        key, sep, raw = text.partition("=")
        if not sep or not key.strip():
            raise GanzooError(f"bad --executor-option {text!r}: use KEY=VALUE (e.g. slurm_partition=gpu)")
        options[key.strip()] = parse_yaml_value(raw, f"bad --executor-option {text!r}")
    return options


class SubmititHandle:
    """A submitit job."""

    def __init__(self, job: Any) -> None:
        self.job = job

    def poll(self) -> dict | None:
        """None while the job is pending or running; then its outcome, or submitit's reason there is none."""
        if not self.job.done():
            return None
        try:
            return self.job.result()
        except Exception as exc:  # submitit's FailedJobError / UncompletedJobError: say why, in one line
            text = str(exc).strip().splitlines()
            return {"lost": f"submitit job {self.job.job_id} ended without a result "
                            f"({text[0] if text else type(exc).__name__}; log {self.job.paths.stderr})"}

    def stop(self, signum: int) -> None:
        """Cancel the job (scancel on Slurm; the local executor interrupts it)."""
        self.job.cancel(check=False)

    def kill(self) -> None:
        """Cancel the job."""
        self.job.cancel(check=False)

    def finish(self) -> None:
        """Nothing to remove: submitit keeps its folder (logs, pickled job and result)."""


def require_submitit(kind: str) -> None:
    """A one-line error when submitit is not installed."""
    try:
        import submitit  # noqa: F401
    except ImportError:
        raise GanzooError(f"--executor {kind} needs submitit: install ganzoo's slurm extra "
                          "(uv sync --extra slurm, or pip install 'ganzoo[slurm]')") from None


class SubmititLauncher:
    """One submitit job per run: on a Slurm cluster (``--executor slurm``) or on this machine (``local``).

    Defaults, each overridable with ``--executor-option KEY=VALUE``: a time limit of twice the suite's
    seconds budget plus 30 minutes (a day without one); on CUDA one GPU per job.
    """

    def __init__(self, kind: str, folder: Path, device: str, seconds: float | None, options: dict[str, Any]) -> None:
        require_submitit(kind)
        import submitit

        self.kind = kind
        self.executor = (submitit.AutoExecutor(folder=str(folder), cluster="slurm") if kind == "slurm"
                         else submitit.LocalExecutor(folder=str(folder)))
        minutes = math.ceil(2 * seconds / 60) + 30 if seconds else 24 * 60
        self.parameters: dict[str, Any] = {"timeout_min": minutes}
        if kind == "slurm":
            self.parameters["name"] = "ganzoo-bench"
            if device.startswith("cuda"):
                self.parameters["gpus_per_node"] = 1
        self.parameters.update(options)
        self.cuda = device.startswith("cuda")
        try:
            self.executor.update_parameters(**self.parameters)
        except (ValueError, TypeError) as exc:
            raise GanzooError(f"--executor {kind}: {str(exc).splitlines()[0]}") from None

    def start(self, spec: dict, slot: Slot) -> SubmititHandle:
        """Submit the run of ``spec`` (locally on CUDA: on the slot's GPU)."""
        if self.kind == "local" and self.cuda and slot.gpu is not None and slot.gpu.isdigit():
            self.executor.update_parameters(gpus_per_node=1, visible_gpus=[int(slot.gpu)])
        from ganzoo.bench.worker import run_job

        try:
            return SubmititHandle(self.executor.submit(run_job, spec))
        except Exception as exc:  # sbatch missing or refusing: one line, before anything else is submitted
            raise GanzooError(f"--executor {self.kind}: cannot submit ({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__})") from None


@dataclass(frozen=True)
class ParallelPlan:
    """Where a parallel suite's runs go: a slot per run at once, and the launcher, made once ``--out`` is locked."""

    slots: list[Slot]
    executor: str | None
    device: str
    seconds: float | None
    options: dict[str, Any]

    def launcher(self, folder: Path) -> "ProcessLauncher | SubmititLauncher":
        """The launcher, its files under ``folder``."""
        if self.executor is None:
            return ProcessLauncher(folder)
        return SubmititLauncher(self.executor, folder / "submitit", self.device, self.seconds, self.options)


def plan_parallel(executor: str | None, jobs: int, device: torch.device, seconds: float | None,
                  option_texts: list[str], runs: int) -> ParallelPlan:
    """Check the parallel options before anything is written: ``jobs`` slots on this machine (``plan_slots``), or
    on Slurm ``jobs`` at once (all ``runs`` when 1); submitit present for an executor; options of KEY=VALUE form."""
    if executor is not None and executor not in EXECUTORS:
        raise GanzooError(f"unknown --executor {executor!r}; use {' or '.join(EXECUTORS)}")
    options = executor_options(option_texts)
    if option_texts and executor is None:
        raise GanzooError("--executor-option needs --executor slurm or local")
    if executor is not None:
        require_submitit(executor)
    if jobs < 1:
        raise GanzooError(f"--jobs must be at least 1, got {jobs}")
    slots = [Slot("slurm")] * (jobs if jobs > 1 else max(1, runs)) if executor == "slurm" else plan_slots(device, jobs)
    return ParallelPlan(slots, executor, str(device), seconds, options)
