"""``ganzoo sample --dump``: many generated images as files that external scorers read (FID tools and the like).

A directory receives one PNG per sample (``000000.png``, ...; 8-bit grayscale or RGB); a ``.npz``
file receives them all as one uint8 array ``x`` of shape (N, H, W, C) and, for a conditional
model, the int64 class of each under ``labels``, the form ``ganzoo eval --samples`` reads back.
Samples are drawn in chunks from one noise draw for ``seed``, so they equal
``generator.sample(n, labels, seed)`` mapped to 8-bit pixels, and memory holds the pixels plus one
chunk.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from ganzoo.errors import GanzooError, RunDirError

if TYPE_CHECKING:
    import torch

    from ganzoo.api import TrainedGenerator

#: Samples generated at once.
CHUNK = 500
#: Suffixes that name an image file: --dump takes a directory or an .npz, not one image.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")


def check_target(target: Path) -> None:
    """A .npz file or a directory that holds no images yet; anything else is a one-line error."""
    suffix = target.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        raise GanzooError(f"--dump {target}: give a directory (one PNG per sample) or a .npz file, not an image file")
    if suffix == ".npz":
        if target.is_dir():
            raise GanzooError(f"--dump {target} is a directory; name a .npz file, or a directory without the suffix")
        return
    if target.exists() and not target.is_dir():
        raise GanzooError(f"--dump {target} is a file; give a directory (one PNG per sample) or a .npz file")
    if target.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in target.iterdir()):
        raise GanzooError(f"--dump {target} already holds images; dump into an empty or new directory, so no "
                          "scorer mixes two sets")


def generated_pixels(generator: "TrainedGenerator", n: int, labels: "torch.Tensor | None", seed: int,
                     chunk: int = CHUNK) -> np.ndarray:
    """(n, H, W, C) uint8: ``generator.sample(n, labels, seed)`` as 8-bit pixels, drawn ``chunk`` at a time."""
    from ganzoo.spec import floats_to_pixels

    spec = generator.spec
    if spec.kind != "image":
        raise GanzooError(f"--dump writes images; this generator makes {spec.kind} samples of shape {spec.shape}")
    if spec.translation:
        raise GanzooError("--dump draws samples from noise; this generator translates images instead")
    z = generator.noise(n, seed)
    out = np.empty((n, spec.shape[1], spec.shape[2], spec.shape[0]), dtype=np.uint8)
    for i in range(0, n, chunk):
        part = labels[i : i + chunk] if labels is not None else None
        x = generator.sample(len(z[i : i + chunk]), part, z=z[i : i + chunk])
        out[i : i + chunk] = floats_to_pixels(x, spec.value_range).permute(0, 2, 3, 1).numpy()
    return out


def write_npz(pixels: np.ndarray, labels: "torch.Tensor | None", target: Path) -> None:
    """``x`` (and ``labels``) into one .npz, written atomically."""
    from ganzoo.checkpoint import atomic_write_bytes

    arrays = {"x": pixels}
    if labels is not None:
        arrays["labels"] = labels.to("cpu").numpy().astype(np.int64)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(buf.getvalue(), target)


def write_pngs(pixels: np.ndarray, target: Path) -> None:
    """One PNG per sample in ``target``, named by index with enough digits to sort in order."""
    from PIL import Image

    digits = max(6, len(str(len(pixels) - 1)))
    for i, image in enumerate(pixels):
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(target / f"{i:0{digits}d}.png")


def dump_samples(generator: "TrainedGenerator", target: Path, n: int, labels: "torch.Tensor | None",
                 seed: int) -> Path:
    """Write ``n`` samples (``labels``: one class per sample for a conditional generator, else None) to a
    directory of PNGs or a .npz file; returns ``target``. An unwritable path is a one-line RunDirError."""
    target = Path(target)
    check_target(target)
    npz = target.suffix.lower() == ".npz"
    with _writing(target):
        (target.parent if npz else target).mkdir(parents=True, exist_ok=True)  # fail before sampling, not after
    pixels = generated_pixels(generator, n, labels, seed)
    with _writing(target):
        write_npz(pixels, labels, target) if npz else write_pngs(pixels, target)
    return target


@contextlib.contextmanager
def _writing(target: Path) -> Iterator[None]:
    """An OSError while writing ``target`` becomes a one-line RunDirError."""
    try:
        yield
    except OSError as exc:
        raise RunDirError(f"cannot write {target}: {exc.strerror or exc}; choose another --dump") from None
