"""User-facing errors: each carries one line that says what is wrong and what to do."""

from __future__ import annotations

import shlex
from pathlib import Path


def resume_command(run_dir: str | Path) -> str:
    """The command that continues the run in ``run_dir`` (its path shell-quoted), for errors that say how to go on."""
    return f"ganzoo run --resume {shlex.quote(str(run_dir))}"


class GanzooError(Exception):
    """An error caused by the user's input; the CLI prints it on one line and exits 2."""

    exit_code = 2


class ConfigError(GanzooError):
    """A bad experiment config, override or registry file."""


class UnknownNameError(GanzooError):
    """A name (experiment, component, metric) that nothing registered."""


class PluginError(GanzooError):
    """A plugin that failed to load, raised in a hook or clashed with another."""


class DataError(GanzooError):
    """A data set that cannot be found, read or downloaded."""


class RunDirError(GanzooError):
    """A run directory that cannot be written, or holds something unexpected."""


class CheckpointError(GanzooError):
    """A checkpoint that is missing, corrupt or unsafe to load."""


class OutOfMemoryError(GanzooError):
    """A run whose batch or networks do not fit the device's memory."""
