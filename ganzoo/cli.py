"""The command line: parses, calls the library, prints. Bad input exits 2 with one line."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from ganzoo import __version__

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    """Register a subcommand handler."""
    def wrap(fn):
        COMMANDS[name] = fn
        return fn
    return wrap


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="ganzoo", description="A plugin-based, modular GAN zoo.")
    parser.add_argument("--version", action="version", version=f"ganzoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="train an experiment")
    run.add_argument("experiment", help="experiment name from 'ganzoo list'")
    run.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    run.add_argument("--steps", type=int, help="total training iterations (train.steps)")
    run.add_argument("--seed", type=int, help="random seed (train.seed)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, e.g. --set loss.name=hinge (repeatable)")
    run.add_argument("--data-root", help="data directory (default: $GANZOO_DATA, else the user cache)")
    run.add_argument("--out", help="run directory (default: runs/<experiment>-<timestamp>)")
    run.add_argument("--no-progress", action="store_true", help="no live progress bar")

    ls = sub.add_parser("list", help="list experiments or components")
    ls.add_argument("kind", nargs="?", default="experiments",
                    help="experiments (default), networks, losses, datasets, schedules or metrics")
    ls.add_argument("pattern", nargs="?", help="fnmatch pattern, e.g. 'dcgan*'")

    show = sub.add_parser("show", help="print an experiment's resolved config as YAML")
    show.add_argument("experiment")
    show.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ganzoo`` console script."""
    from ganzoo.errors import GanzooError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        from ganzoo import commands  # noqa: F401 - registers the handlers

        return COMMANDS[args.command](args)
    except GanzooError as exc:
        print(f"ganzoo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ganzoo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
