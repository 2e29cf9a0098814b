"""``ganzoo run``: train an experiment into a new run directory."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version as dist_version
from typing import Any

from ganzoo.commands.common import add_override_argument, err, load_engine, out, run_overrides
from ganzoo.errors import GanzooError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``run``."""
    run = sub.add_parser("run", help="train an experiment")
    run.add_argument("experiment", help="experiment name from 'ganzoo list'")
    run.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    run.add_argument("--steps", type=int, help="total training iterations (train.steps)")
    run.add_argument("--seed", type=int, help="random seed (train.seed)")
    add_override_argument(run)
    run.add_argument("--data-root", help="data directory (default: $GANZOO_DATA, else the user cache)")
    run.add_argument("--out", help="run directory (default: runs/<experiment>-<timestamp>)")
    run.add_argument("--no-progress", action="store_true", help="no live progress bar")
    run.set_defaults(handler=run_command)


def versions(engine: Any, config: dict) -> dict[str, Any]:
    """Versions of ganzoo, torch, torchvision and every plugin distribution this config uses."""
    import torch

    from ganzoo import __version__
    from ganzoo.config import COMPONENTS

    plugins = {}
    used = [(kind, config[key]["name"]) for key, kind in COMPONENTS.items()]
    used += [("metrics", name) for name in config["eval"]["metrics"]]
    for kind, name in used:
        c = engine.registry.get(kind, name)
        plugins[c.distribution] = c.version
    return {"ganzoo": __version__, "torch": str(torch.__version__), "torchvision": dist_version("torchvision"),
            "python": sys.version.split()[0], "plugins": plugins}


def run_command(args: argparse.Namespace) -> int:
    """Validate everything, then create the run directory and train."""
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
        trainer = Trainer(engine, config, device, run_dir, data, data_root, eval_data, progress=not args.no_progress)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise GanzooError(f"cannot build {args.experiment!r} with this config: {exc}".splitlines()[0]) from None
    config["run"] = {"device": str(device), "data": data.spec.to_dict(), "versions": versions(engine, config)}
    create_run_dir(run_dir, config)
    err.print(f"training [bold]{args.experiment}[/] on {device} for {config['train']['steps']} steps -> {run_dir}",
              highlight=False)
    results = trainer.train()
    for metric, result in results.items():
        shown = ", ".join(f"{k}={v:.4g}" for k, v in result["values"].items())
        out.print(f"{metric}: {shown}", highlight=False)
    out.print(f"run directory: {run_dir}", highlight=False)
    return 0
