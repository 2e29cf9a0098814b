"""The command line for scripts and shells: --json on list, show and run; shell completion; errors
answered before torch is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, TINY_RING, run_cli

from ganzoo import api


def in_process(code: str) -> list[str]:
    """Run Python code in a fresh interpreter (the checkout's ganzoo) and return its stdout lines."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "GANZOO_OFFLINE": "1"}, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_a_bad_set_is_answered_before_torch_is_imported():
    lines = in_process("import sys\nfrom ganzoo.cli import main\n"
                       "code = main(['run', 'gan-ring8', '--set', 'network.hiden=64'])\n"
                       "print(code, 'torch' in sys.modules)")
    assert lines == ["2 False"]


def complete(line: str, tmp_path: Path) -> list[str]:
    """What the shell is offered for a command line (argcomplete's protocol, as bash drives it: after a word
    break such as '=' or ':', only the text after it)."""
    answer = tmp_path / "completions"
    env = {**os.environ, "GANZOO_OFFLINE": "1", "_ARGCOMPLETE": "1", "_ARGCOMPLETE_IFS": "\n", "COMP_LINE": line,
           "COMP_POINT": str(len(line)), "_ARGCOMPLETE_STDOUT_FILENAME": str(answer),
           "_ARGCOMPLETE_COMP_WORDBREAKS": " \t\n\"'><=;|&(:"}
    result = subprocess.run([sys.executable, "-m", "ganzoo"], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return [c.strip() for c in answer.read_text().split("\n")]


def test_completion_offers_experiments_kinds_and_set_keys_and_spares_help(tmp_path):
    assert complete("ganzoo run gan-r", tmp_path) == ["gan-ring8"]
    assert complete("ganzoo show gan-", tmp_path) == ["gan-grid25", "gan-mnist", "gan-ring8"]
    assert complete("ganzoo list l", tmp_path) == ["losses"]
    assert complete("ganzoo list losses wg", tmp_path) == ["wgan-gp"]
    assert complete("ganzoo run gan-ring8 --set loss.r1", tmp_path) == ["loss.r1_gamma=", "loss.r1_every="]
    assert "rpgan" in complete("ganzoo run x --set loss.name=", tmp_path)
    assert complete("ganzoo run --set train.amp=b", tmp_path) == ["bf16"]
    help_run = in_process("import sys\nfrom ganzoo.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n"
                          "    pass\nprint('argcomplete' in sys.modules, 'torch' in sys.modules)")
    assert help_run[-1] == "False False", "completion costs --help nothing"


def test_completion_offers_a_files_experiments(tmp_path):
    (tmp_path / "mine.yaml").write_text("ring-a:\n  extends: gan-ring8\nring-b:\n  extends: gan-ring8\n")
    assert complete(f"ganzoo run {tmp_path}/mi", tmp_path) == [f"{tmp_path}/mine.yaml"]
    assert complete(f"ganzoo run {tmp_path}/mine.yaml:", tmp_path) == ["ring-a", "ring-b"]


def test_list_json_gives_each_component_with_its_provenance():
    listed = json.loads(run_cli("list", "--json").stdout)
    ring = next(e for e in listed if e["name"] == "gan-ring8")
    assert ring["plugin"] == "core" and ring["distribution"] == "ganzoo" and ring["description"]
    losses = json.loads(run_cli("list", "losses", "non-*", "--json").stdout)
    assert [(c["name"], c["params"]["r1_gamma"]) for c in losses] == [("non-saturating", 0.0)]


def test_show_json_is_the_resolved_config():
    shown = json.loads(run_cli("show", "gan-ring8", "--json", "--set", "train.steps=7").stdout)
    assert shown["config"] == api.resolve_config("gan-ring8", ["train.steps=7"])[1]
    assert shown["experiment"] == "gan-ring8" and shown["extends"] == []
    assert shown["origins"]["train.steps"] == "--set" and shown["origins"]["network.hidden"] == "experiment"


def test_run_json_ends_with_the_summary_alone_on_stdout(tmp_path):
    result = run_cli("run", "gan-ring8", "--steps", "5", *TINY_RING, "--no-progress", "--json", "--out",
                     str(tmp_path / "r"))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["run_dir"] == str(tmp_path / "r") and summary["experiment"] == "gan-ring8"
    assert (summary["step"], summary["total_steps"], summary["stopped_by"]) == (5, 5, None)
    modes = summary["results"]["modes"]
    assert set(modes["values"]) >= {"modes", "high_quality"} and modes["protocol"]["fake_samples"] == 200
