"""One writer per run: a second writer of a run or suite directory stops before writing; readers never wait.

The other writer is either a real ``ganzoo`` process or a helper process that holds the lock through
``ganzoo.runlock``, as a training run would; no assertion depends on timing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest
from reliability import ROOT, TINY, cli, logged_step, one_thread, spawn, state, wait_for_step  # noqa: F401

from ganzoo.runlock import INFO_FILE, LOCK_FILE, NO_LOCK_ENV, RunLockedError, acquire

#: A process that locks the directory in argv[1] (creating it) and holds it until its stdin closes.
HOLD = ("import sys; from ganzoo.runlock import acquire; lock = acquire(sys.argv[1], create=True); "
        "print('held', flush=True); sys.stdin.read()")
#: A process that tries to lock argv[1] once and prints 'free' or the refusal.
PROBE = ("import sys; from ganzoo.runlock import RunLockedError, acquire\n"
         "try:\n    acquire(sys.argv[1]).release(); print('free')\n"
         "except RunLockedError as exc:\n    print(exc)")
RING = ["run", "gan-ring8", *TINY, "--set", "train.checkpoint_every=10"]


@contextmanager
def held(directory: Path) -> Iterator[subprocess.Popen]:
    """A helper process holding ``directory``'s lock for the duration of the block."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(directory)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "held\n"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def probe(directory: Path) -> str:
    """What another process gets when it tries to lock ``directory``: 'free' or the refusal."""
    done = subprocess.run([sys.executable, "-c", PROBE, str(directory)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def contents(directory: Path) -> dict[str, str]:
    """Every file below ``directory`` (hidden ones too) with the sha256 of its bytes."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A tiny gan-ring8 run of 20 steps, checkpointed every 10."""
    out = tmp_path_factory.mktemp("finished") / "run"
    code, _, stderr = cli([*RING, "--steps", "20", "--out", str(out)])
    assert code == 0, stderr
    return out


@pytest.fixture
def run_copy(finished, tmp_path) -> Path:
    """A copy of the finished run that a test may resume."""
    return Path(shutil.copytree(finished, tmp_path / "run"))


def test_resume_while_another_process_writes_is_one_line_naming_it_and_writes_nothing(run_copy):
    with held(run_copy) as holder:
        before = contents(run_copy)
        code, stdout, stderr = cli(["run", "--resume", str(run_copy), "--steps", "40", "--no-progress"])
        launched = cli(["run", "--resume", str(run_copy), "--steps", "40", "--nproc-per-node", "2"])
        assert contents(run_copy) == before
    assert code == 2 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert f"is being written by pid {holder.pid} on {socket.gethostname()}" in stderr
    assert f"wait for it to finish or stop it (kill {holder.pid})" in stderr
    assert launched[0] == 2 and launched[2] == stderr, "a distributed resume is refused before its workers start"


def test_resume_of_a_training_run_is_refused_and_a_killed_run_leaves_no_stale_lock(tmp_path):
    """The issue's case: resume from another shell while the run trains; after SIGKILL, resume works."""
    run = tmp_path / "run"
    proc = spawn([*RING, "--steps", "1000000", "--set", "train.log_every=10", "--out", str(run)])
    try:
        assert wait_for_step(proc, run, 20) >= 20, proc.communicate()[1]
        bound = int(state(run / "checkpoints" / "last.pt")["step"]) + 500  # were it not refused, it would end
        code, _, stderr = cli(["run", "--resume", str(run), "--steps", str(bound), "--no-progress"])
        assert code == 2 and f"is being written by pid {proc.pid}" in stderr, stderr
        assert "(python -m ganzoo run gan-ring8 " in stderr
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    assert json.loads((run / INFO_FILE).read_text())["pid"] == proc.pid, "the dead holder's note stays behind"
    reached = int(state(run / "checkpoints" / "last.pt")["step"])
    code, _, stderr = cli(["run", "--resume", str(run), "--steps", str(reached + 10), "--no-progress"])
    assert code == 0, stderr
    assert logged_step(run) == reached + 10
    assert not (run / INFO_FILE).exists() and (run / LOCK_FILE).is_file()


def test_a_new_run_is_locked_as_its_directory_is_created(tmp_path):
    """Another `ganzoo run --out SAME` that created the directory first: this one stops, the directory untouched."""
    out = tmp_path / "same"
    with held(out) as holder:
        before = contents(out)
        code, _, stderr = cli([*RING, "--steps", "20", "--out", str(out)])
        assert contents(out) == before and set(before) == {LOCK_FILE, INFO_FILE}
    assert code == 2 and f"pid {holder.pid}" in stderr and len(stderr.strip().splitlines()) == 1


def test_two_runs_started_together_on_one_out_cannot_both_proceed(tmp_path):
    out = tmp_path / "same"
    procs = [spawn([*RING, "--steps", "200", "--out", str(out)]) for _ in range(2)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    ended = [(p.returncode, err) for p, err in zip(procs, errors)]
    assert sorted(code for code, _ in ended) == [0, 2], ended
    refusal = next(err for code, err in ended if code == 2)
    # the loser meets the lock (with the winner's pid, or before the winner has noted it) or the finished directory
    assert ("is being written by pid" in refusal or "is being written by another process (it has not recorded which"
            in refusal or "already holds a run" in refusal), refusal
    steps = [e["step"] for e in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
             if e["event"] == "train"]
    assert steps == sorted(set(steps)) and steps[-1] == 200, "one trajectory, written once"


def test_the_api_holds_the_lock_from_start_until_train_to_end_ends(tmp_path):
    from ganzoo.api import start
    from ganzoo.lifecycle import train_to_end

    out = tmp_path / "run"
    sets = [TINY[i + 1] for i, a in enumerate(TINY) if a == "--set"]
    trainer = start("gan-ring8", steps=10, overrides=sets, out=out, progress=False, echo=lambda text: None)
    assert probe(out).startswith(f"{out} is being written by pid {os.getpid()}")
    run = train_to_end(trainer)
    assert run.complete and probe(out) == "free"


def test_the_info_file_names_the_holder_and_goes_with_the_lock(tmp_path):
    directory = tmp_path / "dir"
    lock = acquire(directory, create=True)
    info = json.loads((directory / INFO_FILE).read_text())
    assert set(info) == {"pid", "host", "command", "since"}
    assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
    assert info["command"]
    assert datetime.fromisoformat(info["since"]).tzinfo is not None
    with pytest.raises(RunLockedError, match="this process"):
        acquire(directory)
    lock.release()
    lock.release()
    assert sorted(p.name for p in directory.iterdir()) == [LOCK_FILE]
    acquire(directory).release()


@pytest.mark.parametrize("argv, command", [(["/venv/bin/ganzoo", "run", "--out", "a b"], "ganzoo run --out 'a b'"),
                                           (["/src/ganzoo/__main__.py", "bench"], "python -m ganzoo bench")])
def test_the_holder_is_named_by_its_command_line(tmp_path, monkeypatch, argv, command):
    monkeypatch.setattr(sys, "argv", argv)
    with acquire(tmp_path, create=True):
        assert json.loads((tmp_path / INFO_FILE).read_text())["command"] == command


def test_no_lock_env_turns_the_check_off(tmp_path, monkeypatch):
    with held(tmp_path / "dir"):
        monkeypatch.setenv(NO_LOCK_ENV, "1")
        acquire(tmp_path / "dir").release()
        monkeypatch.setenv(NO_LOCK_ENV, "0")
        with pytest.raises(RunLockedError):
            acquire(tmp_path / "dir")


def test_readers_work_while_a_run_is_locked_and_eval_into_it_waits_for_no_one(run_copy, tmp_path):
    """sample, export and eval --out elsewhere read a locked run; eval writing eval.json into it is refused."""
    with held(run_copy) as holder:
        before = contents(run_copy)
        assert cli(["sample", str(run_copy), "-o", str(tmp_path / "grid.png")])[0] == 0
        assert cli(["export", str(run_copy), "-o", str(tmp_path / "g.safetensors")])[0] == 0
        assert cli(["eval", str(run_copy), "--n", "200", "--out", str(tmp_path / "eval.json")])[0] == 0
        code, _, stderr = cli(["eval", str(run_copy), "--n", "200"])
        assert contents(run_copy) == before
    assert (tmp_path / "grid.png").is_file() and (tmp_path / "eval.json").is_file()
    assert code == 2 and f"pid {holder.pid}" in stderr and "or write the results elsewhere with --out FILE" in stderr
    assert cli(["eval", str(run_copy), "--n", "200"])[0] == 0 and (run_copy / "eval.json").is_file()


def test_a_second_bench_on_one_out_is_refused_while_the_first_runs(tmp_path):
    suite = tmp_path / "long.yaml"
    suite.write_text("name: long\nbudget: {steps: 1000000, seconds: 120}\nmetrics: [modes]\nvariants:\n"
                     "  ring8: {experiment: gan-ring8}\n", encoding="utf-8")
    out = tmp_path / "out"
    argv = ["bench", str(suite), "--out", str(out), "--no-progress", "--set", "dataset.n=2000", "--set",
            "network.hidden=32", "--set", "network.d_hidden=32", "--set", "train.batch_size=32", "--set",
            "train.log_every=10"]
    proc = spawn(argv)
    try:
        assert wait_for_step(proc, out / "runs" / "ring8-s0", 10) >= 10, proc.communicate()[1]
        results = (out / "results.json").read_bytes()
        code, _, stderr = cli(argv)
        assert (out / "results.json").read_bytes() == results
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert f"{out} is being written by pid {proc.pid}" in stderr and "or choose another --out" in stderr
