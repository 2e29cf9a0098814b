"""ganzoo bench --jobs N and --executor: runs in processes of their own, recorded as a sequential suite records them.

Every suite here trains gan-ring8 shrunk to a 32-unit MLP for a few dozen steps; the cost is the
start of each run's process (a torch import).
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest
import torch
from reliability import cli, one_thread, spawn  # noqa: F401 - one_thread is an autouse fixture

from ganzoo.bench.launchers import plan_slots
from ganzoo.bench.parallel import last_logged_step
from ganzoo.bench.results import read_results
from ganzoo.errors import GanzooError

TINY = ["--no-progress", "--set", "dataset.n=2000", "--set", "network.hidden=32", "--set", "network.d_hidden=32",
        "--set", "train.batch_size=32", "--set", "train.log_every=10", "--set", "train.checkpoint_every=10"]
SUITE = """
name: pair
seeds: 2
device: cpu
budget: {{steps: {steps}}}
metrics: [modes]
eval: {{n: 500, every: {every}}}
variants:
  ring8: {{experiment: gan-ring8}}
"""
#: What a run's record may differ in between two invocations: when and how fast it ran.
TIMING = ("finished", "wall_time_s", "train_time_s", "images_per_s")
#: Steps of the suite that is stopped while both of its runs train.
STEPS_TO_INTERRUPT = 1200


def write_suite(tmp_path: Path, steps: int, every: int = 10) -> Path:
    """The two-seed ring8 suite with ``steps`` per run, evaluated every ``every`` steps (0: at the end)."""
    path = tmp_path / "pair.yaml"
    path.write_text(SUITE.format(steps=steps, every=every), encoding="utf-8")
    return path


def comparable(record: dict) -> dict:
    """A record without its timings, and its metrics without the protocol keys naming the run directory."""
    kept = {k: v for k, v in record.items() if k not in TIMING and k not in ("metrics", "curve")}
    kept["metrics"] = {m: r["values"] for m, r in record["metrics"].items()}
    kept["curve"] = [(p["step"], p["values"]) for p in record["curve"]]
    return kept


@pytest.fixture(scope="module")
def sequential_and_parallel(tmp_path_factory):
    """The same suite run one run after another in-process, and with --jobs 2 (one thread for every run)."""
    tmp = tmp_path_factory.mktemp("jobs")
    suite = write_suite(tmp, 20)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "1")
        seq = cli(["bench", str(suite), "--out", str(tmp / "seq"), *TINY])
        par = cli(["bench", str(suite), "--out", str(tmp / "par"), "--jobs", "2", *TINY])
    assert seq[0] == 0, seq[2]
    assert par[0] == 0, par[2]
    return tmp / "seq", tmp / "par", par[2]


def test_parallel_runs_record_the_metrics_of_sequential_runs(sequential_and_parallel):
    seq, par, _ = sequential_and_parallel
    a, b = read_results(seq / "results.json"), read_results(par / "results.json")
    assert [r["run"] for r in b["runs"]] == [r["run"] for r in a["runs"]] == ["ring8-s0", "ring8-s1"]
    for x, y in zip(a["runs"], b["runs"]):
        assert y["status"] == "ok" and y["steps"] == 20
        assert comparable(y) == comparable(x)
    assert b["suite"]["fingerprint"] == a["suite"]["fingerprint"]
    config = (par / "runs" / "ring8-s1" / "config.yaml").read_text()
    assert "seed: 1" in config
    assert (par / "report.md").read_text().count("| ring8 |") >= 2


def test_each_parallel_run_ran_in_a_worker_process_of_its_own(sequential_and_parallel):
    _, par, stderr = sequential_and_parallel
    logs = sorted(p.name for p in (par / ".jobs").iterdir())
    assert logs == ["ring8-s0.log", "ring8-s1.log"], "one worker (and its log) per run; job files removed"
    assert stderr.count(": ok ") == 2


def test_interrupted_parallel_suite_continues_like_a_sequential_one(tmp_path):
    # Long enough (about ten seconds of training each) that one run cannot finish while the other's worker is still
    # starting on a loaded machine: the signal must find both in progress, and a third seed still queued (which
    # must not start, nor keep the suite waiting for it).
    suite = write_suite(tmp_path, STEPS_TO_INTERRUPT, every=0)
    out = tmp_path / "out"
    proc = spawn(["bench", str(suite), "--out", str(out), "--jobs", "2", "--seeds", "3", *TINY])
    checkpoints = [out / "runs" / f"ring8-s{s}" / "checkpoints" for s in (0, 1)]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if all(c.is_dir() and any(c.glob("step_*.pt")) for c in checkpoints):
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.05)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "the runs in progress have checkpoints" in stderr
    assert read_results(out / "results.json")["runs"] == []
    stopped = [last_logged_step(out / "runs" / f"ring8-s{s}") for s in (0, 1)]
    assert all(0 < step < STEPS_TO_INTERRUPT for step in stopped), stopped
    assert not list(out.glob("runs/*/.ganzoo.lock.json")), "every run released its lock"
    assert not (out / "runs" / "ring8-s2").exists(), "the queued run did not start"

    code, _, stderr = cli(["bench", str(suite), "--out", str(out), *TINY])
    assert code == 0, stderr
    runs = read_results(out / "results.json")["runs"]
    assert [(r["run"], r["status"], r["steps"], r["resumes"]) for r in runs] == [
        ("ring8-s0", "ok", STEPS_TO_INTERRUPT, 1), ("ring8-s1", "ok", STEPS_TO_INTERRUPT, 1)]


def test_local_executor_runs_through_submitit(tmp_path):
    pytest.importorskip("submitit")
    suite = write_suite(tmp_path, 10)
    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "1")
        code, _, stderr = cli(["bench", str(suite), "--out", str(out), "--seeds", "1", "--executor", "local", *TINY])
    assert code == 0, stderr
    (record,) = read_results(out / "results.json")["runs"]
    assert record["status"] == "ok" and record["steps"] == 10 and record["metrics"]["modes"]["protocol"]["step"] == 10
    assert list((out / ".jobs" / "submitit").glob("*_result.pkl")), "the run went through submitit's folder"


def test_executor_without_submitit_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "submitit", None)
    suite = write_suite(tmp_path, 10)
    code, _, stderr = cli(["bench", str(suite), "--out", str(tmp_path / "out"), "--executor", "slurm", *TINY])
    assert code == 2 and stderr.count("\n") == 1 and "needs submitit" in stderr and "slurm" in stderr


@pytest.mark.parametrize("argv, message", [
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--executor", "local", "--executor-option", "no-equals-sign"], "bad --executor-option"),
    (["--executor", "local", "--executor-option", "x=[1,"], "the value is not valid YAML"),  # was a traceback
    (["--executor", "local", "--executor-option", "x=&a [*a]"], "the value contains itself"),
])
def test_bad_parallel_options_are_one_line(tmp_path, argv, message):
    pytest.importorskip("submitit")
    suite = write_suite(tmp_path, 10)
    code, _, stderr = cli(["bench", str(suite), "--out", str(tmp_path / "out"), *argv, *TINY])
    assert code == 2 and stderr.count("\n") == 1 and message in stderr, stderr


def test_cpu_threads_are_split_between_jobs(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    slots = plan_slots(torch.device("cpu"), 3)
    assert [s.threads for s in slots] == [2, 2, 2] and slots[0].env == {"OMP_NUM_THREADS": "2"}
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert [s.threads for s in plan_slots(torch.device("cpu"), 2)] == [1, 1]


def test_gpus_are_one_per_job(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    slots = plan_slots(torch.device("cuda"), 2)
    assert [s.env for s in slots] == [{"CUDA_VISIBLE_DEVICES": "3"}, {"CUDA_VISIBLE_DEVICES": "5"}]
    with pytest.raises(GanzooError, match="2 GPU"):
        plan_slots(torch.device("cuda"), 3)
    with pytest.raises(GanzooError, match="not cuda:1"):
        plan_slots(torch.device("cuda:1"), 2)
