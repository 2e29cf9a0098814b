"""Image files: finding them in a folder tree and decoding them to uint8 tensors.

Decoding goes through ``torchvision.io.decode_image`` (PNG, JPEG, WebP; it releases the GIL, so
a thread pool decodes in parallel) and falls back to Pillow for what it cannot read (BMP, a
grayscale WebP, ...; torchvision 0.29 deprecates its decoders in favour of TorchCodec, and
Pillow is also the way on once they are gone). An image file that neither can read, a truncated one included, is a
``DataError`` naming its path. Resizing scales the shorter side to the target size (bilinear,
antialiased) and crops the centre square, as torchvision's ``Resize`` + ``CenterCrop`` do.
"""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from ganzoo.errors import DataError

#: The file suffixes taken for images (compared case-insensitively).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
#: Suffixes ``torchvision.io.decode_image`` reads; the others go to Pillow at once.
_TORCHVISION_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
#: Files one decoding task takes: enough to hide the pool's per-task cost, small enough to spread the work.
CHUNK = 64


def list_images(root: Path) -> list[Path]:
    """Every image file under ``root``, recursively (following linked folders once), sorted by relative path.

    Hidden files and folders (names starting with '.') are left out, so the ``._name.jpg`` files
    macOS leaves behind are not taken for images.
    """
    root = Path(root)
    found: list[tuple[str, Path]] = []
    seen: set[str] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
                path = Path(folder) / name
                found.append((path.relative_to(root).as_posix(), path))
    return [path for _, path in sorted(found)]


def read_image(path: Path, channels: int, image_size: int | None = None) -> torch.Tensor:
    """One image file as uint8 (channels, H, W); with ``image_size``, resized (shorter side) and centre-cropped
    to (channels, image_size, image_size). An unreadable or truncated file is a DataError naming it."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"cannot read image {path}: {exc.strerror or exc}") from None
    x = _decode(data, path, channels)
    return fit(x, image_size) if image_size else x


def _decode(data: np.ndarray, path: Path, channels: int) -> torch.Tensor:
    """Decode with torchvision where it reads the format and gives ``channels`` planes (it has no grayscale WebP),
    else with Pillow."""
    from torchvision.io import ImageReadMode, decode_image

    suffix = path.suffix.lower()
    if suffix in _TORCHVISION_SUFFIXES and data.size and not (suffix == ".webp" and channels == 1):
        mode = ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB
        try:
            x = decode_image(torch.from_numpy(data), mode=mode, apply_exif_orientation=True)
        except RuntimeError:
            x = None
        if x is not None and x.dim() == 3 and x.shape[0] == channels:
            return x if x.dtype == torch.uint8 else _to_uint8(x)
    return _decode_pil(data, path, channels)


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    """A 16-bit image (torchvision decodes 16-bit PNGs to uint16) scaled to 8 bits."""
    from torchvision.transforms.v2.functional import to_dtype

    return to_dtype(x, torch.uint8, scale=True)


def _decode_pil(data: np.ndarray, path: Path, channels: int) -> torch.Tensor:
    """Pillow's decoding, EXIF orientation applied, converted to L or RGB."""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data.tobytes())) as img:
            img = ImageOps.exif_transpose(img).convert("L" if channels == 1 else "RGB")
            pixels = np.array(img, dtype=np.uint8)
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, DecompressionBombError...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read image {path}: {reason} (a truncated or damaged file?)") from None
    x = torch.from_numpy(pixels)
    return x.unsqueeze(0) if x.dim() == 2 else x.permute(2, 0, 1).contiguous()


def fit(x: torch.Tensor, image_size: int) -> torch.Tensor:
    """uint8 (C, H, W) -> (C, image_size, image_size): the shorter side scaled to image_size (bilinear,
    antialiased), then the centre square cropped."""
    from torchvision.transforms.v2.functional import center_crop, resize

    if x.shape[-2:] == (image_size, image_size):
        return x
    if min(x.shape[-2:]) != image_size:
        x = resize(x, [image_size], antialias=True)
    return center_crop(x, [image_size, image_size]).contiguous()


def read_images(paths: Sequence[Path], channels: int, image_size: int | None = None,
                workers: int = 1) -> Iterator[tuple[int, torch.Tensor | DataError]]:
    """(index, image) for every path, decoded by ``workers`` threads in chunks of CHUNK files, in no fixed order;
    a file that cannot be read gives (index, its DataError) instead. At most 2·workers chunks are in flight."""
    chunks = [range(i, min(i + CHUNK, len(paths))) for i in range(0, len(paths), CHUNK)]

    def work(indices: range) -> list[tuple[int, torch.Tensor | DataError]]:
        out: list[tuple[int, torch.Tensor | DataError]] = []
        for i in indices:
            try:
                out.append((i, read_image(paths[i], channels, image_size)))
            except DataError as exc:
                out.append((i, exc))
        return out

    if workers <= 1:
        for indices in chunks:
            yield from work(indices)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="ganzoo-decode") as pool:
        pending = [pool.submit(work, c) for c in chunks[: 2 * workers]]
        upcoming = iter(chunks[2 * workers :])
        while pending:
            done = pending.pop(0).result()
            following = next(upcoming, None)
            if following is not None:
                pending.append(pool.submit(work, following))
            yield from done


def usable_cpus() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
