"""Write a folder of small PNG images for the data-loading benchmark: the same files for the same arguments.

    uv run python benchmarks/make_image_folder.py /tmp/folder200k --count 200000 --size 32 --workers 2

Image i is drawn from seed (seed, i): a smooth colour gradient with a few soft discs and a little
noise, so the files compress like small photos rather than like pure noise (about 2-3 kB each at
32x32). The images are spread over ``--classes`` sub-folders ``c000``, ``c001``, ... (the layout
``torchvision.datasets.ImageFolder`` needs; ganzoo's ``folder`` data set reads it too).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

#: Images one worker task writes.
CHUNK = 2000


def image(seed: int, index: int, size: int) -> np.ndarray:
    """Image ``index`` (size x size x 3 uint8) of the folder drawn from ``seed``."""
    rng = np.random.default_rng([seed, index])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    a, b = rng.uniform(0, 255, (2, 3)).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    t = np.cos(angle) * xx + np.sin(angle) * yy
    pixels = a + (b - a) * t[..., None]
    for _ in range(rng.integers(1, 4)):
        cy, cx, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.1, 0.35)
        disc = np.clip(1 - np.hypot(yy - cy, xx - cx) / r, 0, 1)[..., None]
        pixels = pixels * (1 - disc) + rng.uniform(0, 255, 3).astype(np.float32) * disc
    pixels += rng.normal(0, 4, pixels.shape).astype(np.float32)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def write_chunk(folder: str, start: int, stop: int, seed: int, size: int, classes: int) -> int:
    """Write images start..stop-1; returns how many."""
    from PIL import Image

    for i in range(start, stop):
        path = Path(folder) / f"c{i % classes:03d}" / f"{i:07d}.png"
        Image.fromarray(image(seed, i, size)).save(path, compress_level=6)
    return stop - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for c in range(args.classes):
        (args.folder / f"c{c:03d}").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    chunks = [(i, min(i + CHUNK, args.count)) for i in range(0, args.count, CHUNK)]
    with ProcessPoolExecutor(args.workers) as pool:
        done = sum(pool.map(write_chunk, *zip(*[(str(args.folder), a, b, args.seed, args.size, args.classes)
                                                   for a, b in chunks])))
    took = time.perf_counter() - start
    size = sum(p.stat().st_size for p in args.folder.rglob("*.png"))
    print(f"wrote {done:,} {args.size}x{args.size} PNGs ({size / 2**20:.0f} MiB) to {args.folder} in {took:.0f} s")


if __name__ == "__main__":
    main()
