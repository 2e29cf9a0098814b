"""Device selection: auto | cpu | cuda | cuda:N | mps."""

from __future__ import annotations

import contextlib
import re

import torch

from ganzoo.errors import GanzooError

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def resolve_device(name: str) -> torch.device:
    """The torch device for a user's choice, or a clear error when it is not available here."""
    if not DEVICE_PATTERN.match(name or ""):
        raise GanzooError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise GanzooError(f"--device {name}: CUDA is not available on this machine; use --device cpu or auto")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise GanzooError(
                f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s); use cuda:0..cuda:{torch.cuda.device_count() - 1}"
            )
        return torch.device(name)
    if name == "mps" and not torch.backends.mps.is_available():
        raise GanzooError("--device mps: MPS is not available on this machine; use --device cpu or auto")
    return torch.device(name)


def forked_rng(device: torch.device) -> "contextlib.AbstractContextManager":
    """``torch.random.fork_rng`` for work on ``device``: the CPU generator, and ``device``'s own where it is
    a CUDA device, are restored on exit, so whatever runs inside leaves the caller's random state as it was."""
    return torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])
