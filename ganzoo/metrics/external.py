"""Reading samples made outside ganzoo (an .npz file or a folder of images) for ``ganzoo eval --samples``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganzoo.errors import GanzooError
from ganzoo.spec import DataSpec

IMAGE_KEYS = ("x", "samples", "images", "arr_0")
LABEL_KEYS = ("labels", "y")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
#: Floats may overshoot the value range by this much (rounding in other people's pipelines).
RANGE_SLACK = 1e-3


class SamplesError(GanzooError):
    """A samples file or folder that is missing, unreadable, or of the wrong shape or range."""


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise SamplesError(f"{path} is not a readable .npz file ({type(exc).__name__})") from None
    key = next((k for k in IMAGE_KEYS if k in arrays), None)
    if key is None:
        raise SamplesError(f"{path} holds no image array: name it one of {', '.join(IMAGE_KEYS)} "
                           f"(found: {', '.join(arrays) or 'nothing'})")
    label_key = next((k for k in LABEL_KEYS if k in arrays), None)
    return arrays[key], (arrays[label_key] if label_key else None)


def _read_folder(path: Path, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SamplesError(f"{path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    images = []
    for file in files:
        try:
            with Image.open(file) as img:
                images.append(np.asarray(img.convert("L" if channels == 1 else "RGB")))
        except (OSError, UnidentifiedImageError):
            raise SamplesError(f"{file} is not a readable image") from None
    if len({im.shape for im in images}) != 1:
        raise SamplesError(f"the images in {path} differ in size; all must be {channels}-channel and the same size")
    return np.stack(images)


def _to_nchw(x: np.ndarray, shape: tuple[int, ...], where: Path) -> np.ndarray:
    channels = shape[0]
    if x.ndim == 3 and channels == 1:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[1] != channels and x.shape[-1] == channels:
        x = np.moveaxis(x, -1, 1)
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(shape):
        raise SamplesError(f"{where}: samples of shape {tuple(x.shape)} do not fit the data set's images "
                           f"(N, {', '.join(map(str, shape))}); N x H x W x C is accepted too")
    return x


def _to_range(x: np.ndarray, value_range: tuple[float, float], where: Path) -> torch.Tensor:
    lo, hi = value_range
    if x.dtype == np.uint8:
        return torch.from_numpy(x.astype(np.float32)).mul_((hi - lo) / 255.0).add_(lo)
    if not np.issubdtype(x.dtype, np.floating):
        raise SamplesError(f"{where}: samples of type {x.dtype} are not images; use uint8 0..255 or floats in [{lo:g}, {hi:g}]")
    if not np.isfinite(x).all():
        raise SamplesError(f"{where}: samples hold NaN or infinite values")
    x_min, x_max = float(x.min()), float(x.max())
    if x_min < lo - RANGE_SLACK or x_max > hi + RANGE_SLACK:
        raise SamplesError(f"{where}: float samples span [{x_min:.4g}, {x_max:.4g}], outside the data set's range "
                           f"[{lo:g}, {hi:g}]; rescale them, or save uint8 0..255")
    return torch.from_numpy(x.astype(np.float32)).clamp_(lo, hi)


def _labels(y: np.ndarray | None, n: int, num_classes: int, where: Path) -> torch.Tensor | None:
    if y is None:
        return None
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise SamplesError(f"{where}: labels must be {n} integers, got {y.dtype} of shape {y.shape}")
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise SamplesError(f"{where}: labels must lie in 0..{num_classes - 1}")
    return torch.from_numpy(y.astype(np.int64))


def load_samples(path: str | Path, spec: DataSpec) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Images (N, *spec.shape) in spec.value_range and optional int64 labels, from an .npz file or a folder.

    An .npz holds the images under x, samples, images or arr_0 (uint8 0..255 or floats in the
    data's value range; N x C x H x W or N x H x W x C) and optionally labels under labels or y.
    A folder holds one image file per sample (unlabelled).
    """
    path = Path(path)
    if path.is_dir():
        x, y = _read_folder(path, spec.channels), None
    elif path.is_file():
        x, y = _read_npz(path)
    else:
        raise SamplesError(f"no samples at {path}; pass an .npz file or a folder of images")
    x = _to_nchw(np.asarray(x), spec.shape, path)
    if len(x) < 2:
        raise SamplesError(f"{path}: need at least 2 samples, got {len(x)}")
    return _to_range(x, spec.value_range, path), _labels(y, len(x), spec.num_classes, path)
