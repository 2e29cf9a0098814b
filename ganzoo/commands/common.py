"""What several subcommands share: consoles, loading the engine, run overrides, --json output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console

from ganzoo.commands.completion import override_keys
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
    """The repeatable --set KEY=VALUE option (its keys complete in the shell)."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set loss.name=hinge (repeatable)"
                        ).completer = override_keys


def add_json_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """The --json option: machine-readable output on stdout, for scripts."""
    parser.add_argument("--json", action="store_true", help=what)


def print_json(data: Any) -> None:
    """Write data as indented JSON on stdout (values JSON lacks, such as a plugin's Path default, as strings)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


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


def describe_values(result: dict[str, Any]) -> str:
    """A metric result's values, each beside what real data scores where its protocol holds a reference:
    ``fd=219.3 (real vs real: 2.104)``."""
    reference = result.get("protocol", {}).get("reference") or {}
    real, label = reference.get("values") or {}, reference.get("label", "real")
    return ", ".join(f"{key}={value:.4g}" + (f" ({label}: {real[key]:.4g})" if key in real else "")
                     for key, value in result["values"].items())
