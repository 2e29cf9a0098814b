"""``ganzoo run``: train an experiment into a new run directory, or resume one."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

from ganzoo import launch
from ganzoo.commands.common import add_override_argument, err, load_engine, out, run_overrides
from ganzoo.errors import CheckpointError, GanzooError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``run``."""
    run = sub.add_parser("run", help="train an experiment, or resume a run")
    run.add_argument("experiment", nargs="?",
                     help="experiment name from 'ganzoo list', or a YAML file of experiments (FILE.yaml[:NAME])")
    run.add_argument("--resume", metavar="RUN_DIR",
                     help="continue an interrupted run to its configured total steps (--set may change its config)")
    run.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    run.add_argument("--steps", type=int, help="total training iterations (train.steps)")
    run.add_argument("--seed", type=int, help="random seed (train.seed)")
    add_override_argument(run)
    run.add_argument("--data-root", help="data directory (default: $GANZOO_DATA, else the user cache)")
    run.add_argument("--out", help="run directory (default: runs/<experiment>-<timestamp>)")
    run.add_argument("--no-progress", action="store_true", help="no live progress bar")
    run.add_argument("--tensorboard", action="store_true",
                     help="log to RUN_DIR/tensorboard (logging.tensorboard; needs the 'tensorboard' extra)")
    add_fast_path_arguments(run)
    launch.add_arguments(run)
    run.set_defaults(handler=run_command)


def add_fast_path_arguments(parser: argparse.ArgumentParser) -> None:
    """The speed options; each sets a train.* key (values are checked with the config)."""
    group = parser.add_argument_group("fast paths (train.* keys; auto picks per device, see README)")
    group.add_argument("--amp", metavar="MODE", help="autocast: auto | off | bf16 | fp16 (fp16 needs CUDA)")
    group.add_argument("--compile", action="store_true", default=None, help="torch.compile G and D")
    group.add_argument("--compile-mode", metavar="M",
                       help="default | reduce-overhead (CUDA graphs) | max-autotune | max-autotune-no-cudagraphs")
    group.add_argument("--channels-last", metavar="WHEN", help="auto (on for 2D-conv nets) | on | off")
    group.add_argument("--adam", metavar="KERNEL", help="auto | fused | foreach | for-loop")
    group.add_argument("--threads", type=int, metavar="N", help="CPU intra-op threads (default: physical cores)")


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
    """Launch the workers (--nproc-per-node), or train in this process, as one rank when torchrun started it."""
    from ganzoo import distributed
    from ganzoo.device import resolve_device

    engine = load_engine()
    if launch.requested(args):
        return launch.launch(args, check_launch(engine, args))
    device = distributed.rank_device(resolve_device(args.device))
    with distributed.session(device, args.dist_backend):
        return resume_run(engine, args, device) if args.resume else start_run(engine, args, device)


def check_launch(engine: Any, args: argparse.Namespace) -> Path:
    """Validate a command before its workers start; returns the run directory it will use."""
    import torch

    from ganzoo.device import resolve_device
    from ganzoo.resume import plan_resume
    from ganzoo.rundir import plan_run_dir
    from ganzoo.sources import resolve_experiment

    device = resolve_device(args.device)
    if device.type == "cuda" and args.nproc_per_node > torch.cuda.device_count():
        raise GanzooError(f"--nproc-per-node {args.nproc_per_node}: this node has only "
                          f"{torch.cuda.device_count()} GPU(s); use one process per GPU")
    if args.resume:
        return plan_resume(engine, Path(args.resume), args.experiment, run_overrides(args), lambda text: None).run_dir
    if args.experiment is None:
        raise GanzooError("name an experiment (see 'ganzoo list') or a YAML file, or pass --resume RUN_DIR")
    name, _ = resolve_experiment(engine, args.experiment, run_overrides(args))
    return plan_run_dir(args.out, name)


def start_run(engine: Any, args: argparse.Namespace, device: Any) -> int:
    """Validate everything, then create the run directory and train (rank 0 plans and writes it)."""
    from ganzoo import distributed
    from ganzoo.rundir import remove_unstarted

    trainer, run_dir = prepare_start(engine, args, device)
    try:
        return train_and_report(trainer, run_dir)
    except GanzooError:
        if distributed.current().is_main:
            remove_unstarted(run_dir)
        raise


def prepare_start(engine: Any, args: argparse.Namespace, device: Any) -> tuple[Any, Path]:
    """Validate everything, create the run directory and build its trainer; nothing is trained yet."""
    from ganzoo import distributed

    if args.experiment is None:
        raise GanzooError("name an experiment (see 'ganzoo list') or a YAML file, or pass --resume RUN_DIR")
    from ganzoo.rundir import create_run_dir, plan_run_dir
    from ganzoo.sources import resolve_experiment

    name, config = resolve_experiment(engine, args.experiment, run_overrides(args))
    main = distributed.current().is_main
    run_dir = distributed.from_main(lambda: plan_run_dir(args.out, name))
    trainer = build_trainer(engine, config, device, run_dir, args)
    config["run"] = {"device": str(device), "data": trainer.spec.to_dict(), "versions": versions(engine, config),
                     "distributed": distributed.record(config, device)}
    if main:
        create_run_dir(run_dir, config)
        err.print(f"training [bold]{name}[/] on {device}{_ranks_note(trainer)} for {config['train']['steps']} "
                  f"steps -> {run_dir}", highlight=False)
    return trainer, run_dir


def _ranks_note(trainer: Any) -> str:
    size = trainer.ranks.world_size
    return f" x {size} processes (global batch {trainer.config['train']['batch_size'] * size})" if size > 1 else ""


