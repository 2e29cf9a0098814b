"""Data roots, and batches served by index from tensors resident on the training device."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ganzoo.spec import Data


def user_cache_dir() -> Path:
    """ganzoo's cache directory: $XDG_CACHE_HOME/ganzoo or ~/.cache/ganzoo."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ganzoo"


def default_data_root(explicit: str | Path | None = None, recorded: str | Path | None = None) -> Path:
    """--data-root if given, else the root a run recorded (config.yaml ``run.data_root``) if it still exists,
    else GANZOO_DATA, else the user cache's data directory."""
    if explicit:
        return Path(explicit).expanduser()
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    env = os.environ.get("GANZOO_DATA")
    return Path(env).expanduser() if env else user_cache_dir() / "data"


def downloads_allowed() -> bool:
    """False when GANZOO_OFFLINE=1 forbids network access for data sets."""
    return os.environ.get("GANZOO_OFFLINE", "").strip().lower() not in {"1", "true", "yes", "on"}


class Batcher:
    """Serves shuffled batches from a data set held on the device.

    Each epoch is a permutation drawn from (seed, epoch), so the position (epoch, index) is the
    whole state: a resumed run continues with exactly the batches it would have seen.
    ``rank``/``world_size`` give each process a disjoint shard of every epoch.
    """

    def __init__(self, data: Data, batch_size: int, seed: int, device: torch.device,
                 rank: int = 0, world_size: int = 1) -> None:
        per_epoch = len(data) // world_size
        if batch_size > per_epoch:
            from ganzoo.errors import ConfigError

            raise ConfigError(
                f"train.batch_size {batch_size} is larger than the data set's {per_epoch} samples per process; "
                "lower it with --set train.batch_size=N"
            )
        self.x = data.x.to(device)
        self.y = data.y.to(device) if data.y is not None else None
        self.batch_size, self.seed, self.device = batch_size, seed, device
        self.rank, self.world_size = rank, world_size
        self.batches_per_epoch = per_epoch // batch_size
        self.epoch, self.index = 0, 0
        self._perm = self._permutation(0)

    def _permutation(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(len(self.x), generator=g)
        shard = perm[self.rank :: self.world_size][: self.batches_per_epoch * self.batch_size]
        return shard.to(self.device)

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next batch (images, labels or None)."""
        if self.index >= self.batches_per_epoch:
            self.epoch, self.index = self.epoch + 1, 0
            self._perm = self._permutation(self.epoch)
        idx = self._perm[self.index * self.batch_size : (self.index + 1) * self.batch_size]
        self.index += 1
        return self.x[idx], (self.y[idx] if self.y is not None else None)

    def state_dict(self) -> dict:
        """The position in the data order."""
        return {"epoch": self.epoch, "index": self.index}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a saved position."""
        self.epoch, self.index = int(state["epoch"]), int(state["index"])
        self._perm = self._permutation(self.epoch)
