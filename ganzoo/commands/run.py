"""``ganzoo run``: train an experiment into a new run directory, or resume one."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any

from ganzoo.commands import completion, launch
from ganzoo.commands.common import (add_json_argument, add_override_argument, describe_values, err, load_engine, out,
                                    print_json, run_overrides)
from ganzoo.errors import GanzooError, resume_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``run``."""
    run = sub.add_parser("run", help="train an experiment, or resume a run")
    run.add_argument("experiment", nargs="?",
                     help="experiment name from 'ganzoo list', or a YAML file of experiments (FILE.yaml[:NAME])"
                     ).completer = completion.experiments
    run.add_argument("--resume", metavar="RUN_DIR",
                     help="continue an interrupted run to its configured total steps (--set may change its config)")
    run.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    run.add_argument("--steps", type=int, help="total training iterations (train.steps)")
    run.add_argument("--seed", type=int, help="random seed (train.seed)")
    add_override_argument(run)
    run.add_argument("--data-root", help="data directory (default: $GANZOO_DATA, else the user cache; with "
                                         "--resume: the one the run recorded, if it still exists)")
    run.add_argument("--out", help="run directory (default: runs/<experiment>-<timestamp>)")
    run.add_argument("--no-progress", action="store_true", help="no live progress bar")
    add_json_argument(run, "end with a JSON summary on stdout: run_dir, experiment, step, results with protocols")
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


def run_command(args: argparse.Namespace) -> int:
    """Launch the workers (--nproc-per-node), or train in this process, as one rank when torchrun started it."""
    from ganzoo import api
    from ganzoo.signals import Aborted, exit_code

    engine = load_engine()
    if args.resume and args.out:
        raise GanzooError("--out does not go with --resume: a resumed run continues in its own directory")
    if not args.resume and args.experiment is None:
        raise GanzooError("name an experiment (see 'ganzoo list') or a YAML file, or pass --resume RUN_DIR")
    if launch.requested(args):
        return launch.launch(args, check_launch(engine, args))
    common = {"overrides": run_overrides(args), "device": args.device, "data_root": args.data_root,
              "progress": not args.no_progress, "dist_backend": args.dist_backend, "engine": engine, "echo": echo}
    try:
        if args.resume:
            run = api.resume(args.resume, experiment=args.experiment, **common)
        else:
            run = api.train(args.experiment, out=args.out, **common)
    except Aborted as exc:
        err.print(f"aborted by {signal.Signals(exc.signum).name}; the last checkpoint is intact; "
                  f"resume with: {resume_command(exc.run_dir)}", highlight=False)
        return exit_code(exc.signum)
    return report(run, resumed=bool(args.resume), as_json=args.json)


def check_launch(engine: Any, args: argparse.Namespace) -> Path:
    """Validate a command before its workers start; returns the run directory it will use. A new run's
    config is checked first, before torch is imported, so a bad one is answered at once."""
    from ganzoo.api import resolve_config

    name = None if args.resume else resolve_config(args.experiment, run_overrides(args), engine=engine)[0]
    return _check_workers(engine, args, name)


def _check_workers(engine: Any, args: argparse.Namespace, name: str | None) -> Path:
    """The device, the run directory (``name``'s new one, or the resumed run's) and its lock, for the workers."""
    import torch

    from ganzoo.device import resolve_device
    from ganzoo.resume_plan import plan_resume
    from ganzoo.rundir import plan_run_dir
    from ganzoo.runlock import acquire

    device = resolve_device(args.device)
    if device.type == "cuda" and args.nproc_per_node > torch.cuda.device_count():
        raise GanzooError(f"--nproc-per-node {args.nproc_per_node}: this node has only "
                          f"{torch.cuda.device_count()} GPU(s); use one process per GPU")
    if args.resume:
        run_dir = plan_resume(engine, Path(args.resume), args.experiment, run_overrides(args), lambda _: None).run_dir
    else:
        run_dir = plan_run_dir(args.out, name)
    if run_dir.is_dir():
        acquire(run_dir).release()  # another writer is named here, before any worker starts (rank 0 locks it)
    return run_dir


def echo(text: str) -> None:
    """Print a line of the library's on stderr, warnings in yellow."""
    if text.startswith("warning: "):
        err.print(f"[yellow]warning:[/] {text[len('warning: '):]}", highlight=False)
    else:
        err.print(text, markup=False, highlight=False)


def report(run: Any, resumed: bool, as_json: bool = False) -> int:
    """Print how the run ended: the resume command after a stop, else the results and the run directory;
    ``as_json``: the summary as JSON on stdout instead (rank 0 alone), notes on stderr."""
    from ganzoo.signals import exit_code

    if as_json and run.rank == 0:
        print_json(summary(run))
    if run.stopped_by is not None:
        err.print(f"stopped by {signal.Signals(run.stopped_by).name} at step {run.step} (checkpoint written); "
                  f"resume with: {resume_command(run.run_dir)}", highlight=False)
        return exit_code(run.stopped_by)
    if as_json:
        return 0
    if resumed and run.steps_trained == 0:
        out.print(f"{run.run_dir} is already complete at step {run.step}; raise --steps to train longer",
                  highlight=False)
        return 0
    for metric, result in run.results.items():
        out.print(f"{metric}: {describe_values(result)}", highlight=False)
    if run.rank == 0:
        out.print(f"run directory: {run.run_dir}", highlight=False)
    return 0


def summary(run: Any) -> dict[str, Any]:
    """A finished run for scripts: where it is, how far it got, why it stopped early, its results with protocols."""
    return {"run_dir": str(run.run_dir), "experiment": run.experiment, "step": run.step,
            "total_steps": run.total_steps, "steps_trained": run.steps_trained,
            "stopped_by": None if run.stopped_by is None else signal.Signals(run.stopped_by).name,
            "results": run.results}
