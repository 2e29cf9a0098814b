"""Checkpoint files: atomic writes under failure, keep_last, best.pt, safe loading, the divergence guard."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import pytest
import torch
from reliability import (  # noqa: F401 - one_thread is an autouse fixture
    TINY, bitwise_equal, cli, events, one_thread, state)

from ganzoo import checkpoint
from ganzoo.best import BestTracker
from ganzoo.checkpoint import UnsafeCheckpointError, atomic_save, load_checkpoint, save_step
from ganzoo.errors import CheckpointError, RunDirError
from ganzoo.signals import Aborted

RUN = ["run", "gan-ring8", *TINY, "--set", "train.checkpoint_every=10", "--set", "train.log_every=5",
       "--set", "eval.every=10", "--set", "train.keep_last=2"]


def leftovers(directory: Path) -> list[str]:
    """Temporary files an interrupted write would leave behind."""
    return [p.name for p in directory.iterdir() if p.name.startswith(".")]


class Evil:
    """Unpickling this would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def failing_save(after_bytes: int, exc: BaseException):
    """A torch.save that writes ``after_bytes`` bytes, then fails like a full disk (or a second Ctrl-C)."""
    real = torch.save

    def save(obj, fh):
        real({"generator": {"partial": torch.zeros(1000)}}, fh)
        fh.truncate(after_bytes)
        raise exc

    return save


@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"), Aborted(2)])
def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch, exc):
    path = tmp_path / "last.pt"
    atomic_save({"generator": {"w": torch.arange(4.0)}}, path)
    monkeypatch.setattr(checkpoint.torch, "save", failing_save(100, exc))
    with pytest.raises(RunDirError if isinstance(exc, OSError) else Aborted) as info:
        atomic_save({"generator": {"w": torch.zeros(4)}}, path)
    if isinstance(exc, OSError):
        assert "No space left on device" in str(info.value) and "intact" in str(info.value)
    monkeypatch.undo()
    assert torch.equal(load_checkpoint(path)["generator"]["w"], torch.arange(4.0))
    assert leftovers(tmp_path) == []


def test_keep_last_prunes_step_files_and_last_follows_the_newest(tmp_path):
    for step in (10, 20, 30, 40):
        save_step({"generator": {"step": torch.tensor(step)}}, tmp_path, step, keep_last=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "step_000030.pt", "step_000040.pt"]
    assert int(load_checkpoint(tmp_path / "last.pt")["generator"]["step"]) == 40


def test_unwritable_checkpoint_directory_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RunDirError, match="could not write"):
        save_step({"generator": {}}, blocker / "checkpoints", 10, keep_last=1)


def test_a_checkpoint_that_would_execute_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"generator": Evil(marker)}, path)
    with pytest.raises(UnsafeCheckpointError, match="import code"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"garbage" * 50, None])
def test_corrupt_checkpoints_are_clear_errors(tmp_path, content):
    path = tmp_path / "bad.pt"
    if content is None:
        torch.save({"generator": {"w": torch.ones(100)}}, path)
        content = path.read_bytes()[:-200]
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path)


@pytest.mark.parametrize("goal, values, best", [("max", [0.2, 0.5, 0.4, float("nan")], 0.5),
                                                ("min", [3.0, 1.0, 2.0, float("inf")], 1.0)])
