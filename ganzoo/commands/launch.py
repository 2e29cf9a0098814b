"""``ganzoo run --nproc-per-node N``: start the training workers through torch.distributed's elastic launcher.

The parent process validates the command, then hands the same ``ganzoo run`` command line
(minus the launch options, plus the planned ``--out``) to ``elastic_launch``, the engine behind
``torchrun``; each worker finds RANK/WORLD_SIZE/LOCAL_RANK in its environment. Torch is imported
lazily so ``ganzoo --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

from ganzoo.errors import GanzooError, resume_command

#: Launch options: argparse dest -> default.
LAUNCH_OPTIONS = {"nproc_per_node": None, "nnodes": 1, "node_rank": 0, "master_addr": "127.0.0.1", "master_port": None}
DEFAULT_PORT = 29500


class LaunchError(GanzooError):
    """A distributed job that could not start or that lost a rank; the message names the rank."""

    exit_code = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The torchrun-style options of ``ganzoo run``."""
    group = parser.add_argument_group("multi-process training (torch.distributed; see README)")
    group.add_argument("--nproc-per-node", type=int, metavar="N", help="processes on this node (one per GPU)")
    group.add_argument("--nnodes", type=int, default=1, metavar="M", help="number of nodes (default: 1)")
    group.add_argument("--node-rank", type=int, default=0, metavar="R", help="this node's rank, 0..M-1 (default: 0)")
    group.add_argument("--master-addr", default="127.0.0.1", metavar="A", help="address of node 0 (default: 127.0.0.1)")
    group.add_argument("--master-port", type=int, metavar="P",
                       help=f"free port on node 0 (default: any free port on one node, {DEFAULT_PORT} on several)")
    group.add_argument("--dist-backend", default="auto", choices=("auto", "gloo", "nccl"),
                       help="process-group backend (default: nccl on CUDA, gloo otherwise)")
    parser.set_defaults(launch_parser=parser)


def requested(args: argparse.Namespace) -> bool:
    """True when the command asks to launch workers; refuses launch options inside a launched worker.
    Torch (through ganzoo.distributed) is imported only when launch options are given."""
    if all(getattr(args, dest) == default for dest, default in LAUNCH_OPTIONS.items()):
        return False
    from ganzoo.distributed import launched

    if launched():
        raise GanzooError("this process was started by torchrun (RANK, WORLD_SIZE and LOCAL_RANK are set); "
                          "drop --nproc-per-node/--nnodes/--node-rank/--master-addr/--master-port")
    if args.nproc_per_node is None or args.nproc_per_node < 1:
        raise GanzooError("--nproc-per-node must be a positive number of processes per node")
    if args.nnodes < 1 or not 0 <= args.node_rank < args.nnodes:
        raise GanzooError(f"--node-rank must lie in 0..{args.nnodes - 1} and --nnodes must be positive")
    if args.master_port is not None and not 0 < args.master_port < 65536:
        raise GanzooError(f"--master-port {args.master_port} is not a port number (1..65535)")
    return True


def worker_argv(args: argparse.Namespace, run_dir: Path | None) -> list[str]:
    """The ``ganzoo run`` arguments every worker gets: this command's, minus launch options, with ``--out``."""
    argv: list[str] = []
    for action in args.launch_parser._actions:
        if action.dest in LAUNCH_OPTIONS or action.dest in ("help", "out"):
            continue
        value = getattr(args, action.dest, action.default)
        if value == action.default or value is None:
            continue
        if not action.option_strings:
            argv.append(str(value))
        elif isinstance(action, argparse._StoreTrueAction):
            argv.append(action.option_strings[0])
        elif isinstance(action, argparse._AppendAction):
            for item in value:
                argv += [action.option_strings[0], str(item)]
        else:
            argv += [action.option_strings[0], str(value)]
    return ["run", *argv] + (["--out", str(run_dir)] if run_dir is not None else [])


def launch_config(args: argparse.Namespace):
    """torchrun's configuration for these options: a private rendezvous on one node, static on several."""
    from torch.distributed.launcher.api import LaunchConfig

    if args.nnodes == 1 and args.master_port is None:
        backend, endpoint, rdzv, run_id = "c10d", "localhost:0", {}, str(uuid.uuid4())
    else:
        port = args.master_port or DEFAULT_PORT
        backend, endpoint, rdzv, run_id = "static", f"{args.master_addr}:{port}", {"rank": args.node_rank}, "ganzoo"
    return LaunchConfig(min_nodes=args.nnodes, max_nodes=args.nnodes, nproc_per_node=args.nproc_per_node,
                        run_id=run_id, rdzv_backend=backend, rdzv_endpoint=endpoint, rdzv_configs=rdzv,
                        max_restarts=0, monitor_interval=0.1)


def launch(args: argparse.Namespace, run_dir: Path) -> int:
    """Run ``ganzoo run`` on every rank; a failed rank stops the job with one line that names it."""
    from torch.distributed import DistError
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.elastic.rendezvous.api import RendezvousError
    from torch.distributed.launcher.api import elastic_launch

    if "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // args.nproc_per_node))
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    argv = worker_argv(args, None if args.resume else run_dir)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        elastic_launch(launch_config(args), sys.executable)("-u", "-m", "ganzoo", *argv)
    except ChildFailedError as exc:
        rank, failure = root_failure(exc.failures)
        how = (f"was killed by {failure.signal_name()}" if failure.exitcode < 0
               else f"exited with code {failure.exitcode}")
        raise LaunchError(f"rank {rank} (local rank {failure.local_rank}, pid {failure.pid}) {how}; the job was "
                          f"stopped; {_resume_hint(args, run_dir)}") from None
    except SignalException as exc:
        raise LaunchError(f"the launcher received {exc.sigval.name} and stopped every rank; "
                          f"{_resume_hint(args, run_dir)}") from None
    except (RendezvousError, DistError) as exc:
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        raise LaunchError(f"the nodes could not meet ({type(exc).__name__}: {reason}); "
                          "check --nnodes, --node-rank, --master-addr and --master-port on every node") from None
    finally:
        for sig, handler in handlers.items():  # the elastic agent installs its own and leaves them behind
            signal.signal(sig, handler)
    return 0


def root_failure(failures: dict) -> tuple[int, Any]:
    """The (rank, failure) that most likely ended the job: the earliest (timestamps are whole seconds, so a rank
    that died and the peers that followed it often tie), and among those a rank killed by a signal before the
    others, except SIGABRT (what a rank that lost its peers raises) and SIGTERM (what the launcher sends the
    ranks left when one fails); then the lowest rank."""
    def order(item: tuple[int, Any]) -> tuple:
        rank, failure = item
        followed = failure.exitcode >= 0 or failure.exitcode in (-signal.SIGABRT, -signal.SIGTERM)
        return failure.timestamp, followed, rank

    return min(failures.items(), key=order)


def _resume_hint(args: argparse.Namespace, run_dir: Path) -> str:
    last = Path(run_dir) / "checkpoints" / "last.pt"
    if not last.is_file():
        return "no checkpoint was written"
    nodes = f" --nnodes {args.nnodes}" if args.nnodes > 1 else ""
    return (f"the last checkpoint, {last}, is intact; resume with: {resume_command(run_dir)} "
            f"--nproc-per-node {args.nproc_per_node}{nodes}")
