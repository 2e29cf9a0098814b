"""Built-in plugin ``photo_datasets``: the photograph sets GAN papers train on, at the sizes they use.

- ``celeba``: CelebA's aligned faces (Liu et al. 2015, 178x218) through torchvision, centre-cropped
  and resized as the DCGAN re-implementations that made CelebA the DCGAN face benchmark do: the
  central 108x108 crop scaled to 64x64 (the CelebA recipe of carpedm20/DCGAN-tensorflow, ``--crop
  --input_height=108``). Radford et al. 2015 trained on faces of their own; ``crop: 148`` is the
  wider crop of later autoencoder papers, ``crop: 0`` the PyTorch DCGAN tutorial's (shorter side
  scaled, then centre-cropped: the whole 178-pixel width).
- ``lsun``: one LSUN scene category (Yu et al. 2015), e.g. ``bedroom`` as in Radford et al. 2015,
  from torchvision's on-disk layout (``CATEGORY_train_lmdb``), shorter side scaled and centre-cropped.
- ``stl10``: STL-10 (Coates et al. 2011) through torchvision, 96x96 natively; ``image_size`` 48 is
  the size of Miyato et al. 2018's STL-10 experiments, ``unlabeled: true`` adds the 100,000
  unlabelled images to the train split (and drops the labels).

All three hold 8-bit pixels (``ganzoo.spec.Data``). Each has a ``write_fixture`` that writes a
tiny copy in torchvision's layout (``ganzoo_plugins.photo_fixtures``), so the conformance kit loads
real files offline, and a ``verify`` option (CelebA, STL-10) that skips the MD5 checksums a subset
or a fixture cannot match.
"""

from __future__ import annotations

from pathlib import Path

from ganzoo import hookimpl

#: The scene categories of LSUN (Yu et al. 2015), the ones torchvision's LSUN knows.
LSUN_CATEGORIES = ("bedroom", "bridge", "church_outdoor", "classroom", "conference_room", "dining_room", "kitchen",
                   "living_room", "restaurant", "tower")
#: LSUN's labelled splits per ganzoo split: its validation set (300 images per category) serves as test.
LSUN_SPLITS = {"train": "train", "test": "val"}
CELEBA_WIDTH = 178
LSUN_EXTRA = "pip install 'ganzoo[lsun]' (or, in a clone, uv sync --extra lsun)"


def _split(split: str) -> str:
    from ganzoo.errors import DataError

    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}; use train or test")
    return split


def _check_size(name: str, image_size: int) -> None:
    from ganzoo.errors import ConfigError

    if image_size < 1:
        raise ConfigError(f"dataset.image_size must be a positive number of pixels for {name}, got {image_size}")


def _stack(images: list, name: str):
    """(N, C, H, W) uint8 from decoded images, or a one-line error for an empty set."""
    import torch

    from ganzoo.errors import DataError

    if not images:
        raise DataError(f"data set {name!r} holds no images here")
    return torch.stack(images)


def _decode_all(dataset, count: int) -> list:
    """Items 0..count-1 of a torchvision data set (image first), decoded on a thread pool (PIL releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda i: dataset[i][0], range(count)))


def celeba(root: Path, split: str, download: bool, image_size: int = 64, crop: int = 108, limit: int = 0,
           verify: bool = True):
    """CelebA aligned faces, unlabelled, 3 x image_size x image_size: the central crop x crop square scaled to
    image_size (crop 0: the shorter side scaled, then centre-cropped)."""
    from torchvision import transforms

    from ganzoo.errors import ConfigError, DataError
    from ganzoo.spec import Data, DataSpec

    _check_size("celeba", image_size)
    if not 0 <= crop <= CELEBA_WIDTH:
        raise ConfigError(f"dataset.crop must lie in 0..{CELEBA_WIDTH} (CelebA's aligned faces are "
                          f"{CELEBA_WIDTH} pixels wide; 0: no crop), got {crop}")
    steps = [transforms.CenterCrop(crop), transforms.Resize((image_size, image_size))] if crop else \
        [transforms.Resize(image_size), transforms.CenterCrop(image_size)]
    transform = transforms.Compose([*steps, transforms.PILToTensor()])
    try:
        ds = _celeba_class(verify)(str(root), split=_split(split), target_type=[], transform=transform,
                                   download=download)
    except ImportError as exc:  # torchvision's Google Drive download needs gdown
        raise DataError(f"CelebA is not under {Path(root) / 'celeba'} and cannot be downloaded here ({exc}); "
                        "put img_align_celeba/ and the list_*.txt files there") from None
    except RuntimeError:
        raise DataError(f"CelebA is not under {Path(root) / 'celeba'} (img_align_celeba/ and the list_*.txt files, "
                        "as released: dataset.verify=false skips their checksums) and could not be downloaded; "
                        "put it there, or pass --data-root DIR / set GANZOO_DATA to a directory that holds it"
                        ) from None
    count = min(limit, len(ds)) if limit else len(ds)
    x = _stack(_decode_all(ds, count), "celeba")
    return Data(x.contiguous(), None, DataSpec(tuple(x.shape[1:])))


def _celeba_class(verify: bool):
    """torchvision's CelebA; unverified, its subclass that requires the files but not their MD5 checksums."""
    from torchvision.datasets import CelebA

    if verify:
        return CelebA

    class UnverifiedCelebA(CelebA):
        file_list = [(file_id, None, name) for file_id, _, name in CelebA.file_list]

    return UnverifiedCelebA


