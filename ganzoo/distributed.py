"""torch.distributed for one training run: process group, ranks, DDP wrapping and agreement between ranks.

Outside a launched job (no RANK/WORLD_SIZE/LOCAL_RANK in the environment) every helper is a
no-op for a world of one, so the trainer calls them unconditionally. ``train.batch_size`` is
per rank: the global batch is ``batch_size * world_size`` (recorded in config.yaml).
"""

from __future__ import annotations

import copy
import inspect
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ganzoo.errors import ConfigError, GanzooError

#: The variables torchrun (and ``ganzoo run --nproc-per-node``) sets in every worker.
LAUNCH_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
BACKENDS = ("auto", "gloo", "nccl")
#: DDP keyword that stops buffer syncs in forward (renamed in newer torch).
_NO_FORWARD_BUFFER_SYNC = ({"forward_sync_buffers": False}
                           if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
                           else {"broadcast_buffers": False})


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the job."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only rank that writes logs, samples, checkpoints and evaluations."""
        return self.rank == 0


class RankError(GanzooError):
    """A failure that ends a distributed job; the message names the rank."""

    exit_code = 1


def launched() -> bool:
    """True inside a worker started by torchrun or ``ganzoo run --nproc-per-node``."""
    return all(key in os.environ for key in LAUNCH_ENV)


def current() -> Ranks:
    """This process's rank, local rank and world size (rank 0 of 1 without a process group)."""
    if not (dist.is_available() and dist.is_initialized()):
        return Ranks()
    return Ranks(dist.get_rank(), int(os.environ.get("LOCAL_RANK", 0)), dist.get_world_size())


def choose_backend(requested: str, device: torch.device) -> str:
    """nccl for CUDA, gloo otherwise, unless the user asked for one; nccl needs CUDA."""
    if requested not in BACKENDS:
        raise ConfigError(f"unknown backend {requested!r}; use {', '.join(BACKENDS)}")
    if requested == "auto":
        return "nccl" if device.type == "cuda" else "gloo"
    if requested == "nccl" and device.type != "cuda":
        raise ConfigError(f"--dist-backend nccl needs CUDA, but this run is on {device}; use gloo or --device cuda")
    return requested


def rank_device(device: torch.device) -> torch.device:
    """The device this rank trains on: cuda:LOCAL_RANK for CUDA in a launched job, else ``device``."""
    if device.type != "cuda" or not launched():
        return device
    local = int(os.environ["LOCAL_RANK"])
    if local >= torch.cuda.device_count():
        raise RankError(f"rank {os.environ['RANK']}: local rank {local} has no GPU (this node has "
                        f"{torch.cuda.device_count()}); lower --nproc-per-node")
    torch.cuda.set_device(local)
    return torch.device("cuda", local)


@contextmanager
def session(device: torch.device, backend: str = "auto") -> Iterator[Ranks]:
    """Join the job's process group for the duration (no-op outside a launched job).

    A broken collective (another rank died) leaves as one line that names this rank.
    """
    if not launched():
        yield Ranks()
        return
    name = choose_backend(backend, device)
    rank = int(os.environ["RANK"])
    try:
        dist.init_process_group(name, device_id=device if device.type == "cuda" else None)
    except dist.DistError as exc:
        raise RankError(f"rank {rank}: cannot join the process group ({_first_line(exc)}); "
                        "check --master-addr/--master-port and that every node was started") from None
    try:
        yield current()
    except RuntimeError as exc:
        if not broken_collective(exc):
            raise
        raise RankError(f"rank {rank}: lost contact with the other ranks ({_first_line(exc)}); "
                        "another rank probably failed; the last checkpoint is intact") from None
    finally:
        dist.destroy_process_group()


def finish() -> None:
    """Wait for every rank at the end of a job they all ended the same way (no-op for a world of one).

    Besides keeping a rank from leaving while others still write, the barrier outlasts gloo's
    worker threads dropping the tensors of the job's last collective. A rank whose interpreter
    shuts down before they do aborts with "terminate called without an active exception": the
    thread needs the GIL to free those tensors (3 of 40 two-rank runs without it, 0 of 90 with it).
    A gloo barrier carries no tensors of its own.
    """
    if current().world_size > 1:
        dist.barrier()


def broken_collective(exc: RuntimeError) -> bool:
    """True for a collective that failed because a peer went away (gloo raises plain RuntimeErrors)."""
    return isinstance(exc, dist.DistError) or "gloo/transport" in str(exc)


def _first_line(exc: BaseException) -> str:
    text = re.sub(r"^\[[^\]]*\]\s*", "", str(exc).strip())  # gloo prefixes its source location
    return text.splitlines()[0][:160] if text else type(exc).__name__


