"""``ganzoo list`` and ``ganzoo show``."""

from __future__ import annotations

import argparse
from typing import Any

import yaml
from rich.table import Table

from ganzoo.commands import completion
from ganzoo.commands.common import add_json_argument, add_override_argument, load_engine, out, print_json
from ganzoo.errors import GanzooError

KIND_NAMES = ("experiments", "networks", "losses", "datasets", "schedules", "metrics")
#: ``show --origin`` aligns its comments at this column, or two past the longest line under 72 characters
#: (a longer line has its comment two spaces after it).
COMMENT_COLUMN = 40


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``list`` and ``show``."""
    ls = sub.add_parser("list", help="list experiments or components")
    ls.add_argument("kind", nargs="?", default="experiments",
                    help=f"one of {', '.join(KIND_NAMES)} (default: experiments)").completer = completion.kinds
    ls.add_argument("pattern", nargs="?", help="fnmatch pattern, e.g. 'dcgan*'").completer = completion.component_names
    add_json_argument(ls, "print a JSON list: name, description, plugin, distribution, version, params")
    ls.set_defaults(handler=list_command)
    show = sub.add_parser("show", help="print an experiment's resolved config as YAML")
    show.add_argument("experiment", help="experiment name from 'ganzoo list', or FILE.yaml[:NAME]"
                      ).completer = completion.experiments
    add_override_argument(show)
    show.add_argument("--origin", action="store_true",
                      help="say where each value came from: experiment, parent NAME, default or --set")
    add_json_argument(show, "print JSON: experiment, extends (its parents), config and origins")
    show.set_defaults(handler=show_command)


def list_command(args: argparse.Namespace) -> int:
    """List experiments or components of one kind, as a table or as JSON."""
    from ganzoo.api import list_components

    if args.kind not in KIND_NAMES:
        raise GanzooError(f"unknown kind {args.kind!r}; use one of {', '.join(KIND_NAMES)}")
    engine = load_engine()
    if args.json:
        print_json(list_components(args.kind, args.pattern, engine=engine))
        return 0
    table = Table(title=f"ganzoo {args.kind}", title_justify="left")
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("description")
    table.add_column("plugin", style="dim")
    for c in engine.registry.items(args.kind, args.pattern):
        table.add_row(c.name, c.description, f"{c.plugin} ({c.distribution} {c.version})")
    out.print(table)
    return 0


def show_command(args: argparse.Namespace) -> int:
    """Print an experiment's resolved config (a registry name or FILE.yaml[:NAME]), with origins if asked."""
    from ganzoo.api import explain_config
    from ganzoo.config import to_yaml

    resolved = explain_config(args.experiment, args.overrides, engine=load_engine())
    if args.json:
        print_json({"experiment": resolved.config["experiment"], "extends": resolved.parents,
                    "config": resolved.config, "origins": resolved.origins})
        return 0
    text = yaml_with_origins(resolved.config, resolved.origins) if args.origin else to_yaml(resolved.config)
    out.print(text, end="", markup=False, highlight=False)
    return 0


def yaml_with_origins(config: dict, origins: dict[str, str]) -> str:
    """The config as YAML, each value followed by a comment naming its origin."""
    lines = _origin_lines(config, origins, "")
    width = max([COMMENT_COLUMN - 2, *(len(line) for line, origin in lines if origin and len(line) < 72)])
    return "".join(f"{line.ljust(width)}  # {origin}\n" if origin else f"{line}\n" for line, origin in lines)


def _origin_lines(config: dict, origins: dict[str, str], prefix: str) -> list[tuple[str, str | None]]:
    """(YAML line, origin or None) for each key of a mapping, a nested mapping indented below its key."""
    lines: list[tuple[str, str | None]] = []
    indent = "  " * prefix.count(".")
    for key, value in config.items():
        if isinstance(value, dict) and value:
            lines.append((f"{indent}{key}:", None))
            lines += _origin_lines(value, origins, f"{prefix}{key}.")
            continue
        lines.append((indent + _dump(key, value), origins.get(prefix + key)))
    return lines


def _dump(key: str, value: Any) -> str:
    """One ``key: value`` line of YAML (lists in flow style, [a, b]): a one-key flow mapping without its braces."""
    return yaml.safe_dump({key: value}, default_flow_style=True, width=10**6).strip()[1:-1]