def lsun(root: Path, split: str, download: bool, category: str = "bedroom", image_size: int = 64, limit: int = 0):
    """One LSUN category, unlabelled, 3 x image_size x image_size: the shorter side scaled, then centre-cropped.

    Read from torchvision's layout (``ROOT/CATEGORY_train_lmdb``, ``CATEGORY_val_lmdb`` for the test split) with
    the lmdb package, in key order as torchvision's ``LSUNClass`` reads it, but without that class: it pickles
    its key list into the current directory and unpickles any file of that name it finds there.
    """
    from ganzoo.errors import ConfigError, DataError

    _check_size("lsun", image_size)
    if category not in LSUN_CATEGORIES:
        raise ConfigError(f"unknown LSUN category {category!r}; use one of {', '.join(LSUN_CATEGORIES)}")
    folder = Path(root) / f"{category}_{LSUN_SPLITS[_split(split)]}_lmdb"
    try:
        import lmdb
    except ImportError:
        raise DataError(f"data set 'lsun' needs the lmdb package: {LSUN_EXTRA}") from None
    if not (folder / "data.mdb").is_file():
        raise DataError(f"LSUN {category} ({split}) is not at {folder}; torchvision cannot download LSUN: get "
                        f"{folder.name}.zip (the LSUN project's download.py) and unzip it under {Path(root)}")
    env = lmdb.open(str(folder), readonly=True, lock=False, readahead=False, meminit=False, max_readers=1)
    try:
        with env.begin(write=False) as txn:
            encoded = [value for _, value in _first(txn.cursor().iternext(keys=True, values=True), limit)]
    finally:
        env.close()
    x = _stack(_decode_scenes(encoded, image_size), "lsun")
    from ganzoo.spec import Data, DataSpec

    return Data(x.contiguous(), None, DataSpec(tuple(x.shape[1:])))


def _first(items, limit: int) -> list:
    """The first ``limit`` items (all when 0)."""
    from itertools import islice

    return list(islice(items, limit or None))


def _decode_scenes(encoded: list[bytes], image_size: int) -> list:
    """Encoded images (LSUN stores webp) -> (3, image_size, image_size) uint8, shorter side scaled then
    centre-cropped, on a thread pool."""
    import io
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image
    from torchvision import transforms

    transform = transforms.Compose([transforms.Resize(image_size), transforms.CenterCrop(image_size),
                                    transforms.PILToTensor()])

    def decode(data: bytes):
        with Image.open(io.BytesIO(data)) as img:
            return transform(img.convert("RGB"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(decode, encoded))


def stl10(root: Path, split: str, download: bool, image_size: int = 0, unlabeled: bool = False, limit: int = 0,
          verify: bool = True):
    """STL-10, 3x96x96 (``image_size`` resizes), ten classes; ``unlabeled`` true: the train split also holds the
    100,000 unlabelled images and no split carries labels."""
    from ganzoo.errors import ConfigError
    from ganzoo_plugins.vision import _to_data

    if image_size < 0:
        raise ConfigError(f"dataset.image_size must be 0 (native 96) or a positive number of pixels, got {image_size}")
    name = {"train": "train+unlabeled" if unlabeled else "train", "test": "test"}[_split(split)]
    ds = _stl10_class(verify)(str(root), split=name, download=download)
    labels = None if unlabeled else ds.labels
    return _to_data(ds.data, labels, 0 if unlabeled else 10, image_size, limit)


def _stl10_class(verify: bool):
    """torchvision's STL10; unverified, its subclass that requires the files but not their MD5 checksums."""
    from torchvision.datasets import STL10

    if verify:
        return STL10

    class UnverifiedSTL10(STL10):
        train_list = [[name, None] for name, _ in STL10.train_list]
        test_list = [[name, None] for name, _ in STL10.test_list]

    return UnverifiedSTL10


def _celeba_fixture(root: Path, split: str) -> None:
    """A tiny CelebA in torchvision's layout under ``root/celeba`` (both splits), for the conformance kit."""
    from ganzoo_plugins.photo_fixtures import write_celeba

    write_celeba(root, split)


def _lsun_fixture(root: Path, split: str) -> None:
    """A tiny LSUN bedroom split in torchvision's layout (an LMDB of webp images) under ``root``."""
    from ganzoo_plugins.photo_fixtures import write_lsun

    write_lsun(root, split)


def _stl10_fixture(root: Path, split: str) -> None:
    """A tiny STL-10 in torchvision's layout under ``root/stl10_binary`` (every file), for the conformance kit."""
    from ganzoo_plugins.photo_fixtures import write_stl10

    write_stl10(root, split)


celeba.write_fixture = _celeba_fixture
celeba.tiny_params = {"verify": False, "image_size": 16}
lsun.write_fixture = _lsun_fixture
lsun.tiny_params = {"image_size": 16}
stl10.write_fixture = _stl10_fixture
stl10.tiny_params = {"verify": False, "image_size": 32}


@hookimpl
def ganzoo_datasets(register):
    """CelebA, LSUN and STL-10."""
    register("celeba", celeba, "CelebA aligned faces, 108x108 centre crop to 64x64 as DCGAN re-implementations "
                               "(torchvision)")
    register("lsun", lsun, "one LSUN scene category (dataset.category, default bedroom), 64x64; needs the 'lsun' extra")
    register("stl10", stl10, "STL-10, 96x96 natively (dataset.image_size, dataset.unlabeled) (torchvision)")
