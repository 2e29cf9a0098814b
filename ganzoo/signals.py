"""Graceful interruption: the first SIGINT/SIGTERM stops training after the current step; a second aborts."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Aborted(BaseException):
    """A second signal: leave at once (atomic writes keep the last checkpoint intact).

    ``run_dir`` names the run it interrupted, once the training loop's caller has added it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.run_dir: Path | None = None


class GracefulStop:
    """Context manager that turns SIGINT/SIGTERM into a request (``signum``) the training loop polls."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "GracefulStop":
        if threading.current_thread() is threading.main_thread():
            for sig in HANDLED:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def requested(self) -> int | None:
        """The signal that asked training to stop, or None."""
        return self.signum

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            raise Aborted(signum)
        self.signum = signum
        print(f"ganzoo: {signal.Signals(signum).name} received: finishing this step and writing a checkpoint "
              "(send it again to abort at once)", file=sys.stderr, flush=True)


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(signum)
