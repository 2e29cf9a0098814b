"""Built-in plugin ``folder``: your own images, a flat or nested folder of png/jpg/jpeg/webp/bmp files.

The images are decoded once (a thread pool, ``ganzoo_plugins.folder_cache``) to uint8 samples,
which stay resident on the training device when they fit, or are streamed from their decoded
cache file through DataLoader workers when they do not (``resident``). Labels come from class
sub-folders when asked for, or when every image sits in one of at least two of them (``labels``).
``image-folder`` is the same data set under its old name, for configs written before ``folder``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo import hookimpl
from ganzoo.errors import ConfigError, DataError

if TYPE_CHECKING:
    import torch

    from ganzoo.spec import Data

LABELS = ("auto", "none", "subfolders")
#: ``resident: auto`` keeps a set in memory when its decoded size is at most this share of the memory
#: available when it loads (MemAvailable on Linux), and streams it otherwise.
RESIDENT_SHARE = 0.25
#: DataLoader processes that read a streamed set at most (copying decoded rows needs few).
MAX_STREAM_WORKERS = 4
#: Decoding threads at most when ``workers`` is 0 (auto).
MAX_DECODE_WORKERS = 8
#: Skipped files named in config.yaml (all of them are counted).
NAMED_SKIPS = 10
#: The last folder loaded, by its cache key and options: the eval split reuses the train split's samples.
_LAST: dict[tuple, "Data"] = {}


def folder(root: Path, split: str, download: bool, path: str = "", labels: str = "auto", image_size: int = 0,
           channels: int = 3, hflip: bool = False, skip_bad: bool = False, resident: str = "auto",
           workers: int = 0, limit: int = 0) -> "Data":
    """A folder of images, searched recursively (default: DATA_ROOT/images); every split is the whole folder.

    ``labels``: auto (class sub-folders when every image sits in one of at least two), none, or subfolders
    (the first-level folder names, sorted, are the classes). ``image_size`` > 0 scales the shorter side
    to it and crops the centre square; 0 keeps the images' own size, which must then be the same for
    all. ``channels``: 1 (grayscale) or 3 (RGB). ``hflip`` flips training images horizontally at random.
    ``skip_bad`` leaves out unreadable files (counted in config.yaml) instead of stopping. ``resident``:
    auto (held in memory when the decoded set is at most a quarter of the memory available, else
    streamed), true or false. ``workers``: decoding threads (0: one per CPU core, at most 8); a streamed
    set is read by that many DataLoader processes, at most 4. ``limit`` > 0 takes the first N files.
    """
    from ganzoo_plugins.folder_cache import listing_key
    from ganzoo_plugins.image_files import list_images

    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}; use train or test")
    keep_in_memory = _check_options(labels, image_size, channels, resident, workers, limit)
    top = _folder(root, path)
    files = list_images(top)
    if not files:
        raise DataError(_no_images(top))
    files = files[:limit] if limit else files
    key = listing_key(top, files, channels, image_size)
    memo = (key, labels, hflip, skip_bad, keep_in_memory, workers)
    if memo not in _LAST:
        _LAST.clear()
        _LAST[memo] = _load(top, files, key, labels, image_size, channels, hflip, skip_bad, keep_in_memory,
                            workers or min(_cpus(), MAX_DECODE_WORKERS))
    return _LAST[memo]


def _load(top: Path, files: list[Path], key: str, labels: str, image_size: int, channels: int, hflip: bool,
          skip_bad: bool, keep_in_memory: bool | None, workers: int) -> "Data":
    """Decode (or find in the cache), label and wrap the folder's images."""
    import numpy as np
    import torch

    from ganzoo.data import PixelFile, user_cache_dir
    from ganzoo.spec import Data, DataSpec
    from ganzoo_plugins import folder_cache as fc

    cache = user_cache_dir() / "folders"
    decoded = fc.cached(cache, key)
    if decoded is None:
        shape = fc.sample_shape(top, files, channels, image_size, skip_bad)
        size = len(files) * int(np.prod(shape))
        if keep_in_memory is None:
            keep_in_memory = size <= RESIDENT_SHARE * _available_memory()
        to_file = not keep_in_memory or size >= fc.CACHE_MIN_BYTES
        decoded = fc.decode(top, files, shape, image_size, skip_bad, workers, cache / f"{key}.u8" if to_file else None)
    elif keep_in_memory is None:
        keep_in_memory = int(np.prod(decoded.shape)) <= RESIDENT_SHARE * _available_memory()
    if decoded.bad and not skip_bad:
        raise fc.unreadable(DataError(decoded.bad[0][2]))
    kept = [files[i] for i in decoded.kept]
    classes, y = _labels(top, kept, labels)
    stream = None
    if decoded.pixels is not None:
        x = torch.from_numpy(decoded.pixels)
    elif keep_in_memory:
        x = torch.from_numpy(np.fromfile(decoded.file, dtype=np.uint8).reshape(decoded.shape))
    else:
        stream = PixelFile(decoded.file, decoded.shape, min(workers, MAX_STREAM_WORKERS))
        x = stream.tensor()
    record = {"folder": str(top), "images": len(kept), "skipped": len(decoded.bad),
              "skipped_files": [rel for _, rel, _ in decoded.bad[:NAMED_SKIPS]], "classes": classes,
              "resident": stream is None, "cache": str(decoded.file) if decoded.file is not None else None}
    spec = DataSpec(tuple(decoded.shape[1:]), len(classes) if y is not None else 0)
    return Data(x, y, spec, info={"record": record}, hflip=hflip, stream=stream)


