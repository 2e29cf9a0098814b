"""Broken third-party plugins, loaded through real entry points, are reported and skipped.

Each broken plugin is a real distribution (a ``*.dist-info`` with ``entry_points.txt`` and a
RECORD) in a temporary directory on PYTHONPATH: one fails to import, one raises inside a hook,
one registers something of the wrong type, one reuses a built-in's name, one misspells a hook, one
registers a loss without ``d_loss``. ganzoo's CLI runs in a
subprocess, as a user would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MODULES = {
    "broken-import": ("broken_import", "import ganzoo_no_such_module\n"),
    "broken-hook": ("broken_hook", "from ganzoo import hookimpl\n\n\n@hookimpl\ndef ganzoo_networks(register):\n"
                                   "    raise RuntimeError('network table is corrupt')\n"),
    "broken-type": ("broken_type", "from ganzoo import hookimpl\n\n\n@hookimpl\ndef ganzoo_losses(register):\n"
                                   "    register('not-callable', 42)\n"),
    "broken-clash": ("broken_clash", "from ganzoo import hookimpl\n\n\n@hookimpl\ndef ganzoo_losses(register):\n"
                                     "    register('my-own-loss', lambda: None)\n    register('hinge', lambda: None)\n"),
    "broken-hookname": ("broken_hookname", "from ganzoo import hookimpl\n\n\n@hookimpl\ndef ganzoo_netwroks(register):\n"
                                           "    pass\n"),
    "broken-contract": ("broken_contract", "from ganzoo import hookimpl\n\n\nclass HalfLoss:\n"
                                           "    def g_loss(self, fake):\n        return -fake.mean()\n\n\n"
                                           "@hookimpl\ndef ganzoo_losses(register):\n    register('half-loss', HalfLoss)\n"),
    "good-plugin": ("good_plugin", "from ganzoo import hookimpl\n\n\n@hookimpl\ndef ganzoo_experiments(register):\n"
                                   "    register('good-ring', {'dataset': 'ring8', 'network': 'mlp'}, 'still works')\n"),
}
ERRORS = {
    "broken-import": "ModuleNotFoundError: No module named 'ganzoo_no_such_module'",
    "broken-hook": "RuntimeError in ganzoo_networks: network table is corrupt",
    "broken-type": "loss 'not-callable' must be callable, got int",
    "broken-clash": "loss 'hinge' is registered by both core (ganzoo) and broken-clash (broken-clash)",
    "broken-hookname": "@hookimpl on unknown hook ganzoo_netwroks (did you mean ganzoo_networks?)",
    "broken-contract": "loss 'half-loss' does not meet the Loss contract: it lacks d_loss",
}


def write_distribution(site: Path, dist: str, module: str, source: str) -> None:
    """A minimal installed distribution: module, METADATA, entry_points.txt and RECORD."""
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (site / f"{module}.py").write_text(source)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ganzoo]\n{dist} = {module}\n")
    files = [f"{module}.py", *(f"{info.name}/{n}" for n in ("METADATA", "entry_points.txt", "RECORD"))]
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files))


@pytest.fixture
def site(tmp_path) -> Path:
    """A directory holding all the plugins above as installed distributions."""
    for dist, (module, source) in MODULES.items():
        write_distribution(tmp_path, dist, module, source)
    return tmp_path


def ganzoo(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run the CLI with the site directory on the path and the given plugin environment variables."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("GANZOO_")}
    full.update(PYTHONPATH=str(site), COLUMNS="200", **env)
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=full,
                          cwd=site, timeout=120)


def rows(result: subprocess.CompletedProcess) -> dict[str, dict]:
    """Parsed `ganzoo plugins --json` output, by plugin name."""
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_help_works_with_broken_plugins(site):
    """--help never loads plugins."""
    result = ganzoo(site, "--help")
    assert result.returncode == 0 and "plugins" in result.stdout and result.stderr == ""


def test_list_works_and_warns_once_per_broken_plugin(site):
    """`ganzoo list` lists built-in and good experiments and warns one line per failure, no traceback."""
    result = ganzoo(site, "list")
    assert result.returncode == 0, result.stderr
    assert "gan-ring8" in result.stdout and "good-ring" in result.stdout
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == len(ERRORS)
    for dist, error in ERRORS.items():
        line = next(w for w in warnings if f"({dist})" in w)
        assert error in line and f"ganzoo uninstall {dist}" in line
    assert "Traceback" not in result.stderr


def test_plugins_reports_each_failure_and_keeps_the_rest(site):
    """`ganzoo plugins --json`: broken ones failed with their error and nothing registered; others loaded."""
    table = rows(ganzoo(site, "plugins", "--json"))
    for dist, error in ERRORS.items():
        row = table[dist]
        assert (row["status"], row["source"], row["registered"]) == ("failed", "entry point", {})
        assert error in row["error"]
        assert row["uninstall"] == f"ganzoo uninstall {dist}"
    assert table["good-plugin"]["registered"] == {"experiments": ["good-ring"]}
    assert table["core"]["status"] == "loaded" and "hinge" in table["core"]["registered"]["losses"]


def test_clashing_plugin_keeps_none_of_its_names(site):
    """A plugin that clashes is skipped whole: its non-clashing loss is not registered either."""
    result = ganzoo(site, "list", "losses")
    assert result.returncode == 0
    assert "my-own-loss" not in result.stdout and "hinge" in result.stdout
    assert "core (ganzoo" in next(line for line in result.stdout.splitlines() if "hinge" in line)


@pytest.mark.parametrize("dist", sorted(ERRORS))
def test_strict_mode_makes_each_failure_a_hard_error(site, dist):
    """GANZOO_STRICT_PLUGINS=1: one line naming the plugin and the problem, exit status 2."""
    result = ganzoo(site, "list", GANZOO_STRICT_PLUGINS="1", GANZOO_LOAD_PLUGINS=dist)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganzoo: error:") and dist in lines[0]
    assert ERRORS[dist].split(":")[0] in lines[0]


def test_strict_mode_passes_when_every_loaded_plugin_is_sound(site):
    """Strict mode fails only for failures: with just the good plugin allowed, list works."""
    result = ganzoo(site, "list", GANZOO_STRICT_PLUGINS="1", GANZOO_LOAD_PLUGINS="good-plugin")
    assert result.returncode == 0 and "good-ring" in result.stdout and result.stderr == ""


def test_allow_list_selects_third_party_plugins(site):
    """GANZOO_LOAD_PLUGINS names the distributions to load; empty loads none but the built-ins."""
    none = rows(ganzoo(site, "plugins", "--json", GANZOO_LOAD_PLUGINS=""))
    assert {none[d]["status"] for d in MODULES} == {"blocked"}
    assert {r["status"] for r in none.values() if r["source"] == "built-in"} == {"loaded"}
    one = rows(ganzoo(site, "plugins", "--json", GANZOO_LOAD_PLUGINS="good-plugin,broken-type"))
    assert (one["good-plugin"]["status"], one["broken-type"]["status"], one["broken-import"]["status"]) == \
        ("loaded", "failed", "blocked")


def test_block_list_skips_plugins_and_optional_builtins(site):
    """GANZOO_DISABLE_PLUGINS blocks third-party and optional built-in plugins by name."""
    table = rows(ganzoo(site, "plugins", "--json", GANZOO_DISABLE_PLUGINS="broken-import, mixtures"))
    assert table["broken-import"]["status"] == "blocked" and table["mixtures"]["status"] == "blocked"
    assert table["broken-hook"]["status"] == "failed"


def test_a_builtin_the_engine_needs_cannot_be_blocked(site):
    """Blocking core (the default losses and schedules) is a clear one-line error."""
    result = ganzoo(site, "list", GANZOO_DISABLE_PLUGINS="core")
    assert result.returncode == 2
    assert result.stderr.strip() == ("ganzoo: error: built-in plugin 'core' cannot be disabled: the engine needs it "
                                     "(remove it from GANZOO_DISABLE_PLUGINS)")


def test_uninstall_works_while_a_plugin_is_broken(site):
    """Even in strict mode, `ganzoo uninstall` removes a broken plugin; afterwards it is gone."""
    result = ganzoo(site, "uninstall", "-y", "broken-import", "--", "--target", str(site), GANZOO_STRICT_PLUGINS="1")
    assert result.returncode == 0, result.stderr
    assert not (site / "broken_import.py").exists()
    assert "broken-import" not in rows(ganzoo(site, "plugins", "--json"))
