"""The live view of a suite: which runs are done, running and queued (rich), or one line per run."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live
from rich.table import Table


@dataclass
class RunRow:
    """What the view shows of one run."""

    name: str
    status: str = "queued"  # queued | running | ok | failed
    step: int = 0
    total: int = 0
    started: float = 0.0
    note: str = ""


STYLES = {"queued": "dim", "running": "bold yellow", "ok": "green", "failed": "bold red"}


class SuiteView:
    """A rich live table of the suite's runs when ``live``; otherwise a line on stderr as each run ends."""

    def __init__(self, title: str, runs: list[str], console: Console, live: bool = True) -> None:
        self.title, self.console = title, console
        self.rows = {name: RunRow(name) for name in runs}
        self._live = Live(console=console, refresh_per_second=4, get_renderable=self.table) if live else None
        self._finished = 0

    def __enter__(self) -> "SuiteView":
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def table(self) -> Table:
        """The current state as a rich table."""
        counts = {s: sum(r.status == s for r in self.rows.values()) for s in STYLES}
        caption = ", ".join(f"{counts[s]} {s}" for s in ("ok", "failed", "running", "queued") if counts[s])
        table = Table(title=self.title, caption=caption, title_justify="left")
        for column in ("run", "status", "step", "time", "result"):
            table.add_column(column, justify="right" if column in ("step", "time") else "left")
        for row in self.rows.values():
            elapsed = f"{time.perf_counter() - row.started:.0f} s" if row.status == "running" else ""
            step = f"{row.step}/{row.total}" if row.total else ""
            table.add_row(row.name, f"[{STYLES[row.status]}]{row.status}[/]", step, elapsed, row.note)
        return table

    def running(self, name: str, step: int, total: int, note: str = "") -> None:
        """A run starts (or resumes) at ``step`` of ``total``; ``note`` says where (e.g. "on GPU 1")."""
        row = self.rows[name]
        row.status, row.step, row.total, row.started = "running", step, total, time.perf_counter()
        row.note = note

    def progress(self, name: str, step: int) -> None:
        """A run reached ``step``."""
        self.rows[name].step = step

    def finished(self, name: str, status: str, note: str, earlier: bool = False) -> None:
        """A run ended (``earlier``: it had ended in a previous invocation)."""
        row = self.rows[name]
        row.status, row.note = status, note + (" (earlier)" if earlier else "")
        self._finished += 1
        if self._live is None:
            self.console.print(f"[{self._finished}/{len(self.rows)}] {name}: {status} {row.note}", highlight=False,
                               markup=False)
