"""Handlers of the CLI's subcommands; each returns an exit code."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version as dist_version
from typing import Any

from rich.console import Console
from rich.table import Table

from ganzoo import __version__
from ganzoo.cli import command
from ganzoo.config import COMPONENTS, to_yaml
from ganzoo.engine import Engine
from ganzoo.errors import GanzooError
from ganzoo.registry import KINDS

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def load_engine() -> Engine:
    """Load plugins and report (one line each) the ones that failed."""
    engine = Engine()
    for info in engine.failed_plugins:
        err.print(f"[yellow]warning:[/] plugin {info.name} ({info.distribution}) failed and was skipped: "
                  f"{info.error} (see 'ganzoo plugins'; remove with '{info.uninstall_hint}')", markup=True,
                  highlight=False)
    return engine


def run_overrides(args: argparse.Namespace) -> list[str]:
    """--set values plus the shortcuts --steps and --seed."""
    overrides = list(args.overrides)
    if getattr(args, "steps", None) is not None:
        overrides.append(f"train.steps={args.steps}")
    if getattr(args, "seed", None) is not None:
        overrides.append(f"train.seed={args.seed}")
    return overrides


def versions(engine: Engine, config: dict) -> dict[str, Any]:
    """Versions of ganzoo, torch, torchvision and every plugin distribution this config uses."""
    import torch

    plugins = {}
    for key, kind in COMPONENTS.items():
        c = engine.registry.get(kind, config[key]["name"])
        plugins[c.distribution] = c.version
    for name in config["eval"]["metrics"]:
        c = engine.registry.get("metrics", name)
        plugins[c.distribution] = c.version
    return {"ganzoo": __version__, "torch": str(torch.__version__), "torchvision": dist_version("torchvision"),
            "python": sys.version.split()[0], "plugins": plugins}


@command("run")
def run_command(args: argparse.Namespace) -> int:
    """Train an experiment into a new run directory."""
    from ganzoo.data import default_data_root
    from ganzoo.device import resolve_device
    from ganzoo.rundir import create_run_dir, plan_run_dir
    from ganzoo.trainer import Trainer

    engine = load_engine()
    config = engine.resolve(args.experiment, run_overrides(args))
    device = resolve_device(args.device)
    run_dir = plan_run_dir(args.out, args.experiment)
    data_root = default_data_root(args.data_root)
    data = engine.load_data(config, "train", data_root)
    eval_data = engine.load_data(config, config["eval"]["split"], data_root) if config["eval"]["metrics"] else None
    for name in config["eval"]["metrics"]:
        engine.metric(name).check_applies(name, data.spec)
    try:
        trainer = Trainer(engine, config, device, run_dir, data, data_root, eval_data,
                          progress=not args.no_progress)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise GanzooError(f"cannot build {args.experiment!r} with this config: {exc}".splitlines()[0]) from None
    config["run"] = {"device": str(device), "data": data.spec.to_dict(), "versions": versions(engine, config)}
    create_run_dir(run_dir, config)
    err.print(f"training [bold]{args.experiment}[/] on {device} for {config['train']['steps']} steps "
              f"-> {run_dir}", highlight=False)
    results = trainer.train()
    for metric, result in results.items():
        shown = ", ".join(f"{k}={v:.4g}" for k, v in result["values"].items())
        out.print(f"{metric}: {shown}", highlight=False)
    out.print(f"run directory: {run_dir}", highlight=False)
    return 0


@command("list")
def list_command(args: argparse.Namespace) -> int:
    """List experiments or components of one kind."""
    if args.kind not in KINDS:
        raise GanzooError(f"unknown kind {args.kind!r}; use one of {', '.join(KINDS)}")
    engine = load_engine()
    table = Table(title=f"ganzoo {args.kind}", title_justify="left")
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("description")
    table.add_column("plugin", style="dim")
    for c in engine.registry.items(args.kind, args.pattern):
        table.add_row(c.name, c.description, f"{c.plugin} ({c.distribution} {c.version})")
    out.print(table)
    return 0


@command("show")
def show_command(args: argparse.Namespace) -> int:
    """Print an experiment's resolved config."""
    engine = load_engine()
    out.print(to_yaml(engine.resolve(args.experiment, args.overrides)), end="", markup=False, highlight=False)
    return 0
