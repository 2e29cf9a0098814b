# PYTHON_ARGCOMPLETE_OK (argcomplete's global completion looks for this marker)
"""The command line: parses, calls the library, prints. Bad input exits 2 with one line.

Each subcommand is a module under ``ganzoo.commands`` with ``add_parser(subparsers)``, which
sets the handler (``parser.set_defaults(handler=...)``); modules must not import torch at the
top, so ``ganzoo --help`` stays fast. Shell completion (``ganzoo.commands.completion``) answers
before any argument is parsed, and only when the shell asks.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ganzoo import __version__

COMMAND_MODULES = [
    "ganzoo.commands.run",
    "ganzoo.commands.listing",
    "ganzoo.commands.plugins",
    "ganzoo.commands.sample",
    "ganzoo.commands.eval",
    "ganzoo.commands.bench",
    "ganzoo.commands.export",
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="ganzoo", description="A plugin-based, modular GAN zoo.")
    parser.add_argument("--version", action="version", version=f"ganzoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse argv; a subcommand with a ``passthrough`` default gets the arguments after '--' there."""
    if "--" in argv:
        cut = argv.index("--")
        args = parser.parse_args(argv[:cut])
        if getattr(args, "passthrough", None) is not None:
            args.passthrough = argv[cut + 1:]
            return args
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ganzoo`` console script."""
    from ganzoo.errors import GanzooError

    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:
        from ganzoo.commands.completion import answer

        answer(parser)
    args = parse(parser, sys.argv[1:] if argv is None else list(argv))
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except GanzooError as exc:
        print(f"ganzoo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ganzoo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
