"""``ganzoo new-plugin``: write a plugin project from the templates in ganzoo/templates/plugin."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from string import Template

from ganzoo import __version__
from ganzoo.errors import GanzooError

NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

#: template file -> path in the new project ({module} is the import name).
LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "conftest.py.tmpl": "conftest.py",
    "module.py.tmpl": "{module}/__init__.py",
    "test_plugin.py.tmpl": "tests/test_{module}.py",
}


def plugin_names(name: str) -> dict[str, str]:
    """Template values for a plugin name: the plugin, its distribution and its import name."""
    name = name.removeprefix("ganzoo-")
    if not NAME.match(name):
        raise GanzooError(f"plugin name {name!r}: use lower-case letters, digits and single hyphens, e.g. 'wgan-lp'")
    return {"name": name, "project": f"ganzoo-{name}", "module": f"ganzoo_{name.replace('-', '_')}",
            "ganzoo_version": __version__}


def create_plugin(name: str, parent: Path) -> Path:
    """Write ``parent/ganzoo-NAME/`` and return it; an existing directory is never overwritten."""
    values = plugin_names(name)
    project = Path(parent) / values["project"]
    if project.exists():
        raise GanzooError(f"{project} already exists; pick another name or --dir")
    templates = files("ganzoo") / "templates" / "plugin"
    for template, target in LAYOUT.items():
        path = project / target.format(**values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(templates.joinpath(template).read_text(encoding="utf-8")).substitute(values),
                        encoding="utf-8")
    return project
