"""``ganzoo plugins``, ``install``, ``uninstall`` and ``new-plugin``.

``install`` and ``uninstall`` never load plugins, so they work however broken one is.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from rich.table import Table

from ganzoo.commands.common import err, out
from ganzoo.errors import GanzooError

STATUS_STYLE = {"loaded": "green", "failed": "red", "blocked": "yellow"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``plugins``, ``install``, ``uninstall`` and ``new-plugin``."""
    plugins = sub.add_parser("plugins", help="list plugins, their status and what each registered")
    plugins.add_argument("--json", action="store_true", help="print JSON instead of a table")
    plugins.set_defaults(handler=plugins_command)

    install = sub.add_parser("install", help="install plugin packages into ganzoo's environment",
                             epilog="arguments after '--' go to the installer unchanged, "
                                    "e.g. ganzoo install PKG -- --index-url URL")
    install.add_argument("packages", nargs="*", metavar="PKG", help="requirement, e.g. ganzoo-lecam or NAME>=1.0")
    install.add_argument("-U", "--upgrade", action="store_true", help="upgrade packages already installed")
    install.add_argument("-e", "--editable", action="append", default=[], metavar="PATH",
                         help="install a local plugin project in editable mode (repeatable)")
    install.set_defaults(handler=install_command, passthrough=[])

    uninstall = sub.add_parser("uninstall", help="remove plugin packages from ganzoo's environment",
                               epilog="arguments after '--' go to the installer unchanged")
    uninstall.add_argument("packages", nargs="+", metavar="PKG", help="distribution name")
    uninstall.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    uninstall.set_defaults(handler=uninstall_command, passthrough=[])

    new = sub.add_parser("new-plugin", help="create a new plugin project from a template")
    new.add_argument("name", help="plugin name, e.g. 'wgan-lp' (the package becomes ganzoo-wgan-lp)")
    new.add_argument("--dir", default=".", help="parent directory of the new project (default: .)")
    new.set_defaults(handler=new_plugin_command)


# --- plugins ----------------------------------------------------------------------------------
def plugin_rows(engine) -> list[dict]:
    """One plain dict per plugin: provenance, status, hooks and registered components."""
    registry = engine.registry
    rows = []
    for info in engine.plugins:
        rows.append({
            "name": info.name, "distribution": info.distribution, "version": info.version,
            "source": info.source, "status": info.status, "error": info.error, "hooks": info.hooks,
            "registered": registry.by_plugin(info.name, info.distribution) if info.status == "loaded" else {},
            "uninstall": info.uninstall_hint if info.source == "entry point" else "",
        })
    return rows


def plugins_command(args: argparse.Namespace) -> int:
    """Show every plugin: name, version, source, status, hooks, components; failures with their fix."""
    from ganzoo.engine import Engine

    rows = plugin_rows(Engine())
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    # Four columns in fixed proportions, so at 80 columns each is wide enough to wrap between words.
    table = Table(title="ganzoo plugins", title_justify="left", expand=True)
    table.add_column("plugin", overflow="fold", ratio=5)
    table.add_column("status", overflow="fold", ratio=4)
    table.add_column("hooks", overflow="fold", ratio=4)
    table.add_column("registered", overflow="fold", ratio=9)
    for row in rows:
        status = f"{row['source']} [{STATUS_STYLE[row['status']]}]{row['status']}[/]"
        hooks = ", ".join(h.removeprefix("ganzoo_") for h in row["hooks"])
        table.add_row(f"[bold cyan]{row['name']}[/] {row['distribution']} {row['version']}", status, hooks,
                      _registered(row))
    out.print(table, highlight=False)
    return 0


def _registered(row: dict) -> str:
    """A plugin's components by kind, or for a failed plugin its error and how to remove it."""
    if row["error"]:
        return f"[red]{row['error']}[/]" + (f"\nremove: {row['uninstall']}" if row["uninstall"] else "")
    return "\n".join(f"[dim]{kind}:[/] {', '.join(names)}" for kind, names in row["registered"].items())


