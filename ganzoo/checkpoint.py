"""Checkpoints: atomic writes (temporary file, fsync, rename), step files with keep_last, safe loads.

A run's ``checkpoints/`` holds ``step_NNNNNN.pt`` files (the newest ``keep_last``), ``last.pt``
(a hard link to, or copy of, the newest step file) and ``best.pt`` (by the primary metric).
Every file is replaced atomically: a failed or aborted write leaves the previous one intact.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

from ganzoo.errors import CheckpointError, RunDirError

STEP_FILE = re.compile(r"^step_(\d{6,})\.pt$")


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint that asks to import code: never loaded, never skipped silently."""


def atomic_save(obj: Any, path: Path) -> None:
    """Write ``obj`` with torch.save so that ``path`` is either the old file or the complete new one."""
    path = Path(path)
    _atomic_write(path, lambda fh: torch.save(obj, fh))


def atomic_write_bytes(data: bytes, path: Path) -> None:
    """Write ``data`` to ``path`` atomically (for config.yaml and metrics.jsonl rewrites)."""
    _atomic_write(Path(path), lambda fh: fh.write(data))


def atomic_copy(src: Path, dst: Path) -> None:
    """Make ``dst`` hold ``src``'s bytes atomically: a hard link where possible, else a copy."""
    src, dst = Path(src), Path(dst)
    tmp = dst.parent / f".{dst.name}.{os.getpid()}.link"
    try:
        tmp.unlink(missing_ok=True)
        os.link(src, tmp)
    except OSError:
        tmp.unlink(missing_ok=True)
        with open(src, "rb") as fh:
            _atomic_write(dst, lambda out: shutil.copyfileobj(fh, out))
        return
    _replace(tmp, dst)


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _write_error(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _replace(Path(tmp), path)


def _replace(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _write_error(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _write_error(path: Path, exc: OSError) -> RunDirError:
    return RunDirError(f"could not write {path}: {exc.strerror or exc}; the previous version is intact")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def step_files(directory: Path) -> list[tuple[int, Path]]:
    """The step-numbered checkpoints in ``directory``, oldest first."""
    if not Path(directory).is_dir():
        return []
    found = [(int(m.group(1)), p) for p in Path(directory).iterdir() if (m := STEP_FILE.match(p.name))]
    return sorted(found)


def save_step(state: dict, directory: Path, step: int, keep_last: int) -> Path:
    """Write ``step_<step>.pt``, point ``last.pt`` at it and keep only the newest ``keep_last`` step files."""
    directory = Path(directory)
    path = directory / f"step_{step:06d}.pt"
    atomic_save(state, path)
    atomic_copy(path, directory / "last.pt")
    for _, old in step_files(directory)[:-keep_last]:
        old.unlink(missing_ok=True)
    return path


def drop_after(directory: Path, step: int) -> None:
    """Remove step files past ``step`` (a future the resumed or rolled-back run will rewrite)."""
    for s, path in step_files(directory):
        if s > step:
            path.unlink(missing_ok=True)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; anything else is refused with a clear error."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train first with 'ganzoo run' or pass another run directory")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "GLOBAL" in text:
            unsafe = next(line.strip() for line in text.splitlines() if "GLOBAL" in line)
            raise UnsafeCheckpointError(
                f"refusing to load {path}: it asks to import code, which a weights file never needs "
                f"({unsafe[:160]}); delete it and use a checkpoint you made"
            ) from None
        raise CheckpointError(f"checkpoint {path} is corrupt or not a weights file; use an earlier checkpoint") from None
    except (RuntimeError, EOFError, OSError, ValueError, IndexError) as exc:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated ({type(exc).__name__}); use an earlier checkpoint") from None
    if not isinstance(state, dict) or "generator" not in state:
        raise CheckpointError(f"{path} is not a ganzoo checkpoint")
    return state


def latest_checkpoint(directory: Path, warn: Callable[[str], None]) -> tuple[dict, Path] | None:
    """The newest loadable checkpoint (last.pt, then step files newest first), or None when there is none.

    Corrupt files are skipped with a warning; a file that asks to import code stops everything.
    """
    directory = Path(directory)
    candidates = [directory / "last.pt"] + [p for _, p in reversed(step_files(directory))]
    for path in candidates:
        if not path.is_file():
            continue
        try:
            return load_checkpoint(path), path
        except UnsafeCheckpointError:
            raise
        except CheckpointError as exc:
            warn(f"{exc}; trying an earlier one")
    return None
