"""The built wheel works installed into a fresh environment, with no checkout beside it.

The sdist is built once and the wheel from it; the wheel is installed with uv into a new virtual
environment (at exactly the versions of this test environment, from uv's cache where it holds them, so
nothing is downloaded then) and ganzoo is run from a directory outside the checkout.
"""

from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import ganzoo
from conftest import ROOT, TINY_RING

UV = shutil.which("uv")
pytestmark = pytest.mark.skipif(UV is None, reason="uv is not on PATH; it builds the wheel and the fresh environment")

#: Variables that would point the fresh environment back at this checkout or its virtual environment, and one
#: that would make every process compile torch from source again (a user's Python caches bytecode).
DROPPED_VARS = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "CONDA_PREFIX",
         "PYTHONDONTWRITEBYTECODE"}
#: Beside the wheel's own requirements: ganzoo.testing is a pytest plugin, so its users have pytest.
TEST_KIT = ["pytest"]


def uv(*args: str, cwd: Path | None = None, offline_fallback: bool = False) -> None:
    """Run ``uv ARGS``; a failure shows uv's own output. With ``offline_fallback``, an ``--offline`` command that
    failed only for want of cached index data runs again online (a cache filled by ``uv sync`` from the lock
    file holds the wheels but not the index pages an unlocked ``uv pip install`` reads)."""
    result = subprocess.run([UV, *args], capture_output=True, text=True, cwd=cwd, env=clean_env(), timeout=300)
    if offline_fallback and result.returncode != 0 and "network was disabled" in result.stderr:
        return uv(*(a for a in args if a != "--offline"), cwd=cwd)
    assert result.returncode == 0, f"uv {' '.join(args)}:\n{result.stdout}{result.stderr}"


def clean_env(venv: Path | None = None) -> dict[str, str]:
    """This process's environment without a trace of the checkout; with ``venv``, as if it were activated."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_VARS}
    env["GANZOO_OFFLINE"] = "1"
    paths = [p for p in env.get("PATH", "").split(os.pathsep) if p and not Path(p).is_relative_to(ROOT)]
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        paths.insert(0, str(scripts(venv)))
    env["PATH"] = os.pathsep.join(paths)
    return env


def scripts(venv: Path) -> Path:
    """The directory of a virtual environment's executables."""
    return venv / ("Scripts" if os.name == "nt" else "bin")


def wheel_requirements(wheel: Path) -> list[str]:
    """The Requires-Dist lines of a built wheel."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(archive.read(name)).get_all("Requires-Dist") or []


def installed_pins(requirements: list[str]) -> dict[str, str]:
    """Name -> version in this environment for everything ``requirements`` pull in, transitively."""
    pins: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if (req.marker and not req.marker.evaluate({"extra": extra})) or key in seen:
            continue
        seen.add(key)
        dist = metadata.distribution(req.name)
        pins[key[0]] = dist.version
        todo += [(Requirement(r), e) for r in dist.requires or [] for e in ("", *req.extras)]
    return pins


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """This checkout's sdist, and the wheel built from that sdist (so the sdist must hold what the wheel needs)."""
    out = tmp_path_factory.mktemp("dist")
    # hatchling comes from this (dev) environment, so the build needs no index either.
    uv("build", "--offline", "--no-build-isolation", "--python", sys.executable, "-o", str(out), cwd=ROOT)
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh virtual environment holding the built wheel, and pytest."""
    work = tmp_path_factory.mktemp("wheel")
    (wheel,) = dist.glob("ganzoo-*.whl")
    pins = installed_pins(wheel_requirements(wheel) + TEST_KIT)
    constraints = work / "constraints.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
    env = work / "venv"
    uv("venv", "--quiet", "--python", sys.executable, str(env))
    python = str(scripts(env) / "python")
    # uv resolves offline only from metadata it holds: install the pinned set as is, then resolve the wheel against it.
    uv("pip", "install", "--quiet", "--offline", "--python", python, "--no-deps", "-r", str(constraints),
       offline_fallback=True)
    uv("pip", "install", "--quiet", "--offline", "--python", python, "-c", str(constraints), str(wheel),
       offline_fallback=True)
    return env


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    """A working directory outside the checkout."""
    return tmp_path_factory.mktemp("elsewhere")


def ganzoo_in(venv: Path, cwd: Path, *args: str) -> str:
    """Run the venv's ``ganzoo ARGS`` from ``cwd``; return its stdout, failing with its stderr."""
    result = subprocess.run([str(scripts(venv) / "ganzoo"), *args], capture_output=True, text=True, cwd=cwd,
                            env=clean_env(venv), timeout=300)
    assert result.returncode == 0, f"ganzoo {' '.join(args)}:\n{result.stderr}"
    return result.stdout


def test_sdist_holds_the_project_and_no_local_caches(dist):
    (sdist,) = dist.glob("ganzoo-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"registry.yaml", "plugins/__init__.py", "plugins/core.py", "ganzoo/templates/plugin/module.py.tmpl",
            "benchmarks/smoke.yaml", "tests/test_wheel.py", "uv.lock"} <= names
    assert not any(name.startswith((".hypothesis/", "runs/", ".venv/")) or "__pycache__" in name for name in names)


def test_version_and_list(venv, elsewhere):
    assert ganzoo_in(venv, elsewhere, "--version").split()[-1] == ganzoo.__version__
    listing = ganzoo_in(venv, elsewhere, "list")
    assert "gan-ring8" in listing and "cgan-mnist" in listing


def test_show_reads_the_packaged_registry(venv, elsewhere):
    config = yaml.safe_load(ganzoo_in(venv, elsewhere, "show", "cgan-mnist"))
    assert config["network"]["name"] == "cgan" and config["dataset"]["name"] == "mnist"


def test_builtins_load_from_the_wheel(venv, elsewhere):
    rows = json.loads(ganzoo_in(venv, elsewhere, "plugins", "--json"))
    names = {ep.name for ep in metadata.distribution("ganzoo").entry_points if ep.group == "ganzoo"}
    assert {(r["name"], r["source"], r["status"]) for r in rows} == {(n, "built-in", "loaded") for n in names}
    where = subprocess.run([str(scripts(venv) / "python"), "-c", "import ganzoo, ganzoo.testing, ganzoo_plugins.core; "
                            "print(ganzoo.__file__); print(ganzoo_plugins.core.registry_file())"],
                           capture_output=True, text=True, cwd=elsewhere, env=clean_env(venv), timeout=300)
    assert where.returncode == 0, where.stderr
    assert all(Path(line).is_relative_to(venv) for line in where.stdout.split()), where.stdout


def test_run_writes_a_complete_run_directory(venv, elsewhere):
    out = elsewhere / "run"
    ganzoo_in(venv, elsewhere, "run", "gan-ring8", "--steps", "20", "--device", "cpu", "--out", str(out),
              "--no-progress", "--set", "train.log_every=10", "--set", "train.sample_every=20", *TINY_RING)
    for name in ("config.yaml", "metrics.jsonl", "samples/final.png", "checkpoints/last.pt", "eval.json"):
        assert (out / name).is_file(), name
