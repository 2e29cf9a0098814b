"""A folder's images decoded once into one uint8 array: in memory, or in a cache file that later loads reuse.

The array is (N, C, H, W), one row per readable image in the folder's sorted order. A set of at
least CACHE_MIN_BYTES decoded, and every set that will be streamed, goes to a file under the
ganzoo cache (``~/.cache/ganzoo/folders``, or ``$XDG_CACHE_HOME/ganzoo/folders``) named by a hash
of the folder's path, every file's relative path, size and modification time, and the decoding
options (channels, image_size): a changed, added or removed file gives another name, so a stale
cache is never read. A JSON file beside it records the shape and the files that could not be
read. The first load decodes with a thread pool straight into the file, so memory stays bounded;
the next loads read no image file at all.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ganzoo.errors import DataError
from ganzoo_plugins.image_files import read_image, read_images

#: Bump when the file layout or the decoding changes: older cache files are then ignored.
CACHE_FORMAT = 1
#: Decoded sets at least this large are cached on disk even when they stay resident.
CACHE_MIN_BYTES = 64 << 20
#: Rows moved at once when a cache file is compacted after skipping unreadable files.
COMPACT_ROWS = 4096


@dataclass
class Decoded:
    """A decoded folder: ``shape`` (N, C, H, W) of the readable images, held in ``pixels`` (memory) or
    ``file`` (the cache); ``bad`` lists (index among the listed files, relative path, reason) of the files
    that could not be read."""

    shape: tuple[int, int, int, int]
    bad: list[tuple[int, str, str]] = field(default_factory=list)
    pixels: np.ndarray | None = None
    file: Path | None = None

    @property
    def kept(self) -> list[int]:
        """Indices among the listed files of the N images (all but the bad ones)."""
        skipped = {i for i, _, _ in self.bad}
        return [i for i in range(self.shape[0] + len(skipped)) if i not in skipped]


def listing_key(top: Path, files: list[Path], channels: int, image_size: int) -> str:
    """The cache name of a folder's decoded images: a hash of its path, each file's relative path, size and
    mtime, and the decoding options."""
    entries = []
    for path in files:
        try:
            st = path.stat()
        except OSError as exc:
            raise DataError(f"cannot read image {path}: {exc.strerror or exc}") from None
        entries.append([path.relative_to(top).as_posix(), st.st_size, st.st_mtime_ns])
    text = json.dumps([CACHE_FORMAT, str(top.resolve()), channels, image_size, entries])
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def cached(cache: Path, key: str) -> Decoded | None:
    """The cache file of ``key`` when it is complete (its JSON record written, its size right), else None."""
    meta_path, data_path = cache / f"{key}.json", cache / f"{key}.u8"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        shape = tuple(int(s) for s in meta["shape"])
        if meta["format"] != CACHE_FORMAT or data_path.stat().st_size != math.prod(shape):
            return None
        return Decoded(shape, [(int(i), str(rel), str(why)) for i, rel, why in meta["bad"]], file=data_path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def sample_shape(top: Path, files: list[Path], channels: int, image_size: int, skip_bad: bool) -> tuple[int, int, int]:
    """(C, H, W) of every sample: image_size square, else the size of the first readable image."""
    if image_size:
        return channels, image_size, image_size
    for path in files:
        try:
            return tuple(read_image(path, channels).shape)  # type: ignore[return-value]
        except DataError as exc:
            if not skip_bad:
                raise unreadable(exc) from None
    raise DataError(f"none of the {len(files)} image files in {top} can be read; check the files")


def unreadable(exc: DataError) -> DataError:
    """A decoding error with the way around it."""
    return DataError(f"{exc}; fix or remove it, or skip unreadable files with --set dataset.skip_bad=true")


def decode(top: Path, files: list[Path], shape: tuple[int, int, int], image_size: int, skip_bad: bool,
           workers: int, file: Path | None) -> Decoded:
    """Decode every file into one (N, C, H, W) uint8 array: in memory, or into ``file`` (written with positioned
    writes, so no decoded image stays in this process, under a temporary name renamed when complete, with its
    JSON record beside it). Unreadable files are an error, or are left out with ``skip_bad``; an image of
    another size is an error unless ``image_size`` resizes them all."""
    row_bytes = math.prod(shape)
    tmp = file.with_name(f"{file.name}.{os.getpid()}.tmp") if file is not None else None
    fd = None
    if tmp is not None:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    out = np.empty((len(files), *shape), np.uint8) if fd is None else None
    bad: list[tuple[int, str]] = []
    try:
        for i, image in read_images(files, shape[0], image_size or None, workers):
            if isinstance(image, DataError):
                if not skip_bad:
                    raise unreadable(image)
                bad.append((i, str(image)))
            elif tuple(image.shape) != shape:
                raise DataError(
                    f"the images in {top} differ in size ({files[i].relative_to(top)} is "
                    f"{image.shape[2]}x{image.shape[1]}, others {shape[2]}x{shape[1]}); resize and centre-crop "
                    "them all with --set dataset.image_size=N")
            elif fd is not None:
                os.pwrite(fd, image.contiguous().numpy().tobytes(), i * row_bytes)
            else:
                out[i] = image.numpy()
        bad.sort()
        kept = sorted(set(range(len(files))) - {i for i, _ in bad})
        if not kept:
            raise DataError(f"none of the {len(files)} image files in {top} can be read; check the files")
        decoded = Decoded((len(kept), *shape), [(i, files[i].relative_to(top).as_posix(), why) for i, why in bad])
        if fd is None:
            decoded.pixels = out if len(kept) == len(files) else out[kept]
            return decoded
        _compact(fd, kept, row_bytes)
        os.close(fd)
        fd = None
        os.replace(tmp, file)
        record = {"format": CACHE_FORMAT, "folder": str(top), "shape": list(decoded.shape),
                  "bad": [list(b) for b in decoded.bad]}
        meta = file.with_suffix(".json")
        meta_tmp = meta.with_name(f"{meta.name}.{os.getpid()}.tmp")
        meta_tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(meta_tmp, meta)
        decoded.file = file
        return decoded
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and tmp.exists():
            tmp.unlink()


def _compact(fd: int, kept: list[int], row_bytes: int) -> None:
    """Leave only the ``kept`` rows in the file, in order (moved down a block at a time), cut it to their length
    and flush it to disk."""
    if kept[-1] != len(kept) - 1:  # some rows were left out
        for start in range(0, len(kept), COMPACT_ROWS):
            rows = kept[start : start + COMPACT_ROWS]
            block = b"".join(os.pread(fd, row_bytes, r * row_bytes) for r in rows)
            os.pwrite(fd, block, start * row_bytes)
    os.ftruncate(fd, len(kept) * row_bytes)
    os.fsync(fd)
