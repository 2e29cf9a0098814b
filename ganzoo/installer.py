"""Install and uninstall plugin distributions into the environment ganzoo is running in.

The installer is ``uv pip ... --python sys.executable`` when uv is available (it is what
``uv run`` uses), else ``sys.executable -m pip``. Commands are argument lists, never shell
strings, and every requirement is checked before anything runs, so a name can never be
read as an installer option.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ganzoo.errors import GanzooError


class InstallError(GanzooError):
    """A requirement that cannot be installed or uninstalled, or an installer that failed."""




@dataclass(frozen=True)
class Installer:
    """One way of installing into this interpreter's environment."""

    name: str  # "uv" or "pip"
    base: tuple[str, ...]

    def install_command(self, requirements: list[str], editables: list[str], upgrade: bool,
                        extra: list[str]) -> list[str]:
        """The argument list that installs requirements and editable paths."""
        cmd = [*self.base, "install"]
        if self.name == "uv":
            cmd += ["--python", sys.executable]
        if upgrade:
            cmd.append("--upgrade")
        for path in editables:
            cmd += ["--editable", path]
        return cmd + list(extra) + list(requirements)

    def uninstall_command(self, names: list[str], extra: list[str]) -> list[str]:
        """The argument list that removes distributions without asking again."""
        cmd = [*self.base, "uninstall"]
        cmd += ["--python", sys.executable] if self.name == "uv" else ["--yes"]
        return cmd + list(extra) + list(names)


def find_installer() -> Installer:
    """uv when it is on hand (``$UV`` under ``uv run``, else on PATH), else this interpreter's pip."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv and Path(uv).is_file():
        return Installer("uv", (uv, "pip"))
    try:
        import pip  # noqa: F401 - only checking it is there
    except ImportError:
        raise InstallError(
            f"neither uv nor pip is available for {sys.executable}; install uv (https://docs.astral.sh/uv/) "
            "or run 'python -m ensurepip'"
        ) from None
    return Installer("pip", (sys.executable, "-m", "pip"))


def under_uv_project() -> bool:
    """True when this environment is a uv project's .venv (its next 'uv sync' removes hand-installed packages)."""
    return (Path(sys.prefix).parent / "uv.lock").is_file() or "UV_RUN_RECURSION_DEPTH" in os.environ


def check_requirement(text: str) -> str:
    """A requirement (``name``, ``name>=1.0``, ``name[extra]``, a URL or a local path) or a clear error."""
    if not text or text.startswith("-"):
        raise InstallError(f"{text!r} is not a package name (pass installer options after '--')")
    if Path(text).exists():
        return text
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        raise InstallError(f"{text!r} is not a valid requirement ({exc})".splitlines()[0]) from None
    return text


def check_uninstall_name(text: str) -> str:
    """A distribution name that may be removed: valid, not ganzoo's own dependencies."""
    name = check_requirement(text)
    try:
        canonical = canonicalize_name(Requirement(name).name)
    except InvalidRequirement:
        raise InstallError(f"{text!r}: uninstall takes distribution names, not paths or URLs") from None
    if canonical in ganzoo_requirements():
        raise InstallError(f"refusing to uninstall {canonical!r}: ganzoo needs it to run")
    return name


def ganzoo_requirements() -> set[str]:
    """ganzoo and the distributions it requires (extras aside): never uninstalled through ganzoo."""
    needed = {"ganzoo"}
    for text in distribution("ganzoo").requires or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            needed.add(canonicalize_name(requirement.name))
    return needed


def installed_version(name: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return distribution(name).version
    except PackageNotFoundError:
        return None


def run(cmd: list[str]) -> None:
    """Run an installer command, its output going straight to the terminal; failure is an InstallError."""
    try:
        code = subprocess.run(cmd, check=False).returncode
    except OSError as exc:
        raise InstallError(f"cannot run {cmd[0]}: {exc.strerror or exc}") from None
    if code != 0:
        raise InstallError(f"the installer failed (exit status {code}); see its output above")
