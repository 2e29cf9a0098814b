"""A rich live progress bar for training: step, ETA, D and G losses, images/s."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class TrainingProgress:
    """Context manager wrapping rich.Progress; silent when disabled."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
            console=Console(stderr=True), disable=not enabled, transient=False,
        )
        self._task = self._progress.add_task("train", total=total, completed=start, status="")

    def __enter__(self) -> "TrainingProgress":
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def update(self, step: int, logs: dict[str, float]) -> None:
        """Show the latest step and logged values."""
        shown = " ".join(f"{k}={v:.3g}" for k, v in logs.items() if k != "images_per_s")
        status = f"{shown} {logs.get('images_per_s', 0):,.0f} img/s"
        self._progress.update(self._task, completed=step, status=status)
