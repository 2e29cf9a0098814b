"""``ganzoo list`` and ``ganzoo show``."""

from __future__ import annotations

import argparse

from rich.table import Table

from ganzoo.commands.common import add_override_argument, err, load_engine, out
from ganzoo.errors import GanzooError

KIND_NAMES = ("experiments", "networks", "losses", "datasets", "schedules", "metrics")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``list`` and ``show``."""
    ls = sub.add_parser("list", help="list experiments or components")
    ls.add_argument("kind", nargs="?", default="experiments", help=f"one of {', '.join(KIND_NAMES)} (default: experiments)")
    ls.add_argument("pattern", nargs="?", help="fnmatch pattern, e.g. 'dcgan*'")
    ls.set_defaults(handler=list_command)
    show = sub.add_parser("show", help="print an experiment's resolved config as YAML")
    show.add_argument("experiment")
    add_override_argument(show)
    show.set_defaults(handler=show_command)


def list_command(args: argparse.Namespace) -> int:
    """List experiments or components of one kind."""
    if args.kind not in KIND_NAMES:
        raise GanzooError(f"unknown kind {args.kind!r}; use one of {', '.join(KIND_NAMES)}")
    engine = load_engine()
    table = Table(title=f"ganzoo {args.kind}", title_justify="left")
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("description")
    table.add_column("plugin", style="dim")
    for c in engine.registry.items(args.kind, args.pattern):
        table.add_row(c.name, c.description, f"{c.plugin} ({c.distribution} {c.version})")
    out.print(table)
    return 0


def show_command(args: argparse.Namespace) -> int:
    """Print an experiment's resolved config."""
    from ganzoo.config import to_yaml

    engine = load_engine()
    out.print(to_yaml(engine.resolve(args.experiment, args.overrides)), end="", markup=False, highlight=False)
    return 0