def _check_options(labels: str, image_size: int, channels: int, resident: str, workers: int,
                   limit: int) -> bool | None:
    """Refuse bad option values in one line; returns ``resident`` as True, False or None (auto)."""
    if labels not in LABELS:
        raise ConfigError(f"dataset.labels must be one of {', '.join(LABELS)}, got {labels!r}")
    if channels not in (1, 3):
        raise ConfigError(f"dataset.channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    for name, value in (("image_size", image_size), ("workers", workers), ("limit", limit)):
        if value < 0:
            raise ConfigError(f"dataset.{name} must be 0 or more, got {value}")
    choice = str(resident).lower()
    if choice not in ("auto", "true", "on", "false", "off"):
        raise ConfigError(f"dataset.resident must be auto, true or false, got {resident!r}")
    return None if choice == "auto" else choice in ("true", "on")


def _folder(root: Path, path: str) -> Path:
    """The folder to read: ``path``, else DATA_ROOT/images; missing or empty is a one-line error."""
    top = Path(path).expanduser() if path else Path(root) / "images"
    if not top.is_dir():
        if not path:
            raise DataError(f"dataset.path is not set (and {top} does not exist); point it at your images with "
                            "--set dataset.path=DIR")
        what = "is not a folder" if top.exists() else "does not exist"
        raise DataError(f"image folder {top} {what}; point dataset.path at a folder of images "
                        "(--set dataset.path=DIR)")
    return top.resolve()


def _no_images(top: Path) -> str:
    """Why a folder gave no image: it is empty, or holds no file of an image type."""
    from ganzoo_plugins.image_files import IMAGE_SUFFIXES

    others = sum(1 for p in top.rglob("*") if p.is_file())
    kinds = ", ".join(s.lstrip(".") for s in IMAGE_SUFFIXES)
    if not others:
        return f"image folder {top} is empty; put images ({kinds}) in it or point dataset.path elsewhere"
    return f"image folder {top} holds no images: none of its {others} files is a {kinds} file"


def _labels(top: Path, files: list[Path], labels: str) -> "tuple[list[str], torch.Tensor | None]":
    """(class names, int64 labels or None) from the first-level sub-folder of each image, as ``labels`` says."""
    import torch

    if labels == "none":
        return [], None
    firsts = [p.relative_to(top).parts for p in files]
    loose = [parts[0] for parts in firsts if len(parts) == 1]
    classes = sorted({parts[0] for parts in firsts if len(parts) > 1})
    if labels == "auto" and (loose or len(classes) < 2):
        return [], None
    if loose:
        raise DataError(f"{len(loose)} images lie directly in {top}, outside any class folder (e.g. {loose[0]}); "
                        "move them into class folders or use --set dataset.labels=none")
    index = {name: i for i, name in enumerate(classes)}
    return classes, torch.tensor([index[parts[0]] for parts in firsts], dtype=torch.int64)


def _available_memory() -> int:
    """Bytes of memory available to a new allocation: MemAvailable (Linux), else free physical pages."""
    import os

    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def _cpus() -> int:
    from ganzoo_plugins.image_files import usable_cpus

    return usable_cpus()


def image_folder(root: Path, split: str, download: bool, path: str = "", image_size: int = 64, channels: int = 3,
                 limit: int = 0) -> "Data":
    """The ``folder`` data set under its old name and defaults (64x64, labels from class sub-folders when
    there are several), for configs written before ``folder``; new configs use ``folder``."""
    return folder(root, split, download, path=path, image_size=image_size, channels=channels, limit=limit)


def _fixture(root: Path, split: str) -> None:
    """A tiny flat folder of images of every type under ``root/images``, for the conformance kit."""
    from ganzoo_plugins.fixtures import write_flat_image_folder

    write_flat_image_folder(root, split)


def _class_fixture(root: Path, split: str) -> None:
    """A tiny image folder of two classes under ``root/images``, for the conformance kit."""
    from ganzoo_plugins.fixtures import write_image_folder

    write_image_folder(root, split)


folder.write_fixture = _fixture
folder.tiny_params = {"image_size": 16}
image_folder.write_fixture = _class_fixture
image_folder.tiny_params = {"image_size": 16}


@hookimpl
def ganzoo_datasets(register):
    """``folder``, and ``image-folder``, its old name."""
    register("folder", folder, "your own images: a flat or nested folder (png, jpg, webp, bmp), optional class "
                               "sub-folders, resident or streamed")
    register("image-folder", image_folder, "the 'folder' data set under its old name (64x64 by default)")
