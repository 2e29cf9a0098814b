"""Shared fixtures: an engine with the built-ins, and a tiny, fast gan-ring8 config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganzoo.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
#: Overrides that make gan-ring8 train in well under a second.
TINY_RING = ["--set", "dataset.n=2000", "--set", "network.hidden=32", "--set", "network.d_hidden=32",
             "--set", "train.batch_size=32", "--set", "eval.n=200", "--set", "sample.n=200"]


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