class DistributedNetwork(DistributedDataParallel):
    """DDP that still answers the wrapped network's attributes (``latent_dim``, ``regularization``...).

    Copying it copies the network it wraps: an EMA or snapshot of G wants the weights, not the
    process group (so ``AveragedModel(G)`` keeps the single-process layout of its state dict).
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get("_modules") or {}
            if "module" not in modules:
                raise
            return getattr(modules["module"], name)

    def __deepcopy__(self, memo: dict) -> torch.nn.Module:
        return copy.deepcopy(self.module, memo)


def batchnorm_mode(requested: str, device: torch.device) -> str:
    """'sync' or 'per-rank' for ``distributed.batchnorm``; 'auto' syncs where SyncBatchNorm runs (CUDA)."""
    if requested == "auto":
        return "sync" if device.type == "cuda" else "per-rank"
    if requested == "sync" and device.type != "cuda":
        raise ConfigError(f"distributed.batchnorm=sync needs CUDA (torch's SyncBatchNorm), not {device}; "
                          "use per-rank or auto")
    return requested


def wrap(network: torch.nn.Module, device: torch.device, settings: dict) -> torch.nn.Module:
    """The network for training on every rank: DDP (BatchNorm synced in place if asked), or itself alone."""
    if current().world_size == 1:
        return network
    if batchnorm_mode(settings["batchnorm"], device) == "sync":
        converted = torch.nn.SyncBatchNorm.convert_sync_batchnorm(network)
        if converted is not network:
            raise ConfigError("distributed.batchnorm=sync cannot convert a network that is itself a BatchNorm layer")
    ids = [device.index] if device.type == "cuda" else None
    # Buffers are broadcast once at construction, then stay per rank: sampling runs on rank 0 alone,
    # so forward must not wait for the others.
    return DistributedNetwork(network, device_ids=ids, **_NO_FORWARD_BUFFER_SYNC)


def record(config: dict, device: torch.device) -> dict:
    """What config.yaml shows about the job: world size, backend, per-rank and global batch, BatchNorm mode."""
    ranks = current()
    per_rank = config["train"]["batch_size"]
    return {
        "world_size": ranks.world_size,
        "backend": dist.get_backend() if ranks.world_size > 1 else None,
        "batch_size_per_rank": per_rank,
        "global_batch_size": per_rank * ranks.world_size,
        "batchnorm": batchnorm_mode(config["distributed"]["batchnorm"], device) if ranks.world_size > 1 else "local",
    }


def seed_rank(seed: int) -> None:
    """Give every rank but a lone one its own random stream (noise, dropout) after the shared initialization."""
    ranks = current()
    if ranks.world_size > 1:
        torch.manual_seed(seed * 1_000_003 + 7919 * (ranks.rank + 1))


def average(values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The mean of each scalar over all ranks (one all-reduce), so logs and the divergence guard agree."""
    ranks = current()
    if ranks.world_size == 1 or not values:
        return values
    stacked = torch.stack([v.detach().float() for v in values.values()])
    dist.all_reduce(stacked)
    stacked /= ranks.world_size
    return dict(zip(values, stacked.unbind()))


def agreed(poll: Callable[[], int | None]) -> Callable[[], int | None]:
    """``poll`` answered the same on every rank: a signal seen by any rank stops them all at the same step."""
    if current().world_size == 1:
        return poll

    def agreed_poll() -> int | None:
        flag = torch.tensor([poll() or 0], dtype=torch.int64)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) or None

    return agreed_poll


def gather(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (a list of one outside a job)."""
    if current().world_size == 1:
        return [obj]
    found: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(found, obj)
    return found


def from_main(make: Callable[[], Any]) -> Any:
    """``make()`` run on rank 0 and shared with every rank; rank 0's error stops the others too."""
    ranks = current()
    if ranks.world_size == 1:
        return make()
    box: list[Any] = [None]
    error: GanzooError | None = None
    if ranks.is_main:
        try:
            box[0] = ("ok", make())
        except GanzooError as exc:
            error, box[0] = exc, ("error", str(exc))
    dist.broadcast_object_list(box, src=0)
    if error is not None:
        raise error
    if box[0][0] == "error":
        raise RankError(f"rank {ranks.rank}: stopping, rank 0 reported an error")
    return box[0][1]


def restore_rng(state: dict, set_state: Callable[[dict], None]) -> None:
    """Restore this rank's RNG from a checkpoint: its own saved stream when the world size matches.

    A checkpoint from a different world size gives every rank rank 0's stream, then forks ranks
    other than 0 so they do not draw the same noise.
    """
    ranks = current()
    per_rank = state.get("rng_ranks") or []
    if len(per_rank) == ranks.world_size:
        set_state(per_rank[ranks.rank])
        return
    set_state(state["rng"])
    if ranks.rank > 0:
        torch.manual_seed(int(torch.randint(0, 2**62, (1,))) + ranks.rank)
