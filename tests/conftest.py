"""Shared fixtures: an engine with the built-ins, and a tiny, fast gan-ring8 config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Cache bytecode, as a user's Python does. Where PYTHONDONTWRITEBYTECODE is set (this machine and CI set
# it, and uv installs without .pyc files), every `python -m ganzoo` subprocess would compile torch,
# torchvision, torch._dynamo, sympy and matplotlib from source again (a 2-step `ganzoo run`: 21 s of CPU
# without .pyc files, 8.5 s with them, on a loaded 2-core box). The first process to import a module now
# writes its .pyc; the rest read it.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
# Under pytest-xdist, each worker (and the runs it starts) gets its share of the cores, so that the workers'
# thread pools do not outnumber the cores and spin against each other.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS",
                          str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

from ganzoo.engine import Engine  # noqa: E402 - after the bytecode switch, so its imports are cached
from ganzoo.plugins import alias_source_builtins  # noqa: E402

# Test modules import ganzoo_plugins.* directly: they must get the checkout's plugins/, not the
# snapshot an editable install keeps in site-packages.
alias_source_builtins()

ROOT = Path(__file__).resolve().parents[1]
#: Overrides that make gan-ring8 train in well under a second.
TINY_RING = ["--set", "dataset.n=2000", "--set", "network.hidden=32", "--set", "network.d_hidden=32",
             "--set", "train.batch_size=32", "--set", "eval.n=200", "--set", "sample.n=200"]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject's addopts): one worker per core, at most 4 and at least 2. The suite is mostly
    subprocess start-up and small one-thread models, so two workers finish it sooner even on 2 cores."""
    return max(2, min(4, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The engine with every installed plugin (built-ins included)."""
    return Engine()


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The offline MNIST root named by GANZOO_DATA; missing data is a failure, not a skip."""
    root = os.environ.get("GANZOO_DATA")
    assert root, "GANZOO_DATA must point at a torchvision data root holding MNIST (CI sets ../shared/data)"
    path = Path(root)
    assert (path / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file(), f"MNIST is missing under {path}"
    return path


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python -m ganzoo ARGS`` in a subprocess, as a user would."""
    full_env = {**os.environ, "GANZOO_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or ROOT, timeout=timeout)
