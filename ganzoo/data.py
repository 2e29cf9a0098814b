"""Data roots, and batches served by index from tensors resident on the training device or streamed from a file."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.utils.data

from ganzoo.spec import Data, pixels_to_floats


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


class PixelFile:
    """N uint8 samples of one shape stored back to back in a raw file (C order), for data larger than memory.

    ``tensor()`` maps the file (pages are read on demand, nothing is held); ``read(indices)`` reads the
    rows of one batch with positioned reads, so a worker process that streams the file holds no more
    than that batch. ``workers`` DataLoader processes read it while training streams it. It pickles as
    its path and shape.
    """

    def __init__(self, path: str | Path, shape: tuple[int, ...], workers: int = 2) -> None:
        self.path, self.shape, self.workers = Path(path), tuple(int(s) for s in shape), int(workers)
        self.row_bytes = int(math.prod(self.shape[1:]))
        self._fd: int | None = None
        self._pid: int | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def __getstate__(self) -> dict:
        return {"path": self.path, "shape": self.shape, "workers": self.workers}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["shape"], state["workers"])

    def tensor(self) -> torch.Tensor:
        """The whole file as a (N, ...) uint8 tensor backed by a copy-on-write map of it."""
        return torch.from_numpy(np.memmap(self.path, dtype=np.uint8, mode="c", shape=self.shape))

    def read(self, indices: torch.Tensor) -> torch.Tensor:
        """The rows at ``indices`` as a (len(indices), ...) uint8 tensor (a fresh copy)."""
        if self._fd is None or self._pid != os.getpid():  # a forked worker opens its own descriptor
            self._fd, self._pid = os.open(self.path, os.O_RDONLY), os.getpid()
        size = self.row_bytes
        out = torch.empty((len(indices), *self.shape[1:]), dtype=torch.uint8)
        rows = out.numpy().reshape(len(indices), size)
        for i, row in enumerate(indices.tolist()):
            data = os.pread(self._fd, size, row * size)
            if len(data) != size:
                raise OSError(f"{self.path} ends before sample {row}; delete it to rebuild the cache")
            rows[i] = np.frombuffer(data, dtype=np.uint8)
        return out

    def __del__(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)


class _Rows(torch.utils.data.Dataset):
    """A PixelFile as a map-style data set whose items are whole batches: ``rows[indices]`` -> uint8 batch."""

    def __init__(self, pixels: PixelFile) -> None:
        self.pixels = pixels

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, indices: torch.Tensor) -> torch.Tensor:
        return self.pixels.read(indices)


class _Order(torch.utils.data.Sampler):
    """A Batcher's batches of indices from (epoch, index) on, epoch after epoch, without end."""

    def __init__(self, batcher: "Batcher", epoch: int, index: int) -> None:
        self.batcher, self.start = batcher, (epoch, index)

    def __iter__(self) -> Iterator[torch.Tensor]:
        epoch, index = self.start
        size, per_epoch = self.batcher.batch_size, self.batcher.batches_per_epoch
        while True:
            order = self.batcher.epoch_order(epoch)
            for i in range(index, per_epoch):
                yield order[i * size : (i + 1) * size]
            epoch, index = epoch + 1, 0


def _whole_batch(batch: torch.Tensor) -> torch.Tensor:
    """The DataLoader's collate step: a worker already returns the whole batch."""
    return batch


def _one_thread(worker_id: int) -> None:
    """Worker processes only copy bytes: one intra-op thread each leaves the cores to training."""
    torch.set_num_threads(1)


class Batcher:
    """Serves shuffled batches from a data set held on the device, or streamed from its file.

    Each epoch is a permutation drawn from (seed, epoch), so the position (epoch, index) is the
    whole state: a resumed run continues with exactly the batches it would have seen.
    ``rank``/``world_size`` give each process a disjoint shard of every epoch.

    A data set stored as uint8 pixels stays uint8 on the device (a quarter of float32's memory) and
    each batch is converted to floats in its value range; ``data.hflip`` flips images of a batch
    at random from (seed, epoch, index, rank). A streamed set (``data.stream``) is read in the same
    order by a DataLoader whose workers read each batch's rows from the file and hand it over whole
    (pinned when training on CUDA); the batches, and so the training run, are the same as resident.
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
        self.stream = data.stream
        self.x = data.x.to(device) if self.stream is None else None
        self.y = data.y.to(device) if data.y is not None else None
        self.size = len(data)
        self.value_range, self.hflip = data.spec.value_range, data.hflip
        self.batch_size, self.seed, self.device = batch_size, seed, device
        self.rank, self.world_size = rank, world_size
        self.batches_per_epoch = per_epoch // batch_size
        self.epoch, self.index = 0, 0
        self._perm = self._permutation(0)
        self._batches: Iterator[torch.Tensor] | None = None

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """This process's indices of an epoch, in order, on the CPU."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(self.size, generator=g)
        return perm[self.rank :: self.world_size][: self.batches_per_epoch * self.batch_size]

    def _permutation(self, epoch: int) -> torch.Tensor:
        return self.epoch_order(epoch).to(self.device)

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next batch (samples as floats in the data's value range, labels or None)."""
        if self.index >= self.batches_per_epoch:
            self.epoch, self.index = self.epoch + 1, 0
            self._perm = self._permutation(self.epoch)
        idx = self._perm[self.index * self.batch_size : (self.index + 1) * self.batch_size]
        x = self.x[idx] if self.stream is None else self._streamed()
        x = self._prepare(x)
        self.index += 1
        return x, (self.y[idx] if self.y is not None else None)

    def _streamed(self) -> torch.Tensor:
        """The next batch from the DataLoader, started at the current position when there is none."""
        if self._batches is None:
            self._batches = iter(self._loader())
        return next(self._batches).to(self.device, non_blocking=True)

    def _loader(self) -> torch.utils.data.DataLoader:
        """A DataLoader over the stream's file in this Batcher's order, from the current position on."""
        import multiprocessing

        workers = self.stream.workers
        fork = workers > 0 and "fork" in multiprocessing.get_all_start_methods()
        return torch.utils.data.DataLoader(
            _Rows(self.stream), batch_size=None, sampler=_Order(self, self.epoch, self.index),
            collate_fn=_whole_batch, num_workers=workers if fork else 0,
            pin_memory=self.device.type == "cuda", prefetch_factor=4 if fork else None,
            worker_init_fn=_one_thread if fork else None,
            multiprocessing_context=multiprocessing.get_context("fork") if fork else None,
            generator=torch.Generator().manual_seed(self.seed))  # its base seed must not draw from the global RNG

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Flip at random (``hflip``) and convert uint8 pixels to floats in the value range."""
        if self.hflip:
            g = torch.Generator().manual_seed(
                ((self.seed * 1_000_003 + self.epoch) * 1_000_003 + self.index) * 1_000_003 + self.rank)
            flip = (torch.rand(len(x), generator=g) < 0.5).to(x.device).view(-1, *[1] * (x.dim() - 1))
            x = torch.where(flip, x.flip(-1), x)
        return pixels_to_floats(x, self.value_range) if x.dtype == torch.uint8 else x

    def state_dict(self) -> dict:
        """The position in the data order."""
        return {"epoch": self.epoch, "index": self.index}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a saved position (a streamed set's DataLoader restarts there)."""
        self.epoch, self.index = int(state["epoch"]), int(state["index"])
        self._perm = self._permutation(self.epoch)
        self.close()

    def close(self) -> None:
        """Stop the DataLoader's workers of a streamed set (a later batch starts them again)."""
        self._batches = None