def resume_run(engine: Any, args: argparse.Namespace, device: Any) -> int:
    """Continue a run from its newest good checkpoint to its configured total steps (with any world size)."""
    trainer, run_dir = prepare_resume(engine, args, device)
    if trainer.step >= trainer.total_steps:
        out.print(f"{run_dir} is already complete at step {trainer.step}; raise --steps to train longer",
                  highlight=False)
        return 0
    return train_and_report(trainer, run_dir)


def prepare_resume(engine: Any, args: argparse.Namespace, device: Any) -> tuple[Any, Path]:
    """A trainer loaded from a run's newest good checkpoint, the resume recorded; nothing is trained yet.

    A run already at its total steps comes back loaded, with nothing written.
    """
    from ganzoo import distributed
    from ganzoo.checkpoint import drop_after
    from ganzoo.resume import plan_resume
    from ganzoo.rundir import truncate_log, write_config

    if args.out:
        raise GanzooError("--out does not go with --resume: a resumed run continues in its own directory")
    main = distributed.current().is_main

    def warn(text: str) -> None:
        if main:
            err.print(f"[yellow]warning:[/] {text}", highlight=False)

    plan = plan_resume(engine, Path(args.resume), args.experiment, run_overrides(args), warn)
    config, run_dir = plan.config, plan.run_dir
    trainer = build_trainer(engine, config, device, run_dir, args)
    if plan.state is not None:
        if _plain(plan.state["spec"]) != _plain(trainer.spec.to_dict()):
            raise CheckpointError(f"the data set now gives {trainer.spec.to_dict()}, the checkpoint was trained on "
                                  f"{plan.state['spec']}; resume with the same dataset settings")
        trainer.load_state_dict(plan.state)
    if trainer.step >= config["train"]["steps"]:
        return trainer, run_dir
    now = versions(engine, config)
    if config["run"].get("versions") not in (None, now):
        warn("library or plugin versions differ from the ones this run started with; "
             "the resumed run may not be bitwise identical to an uninterrupted one")
    before = (config["run"].get("distributed") or {}).get("world_size", 1)
    config["run"]["distributed"] = distributed.record(config, device)
    if before != trainer.ranks.world_size:
        warn(f"this run was trained on {before} process(es) and continues on {trainer.ranks.world_size}: "
             f"the global batch is now {config['run']['distributed']['global_batch_size']} and the data order differs")
    if main:
        truncate_log(run_dir, trainer.step)
        drop_after(trainer.checkpoint_dir, trainer.step)
    record = {"step": trainer.step, "device": str(device), "world_size": trainer.ranks.world_size,
              "changes": plan.changes}
    config["run"]["device"] = str(device)
    config["run"]["resumes"] = list(config["run"].get("resumes") or []) + [record]
    if main:
        write_config(run_dir, config)
    trainer.log_event({"event": "resume", **record})
    if plan.changes and plan.state is not None:
        trainer.save_checkpoint(force=True)
    changed = f" with {', '.join(f'{k}={v[1]!r}' for k, v in plan.changes.items())}" if plan.changes else ""
    if main:
        err.print(f"resuming [bold]{config['experiment']}[/] at step {trainer.step} of {config['train']['steps']} "
                  f"on {device}{_ranks_note(trainer)}{changed} -> {run_dir}", highlight=False)
    return trainer, run_dir


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def build_trainer(engine: Any, config: dict, device: Any, run_dir: Path, args: argparse.Namespace) -> Any:
    """Load the data and build the trainer (with its best-checkpoint tracker); nothing is written yet."""
    from ganzoo import distributed
    from ganzoo.best import best_tracker
    from ganzoo.data import default_data_root
    from ganzoo.metrics.base import model_spec
    from ganzoo.trainer import Trainer

    data_root = default_data_root(args.data_root)
    data = engine.load_data(config, "train", data_root)
    eval_data = engine.load_data(config, config["eval"]["split"], data_root) if config["eval"]["metrics"] else None
    best = best_tracker(engine, config)
    try:
        trainer = Trainer(engine, config, device, run_dir, data, data_root, eval_data,
                          progress=not args.no_progress and distributed.current().is_main)
    except (ValueError, TypeError, RuntimeError, ArithmeticError, IndexError) as exc:
        raise GanzooError(f"cannot build {config['experiment']!r} with this config: {exc}".splitlines()[0]) from None
    trainer.best = best
    spec = model_spec(data.spec, trainer.generator)
    for name in config["eval"]["metrics"]:
        engine.metric(name).check_applies(name, spec)
    return trainer


def train_and_report(trainer: Any, run_dir: Path) -> int:
    """Train with graceful SIGINT/SIGTERM handling; print results, or how to resume."""
    from ganzoo import distributed
    from ganzoo.signals import Aborted, GracefulStop, exit_code

    resume = f"ganzoo run --resume {shlex.quote(str(run_dir))}"
    with GracefulStop() as stop:
        try:
            results = trainer.train(distributed.agreed(stop.requested))
        except Aborted as exc:
            err.print(f"aborted by {signal.Signals(exc.signum).name}; the last checkpoint is intact; "
                      f"resume with: {resume}", highlight=False)
            return exit_code(exc.signum)
    distributed.finish()
    if trainer.stopped_by is not None:
        err.print(f"stopped by {signal.Signals(trainer.stopped_by).name} at step {trainer.step} "
                  f"(checkpoint written); resume with: {resume}", highlight=False)
        return exit_code(trainer.stopped_by)
    for metric, result in results.items():
        shown = ", ".join(f"{k}={v:.4g}" for k, v in result["values"].items())
        out.print(f"{metric}: {shown}", highlight=False)
    if trainer.ranks.is_main:
        out.print(f"run directory: {run_dir}", highlight=False)
    return 0
