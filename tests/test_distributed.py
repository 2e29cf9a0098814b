"""Multi-process training on CPU with gloo, world size 2: DDP, sharding, rank-0 writes, failures, resume."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import ROOT, TINY_RING

from ganzoo import distributed
from ganzoo.checkpoint import load_checkpoint
from ganzoo.cli import main
from ganzoo.engine import Engine
from ganzoo.commands.launch import launch_config
from ganzoo.runs import load_run
from ganzoo.trainer import Trainer

#: One log line per step, no intermediate samples or metrics: the loss curve is the log.
CURVE = TINY_RING[1::2] + [
    "train.log_every=1", "train.sample_every=100000", "train.checkpoint_every=100000", "eval.metrics=[]",
    "eval.primary=null", "train.steps=60"]
CPU = torch.device("cpu")


def _train(run_dir: Path, overrides: list[str]) -> dict:
    """Train gan-ring8 in this process as whatever rank it is; what it saw in epoch 0, its weights' hash, its log."""
    torch.set_num_threads(1)
    with distributed.session(CPU) as ranks:
        engine = Engine()
        config = engine.resolve("gan-ring8", overrides)
        data = engine.load_data(config, "train", run_dir)
        trainer = Trainer(engine, config, CPU, run_dir, data, run_dir, progress=False)
        seen: list[tuple[float, ...]] = []
        serve = trainer.batcher.next

        def record() -> tuple[torch.Tensor, torch.Tensor | None]:
            x, y = serve()
            if trainer.batcher.epoch == 0:
                seen.extend(tuple(row) for row in x.tolist())
            return x, y

        trainer.batcher.next = record
        trainer.train()
        distributed.finish()
        weights = torch.cat([p.detach().flatten() for net in (trainer.generator, trainer.discriminator)
                             for p in net.parameters()])
        log = (run_dir / "metrics.jsonl").read_text().splitlines() if ranks.is_main else []
        return {"rank": ranks.rank, "world": ranks.world_size, "seen": seen,
                "weights": hashlib.sha256(weights.numpy().tobytes()).hexdigest(),
                "curve": [json.loads(line)["d_loss"] for line in log if '"train"' in line]}


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> dict[int, dict]:
    """gan-ring8 trained by two gloo ranks, started through torch's elastic launcher (global batch 64)."""
    from torch.distributed.launcher.api import elastic_launch

    run_dir = tmp_path_factory.mktemp("ddp")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    options = argparse.Namespace(nnodes=1, node_rank=0, master_addr="127.0.0.1", master_port=None, nproc_per_node=2)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return elastic_launch(launch_config(options), _train)(run_dir, CURVE)
    finally:  # the elastic agent leaves its own handlers installed in this (pytest's) process
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def test_every_rank_ends_with_bitwise_identical_weights(two_ranks):
    assert sorted(two_ranks) == [0, 1] and two_ranks[0]["world"] == 2
    assert two_ranks[0]["weights"] == two_ranks[1]["weights"]


def test_ranks_see_disjoint_shards_within_an_epoch(two_ranks):
    first, second = (set(two_ranks[r]["seen"]) for r in (0, 1))
    per_rank = (2000 // 2) // 32 * 32
    assert len(first) == len(second) == per_rank
    assert not first & second


def test_loss_curve_matches_one_process_with_the_global_batch(two_ranks, tmp_path):
    single = _train(tmp_path, CURVE + ["train.batch_size=64"])
    assert single["world"] == 1
    ddp, one = torch.tensor(two_ranks[0]["curve"]), torch.tensor(single["curve"])
    assert len(ddp) == len(one) == 60
    # Ten-step means: same optimizer, same global batch, different noise and data order.
    gap = (ddp.view(6, 10).mean(1) - one.view(6, 10).mean(1)).abs().max().item()
    assert gap < 0.05, (ddp.view(6, 10).mean(1), one.view(6, 10).mean(1))


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GANZOO_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def launched_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """``ganzoo run --nproc-per-node 2`` to completion."""
    run_dir = tmp_path_factory.mktemp("launched") / "run"
    done = _cli("run", "gan-ring8", *TINY_RING, "--set", "train.log_every=10", "--set", "train.checkpoint_every=10",
                "--steps", "30", "--no-progress", "--out", str(run_dir), "--nproc-per-node", "2")
    return run_dir, done


def test_launched_run_completes_and_rank_0_alone_writes(launched_run):
    run_dir, done = launched_run
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("training gan-ring8 on cpu x 2 processes (global batch 64)") == 1
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["event"] == "train"] == [10, 20, 30]
    assert [e["event"] for e in events].count("eval") == 1
    record = yaml.safe_load((run_dir / "config.yaml").read_text())["run"]["distributed"]
    assert record == {"world_size": 2, "backend": "gloo", "batch_size_per_rank": 32, "global_batch_size": 64,
                      "batchnorm": "per-rank"}
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert state["step"] == 30 and len(state["rng_ranks"]) == 2
    assert not any(k.startswith("module.") for k in state["generator"])


