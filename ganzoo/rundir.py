"""Run directories: chosen and checked before anything is written, then laid out in one place."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from ganzoo.checkpoint import atomic_write_bytes
from ganzoo.config import to_yaml
from ganzoo.errors import RunDirError
from ganzoo.runlock import acquire, is_lock_file


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
        if any(not is_lock_file(p) for p in path.iterdir()):
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
    except OSError as exc:
        raise RunDirError(f"cannot write run directory {path}: {exc.strerror or exc}; choose another --out") from None
    write_config(path, config, text)


def write_config(path: Path, config: dict, text: str | None = None) -> None:
    """(Re)write the run's config.yaml atomically."""
    atomic_write_bytes((text if text is not None else to_yaml(config)).encode("utf-8"), Path(path) / "config.yaml")


def has_checkpoint(path: Path) -> bool:
    """True when the run directory holds at least one checkpoint file."""
    folder = Path(path) / "checkpoints"
    return folder.is_dir() and any(p.suffix == ".pt" for p in folder.iterdir())


def remove_unstarted(path: Path) -> None:
    """Remove a run directory this command created that never reached a checkpoint (under its lock: one
    another process took over meanwhile is left to it)."""
    if not Path(path).is_dir() or has_checkpoint(path):
        return
    try:
        lock = acquire(path)
    except RunDirError:
        return
    with lock:
        shutil.rmtree(path, ignore_errors=True)


def truncate_log(path: Path, step: int) -> int:
    """Drop metrics.jsonl events past ``step`` and any torn line, so the log continues as one run.

    Returns how many lines were dropped.
    """
    log = Path(path) / "metrics.jsonl"
    if not log.is_file():
        return 0
    kept, dropped = [], 0
    for line in log.read_bytes().decode("utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            dropped += 1
            continue
        if isinstance(event, dict) and isinstance(event.get("step"), int) and event["step"] > step:
            dropped += 1
            continue
        kept.append(line + "\n")
    if dropped:
        atomic_write_bytes("".join(kept).encode("utf-8"), log)
    return dropped