# --- install / uninstall ----------------------------------------------------------------------
def _plugin_entry_points() -> set[tuple[str, str]]:
    from importlib.metadata import entry_points

    from ganzoo.plugins import ENTRY_POINT_GROUP

    importlib.invalidate_caches()
    return {(ep.dist.name if ep.dist else "?", ep.name) for ep in entry_points(group=ENTRY_POINT_GROUP)}


def install_command(args: argparse.Namespace) -> int:
    """Install requirements and editable paths with the environment's installer, then report new plugins."""
    from ganzoo import installer

    if not args.packages and not args.editable:
        raise GanzooError("nothing to install: name a package (ganzoo install PKG) or a path (-e PATH)")
    requirements = [installer.check_requirement(p) for p in args.packages]
    for path in args.editable:
        if not (Path(path) / "pyproject.toml").is_file() and not (Path(path) / "setup.py").is_file():
            raise GanzooError(f"-e {path}: not a Python project (no pyproject.toml or setup.py there)")
    tool = installer.find_installer()
    before = _plugin_entry_points()
    cmd = tool.install_command(requirements, args.editable, args.upgrade, args.passthrough)
    err.print(f"[dim]running: {' '.join(cmd)}[/]", highlight=False)
    installer.run(cmd)
    added = sorted(_plugin_entry_points() - before)
    if added:
        for dist, name in added:
            out.print(f"new plugin [bold]{name}[/] from {dist}; see 'ganzoo plugins' and 'ganzoo list'",
                      highlight=False)
    else:
        out.print("installed; no new ganzoo plugin is visible to this interpreter (see 'ganzoo plugins')",
                  highlight=False)
    if installer.under_uv_project():
        names = " ".join(args.packages) or "NAME"
        err.print(
            "[yellow]note:[/] this is a uv project's environment: 'uv run' keeps packages installed this way, "
            "but 'uv sync' removes them. To keep them, add them to the project "
            f"('uv add {names}'), or use them for one command ('uv run --with {names} ganzoo ...').",
            highlight=False)
    return 0


def _provides(name: str) -> list[str]:
    try:
        return sorted(ep.name for ep in distribution(name).entry_points if ep.group == "ganzoo")
    except PackageNotFoundError:
        return []


def uninstall_command(args: argparse.Namespace) -> int:
    """Remove distributions after confirmation (or -y); never loads plugins, so it works when one is broken."""
    from ganzoo import installer

    names = [installer.check_uninstall_name(p) for p in args.packages]
    missing = [n for n in names if installer.installed_version(n) is None]
    if missing:
        raise GanzooError(f"not installed: {', '.join(missing)} (see 'ganzoo plugins')")
    if not args.yes and not sys.stdin.isatty():
        raise GanzooError("not removing anything without confirmation; pass -y to uninstall non-interactively")
    for name in names:
        plugins = ", ".join(_provides(name)) or "no ganzoo plugins"
        err.print(f"{name} {installer.installed_version(name)} ({plugins})", highlight=False)
    if not args.yes:
        from rich.prompt import Confirm

        if not Confirm.ask(f"uninstall {', '.join(names)}?", console=err, default=False):
            err.print("nothing removed")
            return 1
    tool = installer.find_installer()
    cmd = tool.uninstall_command(names, args.passthrough)
    err.print(f"[dim]running: {' '.join(cmd)}[/]", highlight=False)
    installer.run(cmd)
    out.print(f"uninstalled {', '.join(names)}", highlight=False)
    return 0


# --- new-plugin -------------------------------------------------------------------------------
def new_plugin_command(args: argparse.Namespace) -> int:
    """Write a plugin project skeleton and say what to do next."""
    from ganzoo.scaffold import create_plugin

    project = create_plugin(args.name, Path(args.dir))
    for path in sorted(p for p in project.rglob("*") if p.is_file()):
        out.print(f"created {path}", highlight=False)
    out.print(f"\nnext: cd {project} && {sys.executable} -m pytest    then: ganzoo install -e {project}",
              highlight=False)
    return 0