def _rank_pid(launcher: int, rank: int) -> int | None:
    """The pid of the worker of ``launcher`` whose environment says RANK=rank."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == launcher:
                if f"RANK={rank}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    return int(entry.name)
        except (OSError, IndexError, ValueError):
            continue
    return None


def test_killing_one_rank_ends_the_job_and_a_single_process_resumes(launched_run):
    run_dir, done = launched_run
    assert done.returncode == 0, done.stderr
    env = {**os.environ, "GANZOO_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ganzoo", "run", "--resume", str(run_dir), "--steps", "100000",
                             "--no-progress", "--nproc-per-node", "2"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] < 50:
            assert proc.poll() is None and time.monotonic() < deadline, "the resumed job did not reach step 50"
            time.sleep(0.2)
        victim = _rank_pid(proc.pid, 1)
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert "Traceback" not in stderr
    last_line = stderr.strip().splitlines()[-1]
    assert last_line.startswith("ganzoo: error: rank 1 ") and "killed by SIGKILL" in last_line, stderr
    assert f"--resume {run_dir} --nproc-per-node 2" in last_line
    step = load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"]
    assert step >= 50
    code, _, err = _in_process("run", "--resume", str(run_dir), "--steps", str(step + 10), "--no-progress")
    assert code == 0, err
    assert "trained on 2 process(es) and continues on 1" in err
    run = load_run(run_dir, CPU)
    assert run.step == step + 10
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["run"]["distributed"]["world_size"] == 1


def _in_process(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(list(argv))
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.mark.parametrize("argv, message", [
    (["gan-ring8", "--nproc-per-node", "0"], "--nproc-per-node must be a positive number of processes per node"),
    (["gan-ring8", "--nproc-per-node", "2", "--nnodes", "2", "--node-rank", "2"], "--node-rank must lie in 0..1"),
    (["gan-ring9", "--nproc-per-node", "2"], "unknown experiment"),
    (["gan-ring8", "--nproc-per-node", "2", "--set", "distributed.batchnorm=global"],
     "distributed.batchnorm must be one of auto, sync, per-rank"),
])
def test_bad_launches_are_one_line_before_any_worker_starts(tmp_path, argv, message):
    code, _, err = _in_process("run", *argv, "--out", str(tmp_path / "r"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "r").exists()


def test_launch_options_inside_torchrun_are_refused(monkeypatch, tmp_path):
    for key, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(key, value)
    code, _, err = _in_process("run", "gan-ring8", "--nproc-per-node", "2", "--out", str(tmp_path / "r"))
    assert code == 2 and "started by torchrun" in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="nccl between local GPUs needs two (one process alone "
                                                          "trains without a process group)")
def test_nccl_on_every_local_gpu(tmp_path):
    n = 2
    done = _cli("run", "gan-ring8", *TINY_RING, "--steps", "20", "--no-progress", "--out", str(tmp_path / "r"),
                "--device", "cuda", "--nproc-per-node", str(n))
    assert done.returncode == 0, done.stderr
    record = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["run"]["distributed"]
    assert record["backend"] == "nccl" and record["world_size"] == n


def test_the_reported_failure_is_the_killed_rank_not_the_peer_that_aborted_on_losing_it():
    """Ranks fail within the same second (timestamps are whole seconds): the one killed by SIGKILL is named, not
    rank 0, which aborted (SIGABRT) when its peer's connection dropped, or was stopped (SIGTERM) by the launcher;
    an earlier failure still comes first."""
    from types import SimpleNamespace

    from ganzoo.commands.launch import root_failure

    aborted = SimpleNamespace(exitcode=-signal.SIGABRT, timestamp=100)
    killed = SimpleNamespace(exitcode=-signal.SIGKILL, timestamp=100)
    assert root_failure({0: aborted, 1: killed}) == (1, killed)
    stopped = SimpleNamespace(exitcode=-signal.SIGTERM, timestamp=100)
    assert root_failure({0: stopped, 1: killed}) == (1, killed)
    errored = SimpleNamespace(exitcode=2, timestamp=99)
    assert root_failure({0: aborted, 1: killed, 2: errored}) == (2, errored)
    assert root_failure({0: SimpleNamespace(exitcode=1, timestamp=5), 1: SimpleNamespace(exitcode=1, timestamp=5)})[0] == 0