def test_best_tracker_follows_the_goal(goal, values, best):
    tracker = BestTracker("m.x", goal)
    improved = [tracker.update({"m.x": v}, step) for step, v in enumerate(values)]
    assert tracker.value == best and improved == [True, True, False, False]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 30-step run with checkpoints every 10 steps and evaluations every 10."""
    run = tmp_path_factory.mktemp("done") / "run"
    code, _, stderr = cli([*RUN, "--steps", "30", "--out", str(run)])
    assert code == 0, stderr
    return run


def test_checkpoint_files_and_best_by_primary_metric(finished):
    folder = finished / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["best.pt", "last.pt", "step_000020.pt", "step_000030.pt"]
    assert (folder / "last.pt").read_bytes() == (folder / "step_000030.pt").read_bytes()
    scores = [(e["modes.high_quality"], -e["step"]) for e in events(finished, ("eval",))]
    best_value, best_step = max(scores)
    best = state(folder / "best.pt")
    assert best["step"] == -best_step and best["best"]["value"] == best_value
    last = state(folder / "last.pt")
    assert last["step"] == 30 and set(last["rng"]) >= {"torch", "python", "numpy"} and last["data"]["index"] > 0


def test_resume_refuses_a_malicious_checkpoint(finished, tmp_path):
    marker = tmp_path / "pwned"
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_bytes((finished / "config.yaml").read_bytes())
    (run / "checkpoints").mkdir()
    torch.save({"generator": Evil(marker)}, run / "checkpoints" / "last.pt")
    code, _, stderr = cli(["run", "--resume", str(run), "--steps", "40"])
    assert code == 2 and "import code" in stderr and len(stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_resume_skips_a_corrupt_last_checkpoint(finished, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.yaml", "metrics.jsonl"):
        (run / name).write_bytes((finished / name).read_bytes())
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "step_000020.pt").write_bytes((finished / "checkpoints" / "step_000020.pt").read_bytes())
    (run / "checkpoints" / "last.pt").write_bytes((finished / "checkpoints" / "last.pt").read_bytes()[:5000])
    code, _, stderr = cli(["run", "--resume", str(run), "--no-progress"])
    assert code == 0 and "corrupt" in stderr, stderr
    assert [e["step"] for e in events(run, ("resume",))] == [20]
    assert state(run / "checkpoints" / "last.pt")["step"] == 30


def test_disk_full_mid_run_is_one_line_and_the_run_resumes(tmp_path, monkeypatch):
    run = tmp_path / "run"
    real, calls = torch.save, []

    def save(obj, fh):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(obj, fh)

    monkeypatch.setattr(checkpoint.torch, "save", save)
    code, _, stderr = cli([*RUN, "--set", "eval.metrics=[]", "--set", "eval.primary=null", "--steps", "40",
                           "--out", str(run)])
    monkeypatch.undo()
    assert code == 2 and stderr.strip().splitlines()[-1].endswith("No space left on device; the previous version is intact")
    assert state(run / "checkpoints" / "last.pt")["step"] == 20
    assert leftovers(run / "checkpoints") == []
    code, _, stderr = cli(["run", "--resume", str(run), "--no-progress"])
    assert code == 0, stderr
    assert state(run / "checkpoints" / "last.pt")["step"] == 40


def copy_run(source: Path, target: Path) -> Path:
    """A copy of a run directory."""
    for path in source.rglob("*"):
        if path.is_file():
            (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            (target / path.relative_to(source)).write_bytes(path.read_bytes())
    return target


def test_divergence_stops_with_the_step_and_keeps_the_last_good_checkpoint(finished, tmp_path):
    run = copy_run(finished, tmp_path / "run")
    good = state(run / "checkpoints" / "last.pt")
    code, _, stderr = cli(["run", "--resume", str(run), "--steps", "40", "--set", "schedule.lr_d=1.0e+30", "--no-progress"])
    assert code == 2 and len(stderr.strip().splitlines()) == 2, stderr  # the resume banner, then the error
    assert re.search(r"error: training diverged at step (3[1-9]|40): (loss|weight) \S+ is not finite", stderr), stderr
    assert "last good checkpoint" in stderr
    kept = state(run / "checkpoints" / "last.pt")
    weights = ("step", "generator", "discriminator", "data", "rng")
    assert kept["step"] == 30 and bitwise_equal({k: kept[k] for k in weights}, {k: good[k] for k in weights}) == []


def test_divergence_before_any_checkpoint_leaves_no_run_directory(tmp_path):
    run = tmp_path / "run"
    code, _, stderr = cli([*RUN, "--steps", "20", "--set", "schedule.lr_g=1.0e+30", "--set", "schedule.lr_d=1.0e+30",
                           "--out", str(run)])
    assert code == 2 and "diverged at step" in stderr and "no checkpoint" in stderr, stderr
    assert not run.exists()


def test_rollback_lowers_the_learning_rate_and_finishes(finished, tmp_path):
    run = copy_run(finished, tmp_path / "run")
    code, _, stderr = cli(["run", "--resume", str(run), "--steps", "40", "--set", "schedule.lr_g=1.0e+30",
                           "--set", "schedule.lr_d=1.0e+30", "--set", "guard.rollbacks=1", "--set", "guard.lr_factor=1.0e-33",
                           "--no-progress"])
    assert code == 0, stderr
    rollbacks = events(run, ("rollback",))
    assert len(rollbacks) == 1 and rollbacks[0]["step"] == 30 and 30 < rollbacks[0]["diverged_at"] <= 40
    assert rollbacks[0]["changes"]["schedule.lr_g"][1] == pytest.approx(1e-3)
    saved = state(run / "checkpoints" / "last.pt")
    assert saved["config"]["schedule"]["lr_g"] == pytest.approx(1e-3) and saved["guard"]["rollbacks"] == len(rollbacks)
    assert all(torch.isfinite(v).all() for v in saved["generator"].values())
    steps = [e["step"] for e in events(run, ("train",))]
    assert steps == sorted(set(steps)) and steps[-1] == 40
    assert json.loads((run / "eval.json").read_text())
