"""SIGTERM / SIGINT stop after the current step with a checkpoint; a second signal aborts at once.

SIGTERM goes to a real training subprocess; SIGINT is raised in-process by an observer plugin at a
chosen step (the same handler, without paying for another interpreter start).
"""

from __future__ import annotations

import os
import signal

from reliability import (  # noqa: F401 - one_thread is an autouse fixture
    TINY, bitwise_equal, cli, events, one_thread, spawn, state, training_state, uninterrupted_run,
    wait_for_step)

from ganzoo import hookimpl
from ganzoo.commands import run as run_module
from ganzoo.engine import Engine

STEPS = 60
RUN = ["run", "gan-ring8", "--steps", str(STEPS), *TINY, "--set", "train.checkpoint_every=25",
       "--set", "train.log_every=1", "--set", "train.keep_last=1"]


reference = uninterrupted_run(RUN)


def interrupt(argv: list[str], run_dir, at: int, sig: int) -> tuple[int, str]:
    """Start a run, send ``sig`` once it has logged step ``at``; (exit code, stderr)."""
    proc = spawn(argv)
    assert wait_for_step(proc, run_dir, at) >= at, proc.communicate()[1]
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


class SendSignal:
    """An observer plugin that sends a signal to its own process at one step (``times`` times)."""

    def __init__(self, step: int, times: int) -> None:
        self.step, self.times = step, times

    @hookimpl
    def ganzoo_step_end(self, run, step, logs):
        """At the chosen step, Ctrl-C."""
        if step == self.step:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)


def test_sigterm_then_sigint_then_resume_is_bitwise_identical(reference, tmp_path, monkeypatch):
    run = tmp_path / "run"
    code, stderr = interrupt([*RUN, "--out", str(run)], run, 12, signal.SIGTERM)
    assert code == 143, stderr
    assert f"resume with: ganzoo run --resume {run}" in stderr and "Traceback" not in stderr
    first = state(run / "checkpoints" / "last.pt")["step"]
    assert first >= 12 and first == events(run, ("train",))[-1]["step"]
    with monkeypatch.context() as patch:
        patch.setattr(run_module, "load_engine", lambda: Engine(extra_plugins=[SendSignal(first + 15, 1)]))
        code, _, stderr = cli(["run", "--resume", str(run), "--no-progress"])
    assert code == 130 and "stopped by SIGINT at step" in stderr, stderr
    assert state(run / "checkpoints" / "last.pt")["step"] == first + 15
    code, _, stderr = cli(["run", "--resume", str(run), "--no-progress"])
    assert code == 0, stderr
    assert bitwise_equal(training_state(state(reference / "checkpoints" / "last.pt")),
                         training_state(state(run / "checkpoints" / "last.pt"))) == []
    assert events(run) == events(reference)
    assert [e["step"] for e in events(run, ("resume",))] == [first, first + 15]


def test_a_second_sigint_aborts_at_once_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    run = tmp_path / "run"
    monkeypatch.setattr(run_module, "load_engine", lambda: Engine(extra_plugins=[SendSignal(30, 2)]))
    before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN under a background job
    code, _, stderr = cli([*RUN, "--out", str(run)])
    assert code == 130 and "aborted by SIGINT" in stderr and "the last checkpoint is intact" in stderr, stderr
    assert state(run / "checkpoints" / "last.pt")["step"] == 25
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.pt", "step_000025.pt"]
    assert signal.getsignal(signal.SIGINT) is before, "the run restores the handler it found"
