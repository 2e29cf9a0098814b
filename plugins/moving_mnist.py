"""Built-in plugin ``moving_mnist``: Moving MNIST clips (Srivastava, Mansimov & Salakhutdinov 2015).

"Unsupervised Learning of Video Representations using LSTMs": digits drawn from MNIST bounce
inside the frame with constant velocity, reflecting off the borders. Clips are generated from
the MNIST split under the data root, deterministically for a seed, and cached under the user
cache as uint8 tensors; the digit labels are kept in ``Data.extras["digits"]``. With
``source: torchvision`` the same name loads torchvision's ``MovingMNIST/mnist_test_seq.npy``
instead, when that file is present under the data root.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo import hookimpl

if TYPE_CHECKING:
    import torch

SPLIT_SEEDS = {"train": 0, "test": 1}
SOURCES = ("generate", "torchvision")
TORCHVISION_FILE = Path("MovingMNIST") / "mnist_test_seq.npy"
#: Share of torchvision's sequences held out as the test split (the file has no split of its own).
TORCHVISION_TEST_FRACTION = 0.1


def resolve_digit_size(frame_size: int, digit_size: int) -> int:
    """The digit size in pixels: as given, or 28·frame_size/64 (Srivastava et al.'s ratio) when 0."""
    return digit_size if digit_size > 0 else max(1, round(28 * frame_size / 64))


def check_geometry(frame_size: int, frames: int, digits: int, digit_size: int, sequences: int) -> None:
    """Raise a one-line DataError for sizes that cannot make a Moving MNIST clip."""
    from ganzoo.errors import DataError

    for name, value in (("frame_size", frame_size), ("frames", frames), ("digits", digits),
                        ("sequences", sequences)):
        if value < 1:
            raise DataError(f"moving-mnist: dataset.{name} must be at least 1, got {value}")
    if digit_size >= frame_size:
        raise DataError(f"moving-mnist: {digit_size}px digits leave no room to move in a {frame_size}px frame; "
                        f"raise dataset.frame_size or lower dataset.digit_size")
    fit = (frame_size // digit_size) ** 2
    if digits > fit:
        raise DataError(f"moving-mnist: {digits} digits of {digit_size}px do not fit in a {frame_size}px frame "
                        f"(at most {fit} side by side); lower dataset.digits or raise dataset.frame_size")


def trajectories(n: int, frames: int, digits: int, free: int, speed: float, g) -> "torch.Tensor":
    """Top-left corners (n, frames, digits, 2) of digits moving at constant velocity, reflecting off the borders.

    Each digit starts at a uniform position in [0, free]² with a uniform direction; it moves
    ``speed·free`` pixels per frame and bounces (position and velocity mirrored) at 0 and ``free``.
    """
    import torch

    pos = torch.rand(n, digits, 2, generator=g, dtype=torch.float64) * free
    theta = torch.rand(n, digits, generator=g, dtype=torch.float64) * 2 * math.pi
    vel = torch.stack([torch.sin(theta), torch.cos(theta)], dim=-1) * speed * free
    out = torch.empty(n, frames, digits, 2, dtype=torch.float64)
    for t in range(frames):
        out[:, t] = pos
        pos = pos + vel
        low, high = pos < 0, pos > free
        pos = torch.where(low, -pos, torch.where(high, 2 * free - pos, pos))
        vel = torch.where(low | high, -vel, vel)
    return out.round().long().clamp(0, free)


def render(digit_images: "torch.Tensor", corners: "torch.Tensor", frame_size: int) -> "torch.Tensor":
    """Paste digits (n, digits, s, s) uint8 at corners (n, frames, digits, 2) into (n, frames, H, W) uint8.

    Overlapping digits combine by their pixel-wise maximum, as in Srivastava et al.
    """
    import torch

    n, frames, digits, _ = corners.shape
    s = digit_images.shape[-1]
    canvas = torch.zeros(n, frames, frame_size * frame_size, dtype=torch.uint8)
    offsets = (torch.arange(s).view(s, 1) * frame_size + torch.arange(s).view(1, s)).view(1, 1, -1)
    for d in range(digits):
        start = (corners[:, :, d, 0] * frame_size + corners[:, :, d, 1]).unsqueeze(-1)
        values = digit_images[:, d].reshape(n, 1, -1).expand(n, frames, s * s)
        canvas.scatter_reduce_(2, start + offsets, values, reduce="amax")
    return canvas.view(n, frames, frame_size, frame_size)


def generate(images: "torch.Tensor", labels: "torch.Tensor", *, frame_size: int, frames: int, digits: int,
             digit_size: int, sequences: int, speed: float, seed: int,
             chunk: int = 500) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Clips (sequences, frames, H, W) uint8 and their digit labels (sequences, digits) from MNIST images."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    which = torch.randint(0, images.shape[0], (sequences, digits), generator=g)
    corners = trajectories(sequences, frames, digits, frame_size - digit_size, speed, g)
    clips = torch.empty(sequences, frames, frame_size, frame_size, dtype=torch.uint8)
    for start in range(0, sequences, chunk):
        idx = which[start : start + chunk]
        glyphs = images[idx.flatten()].float().unsqueeze(1)
        if digit_size != glyphs.shape[-1]:
            glyphs = F.interpolate(glyphs, size=(digit_size, digit_size), mode="bilinear", antialias=True,
                                   align_corners=False)
        glyphs = glyphs.round().clamp(0, 255).to(torch.uint8).view(idx.shape[0], digits, digit_size, digit_size)
        clips[start : start + chunk] = render(glyphs, corners[start : start + chunk], frame_size)
    return clips, labels[which]


def _to_data(clips: "torch.Tensor", digits: "torch.Tensor | None"):
    """uint8 (N, T, H, W) -> Data with float (N, 1, T, H, W) in [-1, 1], unlabelled, digits in extras."""
    from ganzoo.spec import Data, DataSpec

    x = clips.unsqueeze(1).float().div_(127.5).sub_(1.0)
    extras = {"digits": digits} if digits is not None else {}
    return Data(x, None, DataSpec(tuple(x.shape[1:])), extras)


def _atomic_save(obj: dict, path: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _load_cache(path: Path) -> dict | None:
    """A cached set, or None when it is missing or unreadable (it is then generated again)."""
    import pickle

    import torch

    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError):
        return None
    return state if isinstance(state, dict) and {"clips", "digits"} <= set(state) else None


def _mnist(root: Path, split: str, download: bool):
    from torchvision.datasets import MNIST

    ds = MNIST(str(root), train=split == "train", download=download)
    return ds.data, ds.targets


def generated(root: Path, split: str, download: bool, *, frame_size: int, frames: int, digits: int,
              digit_size: int, sequences: int, speed: float, seed: int):
    """Moving MNIST generated from the MNIST split under ``root``, cached under the user cache."""
    import torch

    from ganzoo.data import user_cache_dir

    images, labels = _mnist(root, split, download)
    source = hashlib.sha256(images.numpy().tobytes() + labels.numpy().tobytes()).hexdigest()[:16]
    key = f"{split}-{frame_size}px-{frames}f-{digits}d-{digit_size}s-{sequences}n-{speed:g}v-seed{seed}-{source}"
    path = user_cache_dir() / "moving-mnist" / f"{key}.pt"
    state = _load_cache(path)
    if state is None:
        clips, digit_labels = generate(images, labels, frame_size=frame_size, frames=frames, digits=digits,
                                       digit_size=digit_size, sequences=sequences, speed=speed,
                                       seed=seed * 2 + SPLIT_SEEDS[split])
        state = {"clips": clips, "digits": digit_labels.to(torch.int64)}
        _atomic_save(state, path)
    return _to_data(state["clips"], state["digits"])


def from_torchvision_file(root: Path, split: str, *, frame_size: int, frames: int, sequences: int):
    """torchvision's MovingMNIST file (T, N, 64, 64) uint8: the last tenth of sequences is the test split."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from ganzoo.errors import DataError

    path = Path(root) / TORCHVISION_FILE
    if not path.is_file():
        raise DataError(f"moving-mnist: no {path}; place torchvision's MovingMNIST file there "
                        "or use --set dataset.source=generate")
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise DataError(f"moving-mnist: cannot read {path} ({type(exc).__name__}: {exc})".splitlines()[0]) from None
    if array.ndim != 4 or array.dtype != np.uint8 or array.shape[2] != array.shape[3]:
        raise DataError(f"moving-mnist: {path} holds {array.dtype} {tuple(array.shape)}; expected uint8 "
                        "(frames, sequences, size, size) as torchvision writes it")
    total_frames, total = array.shape[0], array.shape[1]
    if frames > total_frames:
        raise DataError(f"moving-mnist: {path} has {total_frames} frames per clip; set dataset.frames to at most "
                        f"{total_frames}")
    n_test = max(1, int(total * TORCHVISION_TEST_FRACTION))
    lo, hi = (0, total - n_test) if split == "train" else (total - n_test, total)
    hi = min(hi, lo + sequences)
    clips = torch.from_numpy(np.ascontiguousarray(array[:frames, lo:hi])).transpose(0, 1).contiguous()
    if frame_size != clips.shape[-1]:
        resized = F.interpolate(clips.float().flatten(0, 1).unsqueeze(1), size=(frame_size, frame_size),
                                mode="bilinear", antialias=True, align_corners=False)
        clips = resized.round().clamp(0, 255).to(torch.uint8).view(clips.shape[0], frames, frame_size, frame_size)
    return _to_data(clips, None)


def moving_mnist(root: Path, split: str, download: bool, frame_size: int = 64, frames: int = 16, digits: int = 2,
                 digit_size: int = 0, sequences: int = 10000, speed: float = 0.1, seed: int = 0,
                 source: str = "generate", labels: bool = False):
    """Moving MNIST clips 1 x frames x frame_size x frame_size in [-1, 1].

    digit_size 0 scales 28px digits with the frame (28px in 64px); speed is the share of the free
    range a digit crosses per frame; source ``torchvision`` reads MovingMNIST/mnist_test_seq.npy
    under the data root (frames and sequences then take at most what the file holds). ``labels``
    makes each clip of one generated digit labelled with that digit (10 classes), for class-conditional
    video.
    """
    from ganzoo.errors import DataError

    if split not in SPLIT_SEEDS:
        raise DataError(f"moving-mnist: unknown split {split!r}; use train or test")
    if source not in SOURCES:
        raise DataError(f"moving-mnist: unknown dataset.source {source!r}; use {' or '.join(SOURCES)}")
    if not 0 <= speed <= 1:
        raise DataError(f"moving-mnist: dataset.speed is a share of the frame per step, in [0, 1]; got {speed}")
    if labels and (digits != 1 or source != "generate"):
        raise DataError("moving-mnist: dataset.labels needs clips of one generated digit (dataset.digits=1, "
                        "dataset.source=generate)")
    size = resolve_digit_size(frame_size, digit_size)
    check_geometry(frame_size, frames, digits, size, sequences)
    if source == "torchvision":
        return from_torchvision_file(root, split, frame_size=frame_size, frames=frames, sequences=sequences)
    data = generated(root, split, download, frame_size=frame_size, frames=frames, digits=digits, digit_size=size,
                     sequences=sequences, speed=speed, seed=seed)
    return labelled(data) if labels else data


def labelled(data):
    """The same clips with their digit as the label (10 classes)."""
    from dataclasses import replace

    from ganzoo.spec import DataSpec

    return replace(data, y=data.extras["digits"][:, 0].clone(), spec=DataSpec(data.spec.shape, 10))


def _mnist_fixture(root: Path, split: str) -> None:
    """A tiny synthetic MNIST split under ``root`` to generate clips from, for the conformance kit."""
    from ganzoo_plugins.fixtures import write_mnist

    write_mnist(root, split)


moving_mnist.tiny_params = {"frame_size": 16, "frames": 4, "sequences": 32}
moving_mnist.write_fixture = _mnist_fixture


@hookimpl
def ganzoo_datasets(register):
    """The Moving MNIST video data set."""
    register("moving-mnist", moving_mnist,
             "MNIST digits bouncing in a frame, generated and cached (Srivastava et al. 2015)")
