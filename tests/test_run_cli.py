"""`ganzoo run gan-ring8` end to end in a subprocess, and every bad input of the core issue."""

from __future__ import annotations

import json

import torch
import yaml

from conftest import TINY_RING, run_cli


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


def _bad(tmp_path, *args, env=None):
    out = tmp_path / "never"
    result = run_cli("run", *args, "--out", str(out), "--no-progress", env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganzoo: error:"), result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    return lines[0]


def test_unknown_experiment(tmp_path):
    assert "did you mean gan-ring8" in _bad(tmp_path, "gan-rin8")


def test_unknown_set_key_and_wrong_type(tmp_path):
    assert "valid keys" in _bad(tmp_path, "gan-ring8", "--set", "train.stepz=3")
    assert "expected int" in _bad(tmp_path, "gan-ring8", "--set", "train.batch_size=big")


def test_cuda_without_cuda(tmp_path):
    if torch.cuda.is_available():
        return  # only meaningful on machines without CUDA, like CI
    assert "CUDA is not available" in _bad(tmp_path, "gan-ring8", "--device", "cuda")


def test_missing_data_set_offline(tmp_path):
    line = _bad(tmp_path, "gan-ring8", "--set", "dataset.name=mnist", "--data-root", str(tmp_path / "empty"))
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


def test_out_holding_another_run_or_unwritable(tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "config.yaml").write_text("experiment: other\n")
    result = run_cli("run", "gan-ring8", "--out", str(taken), "--no-progress")
    assert result.returncode == 2 and "already holds a run" in result.stderr
    assert sorted(p.name for p in taken.iterdir()) == ["config.yaml"]
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    import os

    if os.access(locked, os.W_OK):  # running as root: permissions do not stop us; use a file as parent
        (tmp_path / "afile").write_text("x")
        target = tmp_path / "afile" / "run"
    else:
        target = locked / "run"
    result = run_cli("run", "gan-ring8", "--out", str(target), "--no-progress")
    assert result.returncode == 2 and "ganzoo: error:" in result.stderr and "Traceback" not in result.stderr
