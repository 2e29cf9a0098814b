"""Shared helpers for the reliability tests: tiny runs, subprocesses, bitwise state comparison."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganzoo.cli import main

ROOT = Path(__file__).resolve().parent.parent

#: gan-ring8 shrunk so a training subprocess lasts a second or two beyond startup.
TINY = ["--no-progress", "--set", "train.batch_size=32", "--set", "network.hidden=32", "--set", "network.d_hidden=32",
        "--set", "dataset.n=2000", "--set", "eval.n=200", "--set", "sample.n=64", "--set", "train.sample_every=100000"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread, in-process and in subprocesses: fair on a shared 2-core box, and the same
    thread count on both sides of every bitwise comparison."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def cli(argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI in-process; (exit code, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


def spawn(argv: list[str]) -> subprocess.Popen:
    """Start ``python -m ganzoo ARGV`` in its own process group, output captured."""
    env = {**os.environ, "GANZOO_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "ganzoo", *argv], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def logged_step(run_dir: Path) -> int:
    """The last step with a complete 'train' event in metrics.jsonl (0 if none)."""
    log = Path(run_dir) / "metrics.jsonl"
    step = 0
    if log.is_file():
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if event.get("event") == "train":
                    step = event["step"]
    return step


def wait_for_step(proc: subprocess.Popen, run_dir: Path, step: int, timeout: float = 120) -> int:
    """Poll until the run has logged ``step`` (returns the step seen) or the process ended (returns -1)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = logged_step(run_dir)
        if seen >= step:
            return seen
        if proc.poll() is not None:
            return -1
        time.sleep(0.005)
    raise TimeoutError(f"run did not reach step {step}")


def state(path: Path) -> dict:
    """A checkpoint, loaded safely."""
    return torch.load(path, map_location="cpu", weights_only=True)


def bitwise_equal(a: object, b: object, where: str = "") -> list[str]:
    """Paths at which two nested checkpoint structures differ (tensors compared bit for bit)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b), key=str)}"]
        return [d for k in a for d in bitwise_equal(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{where}: lengths {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in bitwise_equal(x, y, f"{where}[{i}]")]
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        same = a.dtype == b.dtype and a.shape == b.shape and torch.equal(_bytes(a), _bytes(b))
        return [] if same else [where]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def _bytes(t: torch.Tensor) -> torch.Tensor:
    return t.detach().cpu().contiguous().reshape(-1).view(torch.uint8)


def training_state(ckpt: dict) -> dict:
    """The parts of a checkpoint that must match an uninterrupted run bit for bit."""
    return {k: ckpt[k] for k in ("step", "generator", "discriminator", "schedule", "data", "rng", "pending", "eval")}


def events(run_dir: Path, kinds: tuple[str, ...] = ("train", "eval")) -> list[dict]:
    """metrics.jsonl events of the given kinds, without timing fields."""
    found = []
    for line in (Path(run_dir) / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["event"] in kinds:
            event.pop("images_per_s", None)
            found.append(event)
    return found


def uninterrupted_run(argv: list[str]):
    """A module-scoped fixture: ``argv`` trained once, uninterrupted and in-process; gives its run dir."""

    @pytest.fixture(scope="module")
    def reference(tmp_path_factory):
        out = tmp_path_factory.mktemp("ref") / "run"
        code, _, stderr = cli([*argv, "--out", str(out)])
        assert code == 0, stderr
        return out

    return reference
