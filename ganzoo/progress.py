"""Training progress: a rich live bar on a terminal; elsewhere (nohup, SLURM, a pipe) a plain line every
``GANZOO_PROGRESS_EVERY`` seconds with the step, losses, images/s, elapsed time and ETA."""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ganzoo.errors import ConfigError

#: The environment variable that sets the seconds between plain progress lines.
EVERY_VARIABLE = "GANZOO_PROGRESS_EVERY"
DEFAULT_EVERY = 30.0


def progress_every() -> float:
    """Seconds between plain progress lines: $GANZOO_PROGRESS_EVERY, else 30 (0: a line at every logged step)."""
    text = os.environ.get(EVERY_VARIABLE, "").strip()
    if not text:
        return DEFAULT_EVERY
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigError(f"{EVERY_VARIABLE}={text!r} is not a number of seconds >= 0; set e.g. {EVERY_VARIABLE}=60")
    return seconds


def duration(seconds: float) -> str:
    """A short duration: 45s, 3m12s, 2h05m."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def status(logs: dict[str, float]) -> str:
    """The logged losses and the training speed: 'd_loss=0.693 g_loss=0.712 1,234 img/s'."""
    shown = " ".join(f"{k}={v:.3g}" for k, v in logs.items() if k != "images_per_s")
    return f"{shown} {logs.get('images_per_s', 0):,.0f} img/s".strip()


class PlainLines:
    """Progress as plain lines on stderr, at most one per ``every`` seconds, and the last state at the end."""

    def __init__(self, total: int, start: int, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.start, self.every, self.clock = total, start, every, clock
        self.began = self.printed_at = clock()
        self.pending: str | None = None

    def line(self, step: int, logs: dict[str, float], now: float) -> str:
        """'step 1200/8000 (15%) d_loss=0.693 g_loss=0.712 1,234 img/s elapsed 1m40s eta 9m26s'."""
        elapsed = now - self.began
        done = step - self.start
        eta = duration((self.total - step) * elapsed / done) if done > 0 else "?"
        return (f"step {step}/{self.total} ({step / max(self.total, 1):.0%}) {status(logs)} "
                f"elapsed {duration(elapsed)} eta {eta}")

    def update(self, step: int, logs: dict[str, float]) -> None:
        """Print the state when ``every`` seconds have passed since the last line; else keep it for the end."""
        now = self.clock()
        self.pending = self.line(step, logs, now)
        if now - self.printed_at >= self.every:
            self.flush()

    def flush(self) -> None:
        """Print the state not printed yet, if any."""
        if self.pending is not None:
            print(self.pending, file=sys.stderr, flush=True)
            self.pending, self.printed_at = None, self.clock()


class TrainingProgress:
    """Context manager the trainer reports to: a rich live bar on a terminal (or in a notebook), plain lines
    (``PlainLines``) when stderr is a file or a pipe, nothing when disabled."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True) -> None:
        console = Console(stderr=True)
        self._lines = None
        if enabled and not (console.is_terminal or console.is_jupyter):
            self._lines = PlainLines(total, start, progress_every())
        self._progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
            console=console, disable=not enabled or self._lines is not None, transient=False,
        )
        self._task = self._progress.add_task("train", total=total, completed=start, status="")

    def __enter__(self) -> "TrainingProgress":
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)
        if self._lines is not None:
            self._lines.flush()

    def update(self, step: int, logs: dict[str, float]) -> None:
        """Show the latest step and logged values."""
        if self._lines is not None:
            self._lines.update(step, logs)
        else:
            self._progress.update(self._task, completed=step, status=status(logs))
