"""`ganzoo plugins`, `install` and `uninstall`: what they print, what they run, what they refuse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganzoo import installer
from ganzoo.cli import main
from ganzoo.commands import common
from ganzoo.errors import GanzooError


def test_plugins_json_lists_every_builtin_with_what_it_registered(capsys):
    """Each built-in is a loaded entry point of distribution ganzoo, with its hooks and components."""
    assert main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    core = rows["core"]
    assert (core["distribution"], core["source"], core["status"], core["error"]) == ("ganzoo", "built-in", "loaded", "")
    assert "ganzoo_losses" in core["hooks"] and "hinge" in core["registered"]["losses"]
    assert rows["mixtures"]["registered"]["datasets"] == ["grid25", "ring8"]
    assert set(rows["tensorboard_log"]["hooks"]) == {"ganzoo_train_start", "ganzoo_step_end", "ganzoo_eval",
                                                     "ganzoo_train_end"}


def test_plugins_table_shows_status_and_components(capsys, monkeypatch):
    """The rich table names each plugin with its status and registered components."""
    monkeypatch.setattr(common.out, "width", 200)  # the console is made at import, wherever stdout then was
    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    line = next(row for row in text.splitlines() if "│ mixtures" in row)
    assert "ganzoo" in line and "built-in" in line and "loaded" in line and "datasets: grid25, ring8" in line


def test_uv_install_command_targets_this_interpreter():
    """With uv: `uv pip install --python sys.executable`, flags, editables, pass-through, then requirements."""
    uv = installer.Installer("uv", ("/bin/uv", "pip"))
    cmd = uv.install_command(["ganzoo-lecam>=0.1"], ["./plug"], True, ["--no-deps"])
    assert cmd == ["/bin/uv", "pip", "install", "--python", sys.executable, "--upgrade", "--editable", "./plug",
                   "--no-deps", "ganzoo-lecam>=0.1"]
    assert uv.uninstall_command(["a"], []) == ["/bin/uv", "pip", "uninstall", "--python", sys.executable, "a"]


def test_pip_commands_use_this_interpreter_and_never_prompt():
    """Without uv: `python -m pip`, and uninstall with --yes (ganzoo asked already)."""
    pip = installer.Installer("pip", (sys.executable, "-m", "pip"))
    assert pip.install_command(["x"], [], False, []) == [sys.executable, "-m", "pip", "install", "x"]
    assert pip.uninstall_command(["x"], []) == [sys.executable, "-m", "pip", "uninstall", "--yes", "x"]


def test_installer_prefers_the_uv_running_ganzoo(monkeypatch, tmp_path):
    """$UV (set by `uv run`) wins over PATH."""
    uv = tmp_path / "uv"
    uv.write_text("")
    monkeypatch.setenv("UV", str(uv))
    assert installer.find_installer() == installer.Installer("uv", (str(uv), "pip"))


@pytest.mark.parametrize("text", ["-r", "--index-url=http://evil", "ganzoo-x; rm -rf /", "a b", ""])
def test_install_refuses_what_is_not_a_requirement(text):
    """Options and shell-looking strings never reach the installer."""
    with pytest.raises(installer.InstallError):
        installer.check_requirement(text)


@pytest.mark.parametrize("text", ["ganzoo-lecam", "ganzoo-lecam>=0.1,<2", "ganzoo_x[extra]==1.0"])
def test_install_accepts_requirements(text):
    """Names, version specifiers and extras pass unchanged."""
    assert installer.check_requirement(text) == text


@pytest.mark.parametrize("name", ["ganzoo", "Torch", "pluggy", "rich", "PyYAML"])
def test_uninstall_refuses_what_ganzoo_needs(name):
    """Removing ganzoo or its core dependencies is refused."""
    with pytest.raises(installer.InstallError, match="ganzoo needs it"):
        installer.check_uninstall_name(name)


def run_cli(*args: str, path: Path | None = None) -> subprocess.CompletedProcess:
    """The CLI in a subprocess with no terminal on stdin (and ``path`` on PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": str(path)} if path else None
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=env, timeout=120)


@pytest.mark.parametrize(("args", "message"), [
    (["install"], "nothing to install"),
    (["install", "ganzoo-x; rm -rf /"], "not a valid requirement"),
    (["install", "-e", "/nonexistent/plugin"], "not a Python project"),
    (["uninstall", "-y", "ganzoo-not-installed-anywhere"], "not installed: ganzoo-not-installed-anywhere"),
    (["uninstall", "pluggy"], "refusing to uninstall 'pluggy'"),
    (["uninstall", "rich"], "refusing to uninstall 'rich'"),
    (["uninstall", "spare-plugin"], "pass -y to uninstall non-interactively"),
])
def test_bad_install_input_is_one_line_and_exit_2(args, message, tmp_path):
    """Every refusal is one line on stderr, exit status 2, and runs no installer."""
    info = tmp_path / "spare_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: spare-plugin\nVersion: 1.0\n")
    result = run_cli(*args, path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and "running:" not in result.stderr
    assert info.is_dir()


def test_passthrough_is_only_for_commands_that_take_it():
    """'--' hands installer options to install; other commands parse as before."""
    result = run_cli("list", "--", "experiments")
    assert result.returncode == 0 and "gan-ring8" in result.stdout


def test_under_uv_project_is_detected_for_this_checkout():
    """This test runs in the project's uv-managed .venv, so install warns about `uv sync`."""
    assert installer.under_uv_project()


def test_main_reports_errors_in_one_line(capsys):
    """An InstallError is a GanzooError: the CLI prints it on one line and exits 2."""
    assert issubclass(installer.InstallError, GanzooError)
    assert main(["uninstall", "-y", "ganzoo"]) == 2
    assert capsys.readouterr().err.strip() == "ganzoo: error: refusing to uninstall 'ganzoo': ganzoo needs it to run"
