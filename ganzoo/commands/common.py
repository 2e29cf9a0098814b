"""What several subcommands share: consoles, loading the engine, run overrides."""

from __future__ import annotations

import argparse

from rich.console import Console

from ganzoo.engine import Engine

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def load_engine() -> Engine:
    """Load plugins and report (one line each) the ones that failed."""
    engine = Engine()
    for info in engine.failed_plugins:
        err.print(f"[yellow]warning:[/] plugin {info.name} ({info.distribution}) failed and was skipped: "
                  f"{info.error} (see 'ganzoo plugins'; remove with '{info.uninstall_hint}')", highlight=False)
    return engine


def add_override_argument(parser: argparse.ArgumentParser) -> None:
    """The repeatable --set KEY=VALUE option."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set loss.name=hinge (repeatable)")


#: ``ganzoo run`` fast-path options and the train keys they set.
FAST_PATH_OPTIONS = {"amp": "amp", "compile": "compile", "compile_mode": "compile_mode",
                     "channels_last": "channels_last", "adam": "adam", "threads": "threads"}


def run_overrides(args: argparse.Namespace) -> list[str]:
    """--set values plus the shortcuts --steps, --seed, --tensorboard and the fast-path options."""
    overrides = list(args.overrides)
    for dest, key in FAST_PATH_OPTIONS.items():
        value = getattr(args, dest, None)
        if value is not None:
            overrides.append(f"train.{key}={str(value).lower() if isinstance(value, bool) else value}")
    if getattr(args, "tensorboard", False):
        overrides.append("logging.tensorboard=true")
    if getattr(args, "steps", None) is not None:
        overrides.append(f"train.steps={args.steps}")
    if getattr(args, "seed", None) is not None:
        overrides.append(f"train.seed={args.seed}")
    return overrides
