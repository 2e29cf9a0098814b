"""One writer per directory: an OS lock on a run (or suite) directory, held while a process writes it.

``acquire`` takes an advisory lock (``fcntl.flock``; ``msvcrt.locking`` on Windows) on
``DIR/.ganzoo.lock`` and writes ``DIR/.ganzoo.lock.json`` saying who holds it (pid, host, command,
since). ``release()`` removes the info file; the empty lock file stays. The kernel drops the lock
when the process dies, so a killed run leaves no stale lock; the ``.ganzoo.lock.json`` it leaves
behind says nothing once its lock is free. A second writer gets ``RunLockedError`` naming the
holder, before it writes anything. Setting ``GANZOO_NO_LOCK=1`` turns the check off (for file
systems without working locks; see the README).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from ganzoo.errors import RunDirError

LOCK_FILE = ".ganzoo.lock"
INFO_FILE = ".ganzoo.lock.json"
#: The environment variable that turns locking off.
NO_LOCK_ENV = "GANZOO_NO_LOCK"


#: Descriptors of the locks this process holds. A forked child (a DataLoader worker) closes its copies at once,
#: so the lock ends with the process that took it, not with the last of its children.
_HELD: set[int] = set()


def _close_inherited() -> None:
    """In a forked child: close the inherited lock descriptors (the parent's lock stays held)."""
    for fd in _HELD:
        os.close(fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited)


class RunLockedError(RunDirError):
    """Another process writes the directory; the message names it and says what to do."""


class DirectoryLock:
    """This process's exclusive lock on one directory, until ``release()`` (or the process ends)."""

    def __init__(self, directory: Path, fd: int | None) -> None:
        self.directory, self._fd = Path(directory), fd

    def release(self) -> None:
        """Let another process write the directory; calling it again does nothing."""
        if self._fd is None:
            return
        (self.directory / INFO_FILE).unlink(missing_ok=True)
        _unlock(self._fd)
        os.close(self._fd)
        _HELD.discard(self._fd)
        self._fd = None

    def __enter__(self) -> "DirectoryLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_lock_file(path: Path) -> bool:
    """True for the lock's own files (which do not make a directory hold something)."""
    return Path(path).name in (LOCK_FILE, INFO_FILE)


def holder(directory: Path) -> dict[str, Any] | None:
    """What the directory's info file says about the process holding its lock (None when unreadable)."""
    try:
        info = json.loads((Path(directory) / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def acquire(directory: str | Path, *, create: bool = False, instead: str = "") -> DirectoryLock:
    """Lock ``directory`` for this process (``create``: make it first), or raise ``RunLockedError``.

    ``instead`` names another way out for the refusal (e.g. "write the results elsewhere with --out FILE").
    """
    directory = Path(directory)
    if os.environ.get(NO_LOCK_ENV, "") not in ("", "0"):
        return DirectoryLock(directory, None)
    path = directory / LOCK_FILE
    for _ in range(3):  # retried only when the directory is removed or replaced while we wait for its lock
        fd = _open(path, create)
        if not _lock(fd, path):
            os.close(fd)
            raise RunLockedError(_refusal(directory, holder(directory), instead))
        if _same_file(fd, path):
            _HELD.add(fd)
            lock = DirectoryLock(directory, fd)
            try:
                _write_info(directory)
            except BaseException:
                lock.release()
                raise
            return lock
        _unlock(fd)
        os.close(fd)
    raise RunDirError(f"{directory} keeps being removed while ganzoo locks it; stop whatever deletes it and retry")


@contextlib.contextmanager
def waiting_for(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if needed) for the block, waiting while another
    process holds it: one process at a time does a one-time job (e.g. training a cached evaluator) that
    the others then read. Off with ``GANZOO_NO_LOCK=1``."""
    if os.environ.get(NO_LOCK_ENV, "") not in ("", "0"):
        yield
        return
    fd = _open(Path(path), create=True)
    try:
        if os.name == "nt":
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for about 10 s, then raises
                    break
                except OSError:
                    continue
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _open(path: Path, create: bool) -> int:
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        raise RunDirError(f"{path.parent} does not exist (any more); check the path and retry") from None
    except OSError as exc:
        raise RunDirError(f"cannot lock {path.parent}: {exc.strerror or exc}; choose a writable directory") from None


def _lock(fd: int, path: Path) -> bool:
    """Try to lock without waiting: False when another process holds the lock."""
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (BlockingIOError, PermissionError):
        return False
    except OSError as exc:
        os.close(fd)
        raise RunDirError(f"cannot lock {path.parent}: the file system refuses locks ({exc.strerror or exc}); "
                          f"set {NO_LOCK_ENV}=1 to write without the one-writer check") from None
    return True


def _unlock(fd: int) -> None:
    if os.name == "nt":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def _same_file(fd: int, path: Path) -> bool:
    """True when ``path`` is still the file ``fd`` locked (not removed or replaced meanwhile)."""
    try:
        now = os.stat(path)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def _write_info(directory: Path) -> None:
    """The info file, replaced whole (a reader never sees half of it); no torch import for one small file."""
    info = {"pid": os.getpid(), "host": socket.gethostname(), "command": _command(),
            "since": datetime.now().astimezone().isoformat(timespec="seconds")}
    tmp = directory / f"{INFO_FILE}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, directory / INFO_FILE)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RunDirError(f"cannot write {directory / INFO_FILE}: {exc.strerror or exc}; "
                          "choose a writable directory") from None


def _command() -> str:
    """This process's command line, with the program's path shortened to its name."""
    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if prog == "__main__.py":
        prog = f"python -m {Path(sys.argv[0]).parent.name}"
    return " ".join([prog, *(shlex.quote(a) for a in sys.argv[1:])])


def _refusal(directory: Path, info: dict[str, Any] | None, instead: str) -> str:
    if info is None:
        who, stop = "another process (it has not recorded which yet)", "stop it"
    elif info.get("pid") == os.getpid() and info.get("host") == socket.gethostname():
        return (f"{directory} is being written by this process: a trainer from ganzoo.api.start or reopen that has "
                "not trained to its end; finish it with ganzoo.lifecycle.train_to_end or call trainer.writer.release()")
    else:
        pid, host = info.get("pid"), info.get("host")
        command = str(info.get("command", ""))
        command = command if len(command) <= 120 else command[:117] + "..."
        who = f"pid {pid} on {host} since {info.get('since')} ({command})"
        stop = f"stop it (kill {pid}{'' if host == socket.gethostname() else f' on {host}'})"
    other = f", or {instead}" if instead else ""
    return f"{directory} is being written by {who}; wait for it to finish or {stop}{other}"
