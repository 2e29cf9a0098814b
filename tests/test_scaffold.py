"""`ganzoo new-plugin`: the generated project is complete and its own test passes as generated."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ganzoo.cli import main
from ganzoo.errors import GanzooError
from ganzoo.scaffold import create_plugin, plugin_names


def test_new_plugin_writes_a_complete_project(tmp_path, capsys):
    """pyproject with the entry point, a module with a hook, README, conftest and a test."""
    assert main(["new-plugin", "label-smooth", "--dir", str(tmp_path)]) == 0
    project = tmp_path / "ganzoo-label-smooth"
    assert f"created {project / 'pyproject.toml'}" in capsys.readouterr().out
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "ganzoo-label-smooth"' in pyproject
    assert '[project.entry-points.ganzoo]\nlabel-smooth = "ganzoo_label_smooth"\n' in pyproject
    module = (project / "ganzoo_label_smooth" / "__init__.py").read_text()
    assert "@hookimpl" in module and "def ganzoo_losses(register):" in module
    assert (project / "conftest.py").read_text().count('pytest_plugins = ["ganzoo.testing"]') == 1
    assert (project / "README.md").is_file() and (project / "tests" / "test_ganzoo_label_smooth.py").is_file()


def test_generated_test_passes_as_generated(tmp_path):
    """The generated project's pytest run (conformance suite + registry check) passes."""
    project = create_plugin("label-smooth", tmp_path)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project,
                            capture_output=True, text=True, env={**os.environ, "GANZOO_OFFLINE": "1"}, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed" in result.stdout


def test_existing_directory_is_never_overwritten(tmp_path):
    """A second new-plugin with the same name is refused; the first project is untouched."""
    project = create_plugin("twice", tmp_path)
    readme = (project / "README.md").read_text()
    with pytest.raises(GanzooError, match="already exists"):
        create_plugin("twice", tmp_path)
    assert (project / "README.md").read_text() == readme


@pytest.mark.parametrize("name", ["Bad", "two--hyphens", "-lead", "with space", "9lives", "under_score"])
def test_bad_names_are_refused(name):
    """Plugin names are lower-case words joined by single hyphens."""
    with pytest.raises(GanzooError, match="plugin name"):
        plugin_names(name)


def test_ganzoo_prefix_is_not_doubled():
    """'ganzoo-foo' and 'foo' make the same project."""
    assert plugin_names("ganzoo-foo")["project"] == plugin_names("foo")["project"] == "ganzoo-foo"
    assert plugin_names("foo-bar")["module"] == "ganzoo_foo_bar"
