"""`ganzoo run gan-ring8` end to end in a subprocess, and every bad input of the core issue."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from conftest import TINY_RING, run_cli
from ganzoo.cli import main


def test_gan_ring8_end_to_end(tmp_path):
    out = tmp_path / "run"
    result = run_cli("run", "gan-ring8", "--steps", "60", "--device", "cpu", "--out", str(out), "--no-progress",
                     "--set", "train.log_every=20", "--set", "train.sample_every=30", *TINY_RING)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"run directory: {out}"
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["train"]["steps"] == 60 and config["run"]["device"] == "cpu"
    assert config["run"]["versions"]["torch"] == str(torch.__version__)
    assert config["run"]["versions"]["plugins"]["ganzoo"]
    events = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train = [e for e in events if e["event"] == "train"]
    assert [e["step"] for e in train] == [20, 40, 60]
    assert all(set(e) >= {"d_loss", "g_loss", "images_per_s"} for e in train)
    assert {p.name for p in (out / "samples").iterdir()} == {"step_000030.png", "step_000060.png", "final.png"}
    state = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 60
    modes = json.loads((out / "eval.json").read_text())["modes"]
    assert modes["values"]["num_modes"] == 8 and 0 <= modes["values"]["high_quality"] <= 1
    assert modes["protocol"]["fake_samples"] == 200


@pytest.fixture
def bad(tmp_path, capsys, monkeypatch):
    """Run ``ganzoo run ARGS`` in-process; assert exit 2, one stderr line, nothing written."""
    monkeypatch.setenv("GANZOO_OFFLINE", "1")

    def check(*args: str) -> str:
        out = tmp_path / "never"
        code = main(["run", *args, "--out", str(out), "--no-progress"])
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert code == 2, err
        assert len(lines) == 1 and lines[0].startswith("ganzoo: error:"), err
        assert not out.exists()
        return lines[0]

    return check


def test_unknown_experiment(bad):
    assert "did you mean gan-ring8" in bad("gan-rin8")


def test_unknown_set_key_and_wrong_type(bad):
    assert "valid keys" in bad("gan-ring8", "--set", "train.stepz=3")
    assert "expected int" in bad("gan-ring8", "--set", "train.batch_size=big")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on machines without CUDA, like CI")
def test_cuda_without_cuda(bad):
    assert "CUDA is not available" in bad("gan-ring8", "--device", "cuda")


def test_missing_data_set_offline(bad, tmp_path):
    line = bad("gan-ring8", "--set", "dataset.name=mnist", "--data-root", str(tmp_path / "empty"))
    assert "--data-root" in line and "GANZOO_DATA" in line


def test_malformed_registry_names_file_and_line(tmp_path):
    bad = tmp_path / "checkout"
    import shutil

    from conftest import ROOT

    shutil.copytree(ROOT, bad, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "__pycache__"))
    (bad / "registry.yaml").write_text("gan-ring8:\n  dataset: {name: ring8\n")
    result = run_cli("list", cwd=bad, env={"PYTHONPATH": str(bad)})
    assert result.returncode == 2
    assert "registry.yaml:" in result.stderr and "malformed YAML" in result.stderr
    assert "Traceback" not in result.stderr


def test_out_holding_another_run_or_unwritable(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "config.yaml").write_text("experiment: other\n")
    assert main(["run", "gan-ring8", "--out", str(taken), "--no-progress"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert sorted(p.name for p in taken.iterdir()) == ["config.yaml"]
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    import os

    if os.access(locked, os.W_OK):  # running as root: permissions do not stop us; use a file as parent
        (tmp_path / "afile").write_text("x")
        target = tmp_path / "afile" / "run"
    else:
        target = locked / "run"
    assert main(["run", "gan-ring8", "--out", str(target), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ganzoo: error:") and len(err.strip().splitlines()) == 1


def test_running_out_of_gpu_memory_is_one_line_and_the_run_goes_on_with_a_smaller_batch(tmp_path, monkeypatch, capsys):
    """A CUDA out-of-memory error (simulated at step 3, after the checkpoint at step 2) ends the run on one
    line that names the batch to try, and the checkpoint it kept resumes with that batch."""
    from ganzoo_plugins.schedule import AdversarialSchedule

    original, calls = AdversarialSchedule.step, []

    def step(self, next_batch):
        calls.append(1)
        if len(calls) == 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.50 GiB")
        return original(self, next_batch)

    monkeypatch.setattr(AdversarialSchedule, "step", step)
    run = tmp_path / "r"
    code = main(["run", "gan-ring8", *TINY_RING, "--steps", "4", "--set", "train.checkpoint_every=2",
                 "--set", "train.log_every=1", "--no-progress", "--device", "cpu", "--out", str(run)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("ganzoo: error: out of cpu memory at step 3 with train.batch_size 32")
    assert f"ganzoo run --resume {run} --set train.batch_size=16" in line
    monkeypatch.setattr(AdversarialSchedule, "step", original)
    assert main(["run", "--resume", str(run), "--set", "train.batch_size=16", "--no-progress"]) == 0
    events = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["event"] == "train"] == [1, 2, 3, 4]
