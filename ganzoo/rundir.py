"""Run directories: chosen and checked before anything is written, then laid out in one place."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ganzoo.config import to_yaml
from ganzoo.errors import RunDirError


def plan_run_dir(out: str | None, experiment: str) -> Path:
    """The run directory to use; refuses one that holds another run or cannot be written."""
    if out:
        path = Path(out).expanduser()
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = Path("runs") / f"{experiment}-{stamp}"
        suffix = 2
        while path.exists():
            path = Path("runs") / f"{experiment}-{stamp}-{suffix}"
            suffix += 1
    if path.exists():
        if not path.is_dir():
            raise RunDirError(f"--out {path} is a file, not a directory; choose another --out")
        if any(path.iterdir()):
            held = "a run" if (path / "config.yaml").exists() else "other files"
            raise RunDirError(f"--out {path} already holds {held}; choose another --out (or resume with --resume {path})")
    ancestor = path
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise RunDirError(f"--out {path}: {ancestor} is not writable; choose another --out")
    return path


def create_run_dir(path: Path, config: dict) -> None:
    """Make the run directory with its config.yaml and empty samples/ and checkpoints/."""
    text = to_yaml(config)
    try:
        (path / "samples").mkdir(parents=True, exist_ok=True)
        (path / "checkpoints").mkdir(exist_ok=True)
        (path / "config.yaml").write_text(text, encoding="utf-8")
    except OSError as exc:
        raise RunDirError(f"cannot write run directory {path}: {exc.strerror or exc}; choose another --out") from None
