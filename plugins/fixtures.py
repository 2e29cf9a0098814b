"""Tiny synthetic copies of the built-in data sets' files, in exactly the layout their loaders read.

Each ``write_*(root, split)`` here is a data-set factory's ``write_fixture`` (see
``ganzoo.contracts.DatasetFactory``): it writes a handful of random samples of one split under
``root``, so the conformance kit checks the loader on real files offline. The factories import
this module only when a fixture is written.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np

#: Samples per split (per batch file for CIFAR-10): one of each of the ten classes.
SAMPLES = 10
SPLIT_SEEDS = {"train": 0, "test": 1}
#: The file-name prefix torchvision's MNIST-style loaders give each split's idx files.
IDX_PREFIXES = {"train": "train", "test": "t10k"}
#: torchvision's IDX type code for unsigned bytes.
IDX_UBYTE = 0x08
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
#: Class sub-folders and images per class of the image-folder fixture; its images are deliberately
#: not square, so the loader's resize and centre crop are exercised.
IMAGE_FOLDER_CLASSES = ("class_a", "class_b")
IMAGES_PER_CLASS = 3
IMAGE_HW = (20, 24)


def random_pixels(shape: tuple[int, ...], split: str) -> np.ndarray:
    """uint8 noise over the whole 0..255 range, the same for a split every time."""
    return np.random.default_rng(SPLIT_SEEDS[split]).integers(0, 256, size=shape, dtype=np.uint8)


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file of unsigned bytes (LeCun's MNIST format): magic, big-endian dimensions, then the data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, IDX_UBYTE, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_idx_split(raw: Path, split: str) -> None:
    """One split of an MNIST-style set under ``raw``: uncompressed 28x28 images and their labels 0..9."""
    prefix = IDX_PREFIXES[split]
    write_idx(raw / f"{prefix}-images-idx3-ubyte", random_pixels((SAMPLES, 28, 28), split))
    write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(SAMPLES, dtype=np.uint8) % 10)


def write_mnist(root: Path, split: str) -> None:
    """A tiny MNIST split where torchvision reads it: ``root/MNIST/raw``."""
    write_idx_split(Path(root) / "MNIST" / "raw", split)


def write_fashion_mnist(root: Path, split: str) -> None:
    """A tiny Fashion-MNIST split where torchvision reads it: ``root/FashionMNIST/raw``."""
    write_idx_split(Path(root) / "FashionMNIST" / "raw", split)


def _pickle(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump(obj, fh)


def write_cifar10(root: Path, split: str) -> None:
    """A tiny CIFAR-10 split as the python release lays it out: pickled batches of (N, 3072) uint8 rows
    (channel-major 3x32x32) with their labels, and ``batches.meta`` with the class names."""
    folder = Path(root) / CIFAR10_FOLDER
    names = CIFAR10_BATCHES[split]
    pixels = random_pixels((len(names), SAMPLES, 3 * 32 * 32), split)
    for name, rows in zip(names, pixels):
        _pickle(folder / name, {"batch_label": name, "data": rows, "labels": list(range(SAMPLES))})
    _pickle(folder / "batches.meta", {"label_names": CIFAR10_CLASSES, "num_cases_per_batch": SAMPLES,
                                      "num_vis": 3 * 32 * 32})


def write_image_folder(root: Path, split: str) -> None:
    """RGB PNGs in one sub-folder per class under ``root/images``, the image-folder default (one folder for
    every split)."""
    from PIL import Image

    pixels = random_pixels((len(IMAGE_FOLDER_CLASSES) * IMAGES_PER_CLASS, *IMAGE_HW, 3), split)
    for c, name in enumerate(IMAGE_FOLDER_CLASSES):
        folder = Path(root) / "images" / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(IMAGES_PER_CLASS):
            Image.fromarray(pixels[c * IMAGES_PER_CLASS + i]).save(folder / f"{i}.png")


#: The flat image-folder fixture: one image of each format, of mixed sizes (so the loader must resize
#: and crop them), under ``root/images``.
FLAT_IMAGES = (("a.png", (20, 24)), ("b.jpg", (24, 20)), ("c.webp", (18, 18)), ("d.bmp", (16, 30)),
               ("e.PNG", (32, 32)), ("f.jpeg", (17, 40)))


def write_flat_image_folder(root: Path, split: str) -> None:
    """RGB images of every type the ``folder`` data set reads (png, jpg, jpeg, webp, bmp; one with an upper-case
    suffix), of different sizes and not all square, directly in ``root/images`` (one folder for every split)."""
    from PIL import Image

    folder = Path(root) / "images"
    folder.mkdir(parents=True, exist_ok=True)
    for name, (h, w) in FLAT_IMAGES:
        Image.fromarray(random_pixels((h, w, 3), split)).save(folder / name)
