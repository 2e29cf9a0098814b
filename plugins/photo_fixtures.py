"""Tiny copies of CelebA, LSUN and STL-10 in exactly the layout torchvision reads (``photo_datasets``' fixtures).

Each ``write_*(root, split)`` is a data-set factory's ``write_fixture`` (``ganzoo.contracts.DatasetFactory``).
CelebA and STL-10 keep every split in one set of files, so their writers lay down all of it (the
same bytes whichever split is asked for); LSUN keeps one LMDB per category and split. The images
are deterministic: CelebA's each hold a bright central 108x108 square (the DCGAN crop) on a dark
border, so a loader that crops elsewhere shows it; LSUN's are webp, of several sizes, as LSUN's are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: CelebA fixture: the evaluation partition of each image (0 train, 1 valid, 2 test), and its size.
CELEBA_PARTITION = (0, 0, 0, 0, 0, 1, 2, 2)
CELEBA_HW = (218, 178)
CELEBA_CROP = 108
CELEBA_ATTRIBUTES = ("5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bald")
CELEBA_LANDMARKS = ("lefteye_x", "lefteye_y", "righteye_x", "righteye_y", "nose_x", "nose_y", "leftmouth_x",
                    "leftmouth_y", "rightmouth_x", "rightmouth_y")
#: LSUN fixture: (height, width) of its images, cycled; LSUN scales each so its shorter side is 256.
LSUN_SIZES = ((40, 56), (48, 36), (32, 32))
LSUN_IMAGES = 6
LSUN_SPLIT_NAMES = {"train": "train", "test": "val"}
STL10_FOLDER = "stl10_binary"
STL10_CLASSES = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck")
STL10_IMAGES = {"train": 10, "test": 10, "unlabeled": 12}
SEEDS = {"train": 0, "test": 1, "unlabeled": 2}


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(SEEDS[name])


def celeba_image(index: int) -> np.ndarray:
    """A 218x178 RGB face stand-in: a bright central 108x108 square of one colour per image on a dark border."""
    h, w = CELEBA_HW
    img = np.full((h, w, 3), 20, dtype=np.uint8)
    top, left = (h - CELEBA_CROP) // 2, (w - CELEBA_CROP) // 2
    img[top : top + CELEBA_CROP, left : left + CELEBA_CROP] = (200, 120 + 10 * index, 60 + 20 * index)
    return img


def _write_table(path: Path, rows: list[str], header: str | None = None) -> None:
    lines = ([str(len(rows)), header] if header is not None else []) + rows
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_celeba(root: Path, split: str) -> None:
    """CelebA as torchvision reads it, under ``root/celeba``: ``img_align_celeba/NNNNNN.jpg`` and the five
    list files (partition, identities, boxes, landmarks, attributes); the whole set, whatever ``split``."""
    from PIL import Image

    folder = Path(root) / "celeba"
    images = folder / "img_align_celeba"
    images.mkdir(parents=True, exist_ok=True)
    names = [f"{i + 1:06d}.jpg" for i in range(len(CELEBA_PARTITION))]
    for i, name in enumerate(names):
        Image.fromarray(celeba_image(i)).save(images / name, quality=95)
    _write_table(folder / "list_eval_partition.txt", [f"{n} {p}" for n, p in zip(names, CELEBA_PARTITION)])
    _write_table(folder / "identity_CelebA.txt", [f"{n} {i % 3 + 1}" for i, n in enumerate(names)])
    _write_table(folder / "list_bbox_celeba.txt", [f"{n} 10 20 100 120" for n in names],
                 "image_id x_1 y_1 width height")
    _write_table(folder / "list_landmarks_align_celeba.txt", [f"{n} " + " ".join(["80"] * 10) for n in names],
                 " ".join(CELEBA_LANDMARKS))
    _write_table(folder / "list_attr_celeba.txt",
                 [f"{n} " + " ".join("1" if (i + a) % 2 else "-1" for a in range(len(CELEBA_ATTRIBUTES)))
                  for i, n in enumerate(names)], " ".join(CELEBA_ATTRIBUTES))


def lsun_key(split: str, index: int) -> bytes:
    """An LSUN-style key: 40 hex digits (LSUN keys images by a SHA-1 of their source)."""
    import hashlib

    return hashlib.sha1(f"{split}-{index}".encode()).hexdigest().encode()


def write_lsun(root: Path, split: str, category: str = "bedroom") -> None:
    """One LSUN split as torchvision reads it: an LMDB ``root/CATEGORY_SPLIT_lmdb`` (SPLIT: train, or val for the
    test split) mapping keys to webp images of several sizes."""
    import io

    import lmdb
    from PIL import Image

    folder = Path(root) / f"{category}_{LSUN_SPLIT_NAMES[split]}_lmdb"
    folder.mkdir(parents=True, exist_ok=True)
    rng = _rng(split)
    env = lmdb.open(str(folder), map_size=1 << 24)
    try:
        with env.begin(write=True) as txn:
            for i in range(LSUN_IMAGES):
                h, w = LSUN_SIZES[i % len(LSUN_SIZES)]
                buf = io.BytesIO()
                Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)).save(buf, format="WEBP",
                                                                                        lossless=True)
                txn.put(lsun_key(split, i), buf.getvalue())
    finally:
        env.close()


def stl10_images(name: str) -> np.ndarray:
    """(N, 3, 96, 96) uint8 noise for one STL-10 file, the same every time."""
    return _rng(name).integers(0, 256, size=(STL10_IMAGES[name], 3, 96, 96), dtype=np.uint8)


def write_stl10(root: Path, split: str) -> None:
    """STL-10's binary release as torchvision reads it, under ``root/stl10_binary``: ``*_X.bin`` (each image
    channel by channel, column-major), ``*_y.bin`` (labels 1..10), ``class_names.txt`` and ``fold_indices.txt``;
    every file, whatever ``split`` (torchvision checks them all)."""
    folder = Path(root) / STL10_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train", "test", "unlabeled"):
        (folder / f"{name}_X.bin").write_bytes(np.ascontiguousarray(stl10_images(name).transpose(0, 1, 3, 2)).tobytes())
    for name in ("train", "test"):
        labels = np.arange(STL10_IMAGES[name], dtype=np.uint8) % 10 + 1
        (folder / f"{name}_y.bin").write_bytes(labels.tobytes())
    (folder / "class_names.txt").write_text("\n".join(STL10_CLASSES) + "\n", encoding="utf-8")
    folds = [" ".join(str(i) for i in range(f, STL10_IMAGES["train"], 10)) for f in range(10)]
    (folder / "fold_indices.txt").write_text("\n".join(folds) + "\n", encoding="utf-8")
