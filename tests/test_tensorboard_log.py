"""The built-in tensorboard_log plugin: off by default; asked for without TensorBoard, one clear line.

The "not installed" case is made real for each test by making ``torch.utils.tensorboard``
unimportable (``None`` in sys.modules), whatever the environment holds; the CLI runs in-process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ganzoo.cli import main

TINY = ["--steps", "2", "--device", "cpu", "--no-progress", "--set", "dataset.n=500", "--set", "network.hidden=8",
        "--set", "network.d_hidden=8", "--set", "train.batch_size=16", "--set", "eval.n=100", "--set", "sample.n=16"]


@pytest.fixture(autouse=True)
def no_tensorboard(monkeypatch):
    """TensorBoard cannot be imported during these tests."""
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    monkeypatch.setenv("GANZOO_OFFLINE", "1")


def run(tmp_path: Path, *extra: str) -> int:
    """Train gan-ring8 two steps into tmp_path/run; the exit status."""
    return main(["run", "gan-ring8", *TINY, "--out", str(tmp_path / "run"), *extra])


def test_off_by_default(tmp_path):
    """Without the flag nothing is imported or written, even where TensorBoard cannot be imported."""
    assert run(tmp_path) == 0
    assert (tmp_path / "run" / "metrics.jsonl").is_file()
    assert not (tmp_path / "run" / "tensorboard").exists()


@pytest.mark.parametrize("switch", [["--tensorboard"], ["--set", "logging.tensorboard=true"]])
def test_asked_for_but_missing_is_one_clear_line(tmp_path, capsys, switch):
    """The flag or the config key turns it on; missing TensorBoard is exit 2 with how to install it."""
    assert run(tmp_path, *switch) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("ganzoo: error: logging.tensorboard is on but TensorBoard is not installed")
    assert "uv sync --extra tensorboard" in lines[-1] and "Traceback" not in err
