"""Built-in plugin ``translation_data``: your own image pairs for image-to-image translation.

``folder-pairs`` (pix2pix) reads DIR/A/ (sources) and DIR/B/ (targets) whose images match by name
(the same path under A/ and B/ without its suffix: ``A/cat7.jpg`` pairs with ``B/cat7.png``);
``folder-unpaired`` (CycleGAN) reads DIR/A/ and DIR/B/ of any sizes and pairs their images at random,
reshuffled by ``seed``. Where DIR/train/ and DIR/test/ exist, each split reads its own A/ and B/; else
both splits read DIR/A/ and DIR/B/. Images are decoded by ``ganzoo_plugins.image_files``, scaled
(shorter side) and centre-cropped to ``image_size``, and held as floats in [-1, 1]: targets in
``Data.x``, sources in ``Data.y`` (``DataSpec.condition_shape``).
"""

from __future__ import annotations

from pathlib import Path

from ganzoo import hookimpl
from ganzoo.errors import ConfigError, DataError

DOMAINS = ("A", "B")
#: Names of unmatched images an error quotes at most.
QUOTED = 3


def domain_folders(root: Path, path: str, split: str, dataset: str) -> tuple[Path, Path]:
    """DIR/<split>/A and B where DIR/<split> exists, else DIR/A and B (DIR: ``path``, else DATA_ROOT/<dataset>)."""
    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}; use train or test")
    top = Path(path).expanduser() if path else Path(root) / dataset
    if (top / split).is_dir():
        top = top / split
    missing = [d for d in DOMAINS if not (top / d).is_dir()]
    if missing:
        hint = "" if path else " (set it with --set dataset.path=DIR)"
        raise DataError(f"{dataset}: {top}{hint} must hold the folders A/ and B/; {'/ and '.join(missing)}/ "
                        f"{'is' if len(missing) == 1 else 'are'} missing")
    return top / "A", top / "B"


def images_by_name(folder: Path, dataset: str) -> dict[str, Path]:
    """The images under ``folder`` by their relative path without suffix; two images of one name are an error."""
    from ganzoo_plugins.image_files import list_images

    found: dict[str, Path] = {}
    for image in list_images(folder):
        name = image.relative_to(folder).with_suffix("").as_posix()
        if name in found:
            raise DataError(f"{dataset}: {found[name].name} and {image.name} in {folder} share the name {name!r}; "
                            "keep one image per name")
        found[name] = image
    if not found:
        raise DataError(f"{dataset}: {folder} holds no images (png, jpg, jpeg, webp, bmp)")
    return found


def check_options(image_size: int, channels: int, source_channels: int, limit: int) -> int:
    """Refuse bad option values in one line; returns the source images' channels."""
    if image_size < 4:
        raise ConfigError(f"dataset.image_size must be at least 4, got {image_size}")
    for name, value in (("channels", channels), ("source_channels", source_channels or channels)):
        if value not in (1, 3):
            raise ConfigError(f"dataset.{name} must be 1 (grayscale) or 3 (RGB), got {value}")
    if limit < 0:
        raise ConfigError(f"dataset.limit must be 0 or more, got {limit}")
    return source_channels or channels


def read_floats(paths: list[Path], channels: int, image_size: int):
    """The images as float (N, channels, image_size, image_size) in [-1, 1]; the first unreadable one is raised."""
    import torch

    from ganzoo_plugins.image_files import read_images, usable_cpus

    out = [None] * len(paths)
    for i, image in read_images(paths, channels, image_size, workers=min(usable_cpus(), 8)):
        if isinstance(image, DataError):
            raise image
        out[i] = image
    return torch.stack(out).float().div_(127.5).sub_(1.0)


def translation_data(targets, sources, paired: bool, record: dict):
    """Data of targets (x) and their sources (y), unlabelled, with ``info["paired"]``."""
    from ganzoo.spec import Data, DataSpec

    spec = DataSpec(tuple(targets.shape[1:]), 0, (-1.0, 1.0), condition_shape=tuple(sources.shape[1:]))
    return Data(targets.contiguous(), sources.contiguous(), spec, info={"paired": paired, "record": record})


def folder_pairs(root: Path, split: str, download: bool, path: str = "", image_size: int = 64, channels: int = 3,
                 source_channels: int = 0, limit: int = 0):
    """Paired images: DIR/A/ (sources) and DIR/B/ (targets) with matching names (default DIR: DATA_ROOT/folder-pairs).

    ``image_size``: side the images are scaled and cropped to; ``channels`` (1 or 3) of the targets,
    ``source_channels`` of the sources (0: the same); ``limit`` > 0 takes the first N pairs by name.
    """
    src_channels = check_options(image_size, channels, source_channels, limit)
    a_dir, b_dir = domain_folders(root, path, split, "folder-pairs")
    a, b = images_by_name(a_dir, "folder-pairs"), images_by_name(b_dir, "folder-pairs")
    only_a, only_b = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
    if only_a or only_b:
        quoted = ", ".join(repr(n) for n in (only_a + only_b)[:QUOTED])
        raise DataError(f"folder-pairs: {len(only_a)} image name(s) in {a_dir} have no match in B/ and {len(only_b)} "
                        f"in {b_dir} none in A/ (e.g. {quoted}); give each source in A/ the name of its target in B/")
    names = sorted(a)[:limit] if limit else sorted(a)
    sources = read_floats([a[n] for n in names], src_channels, image_size)
    targets = read_floats([b[n] for n in names], channels, image_size)
    return translation_data(targets, sources, True, {"folders": [str(a_dir), str(b_dir)], "pairs": len(names)})


def folder_unpaired(root: Path, split: str, download: bool, path: str = "", image_size: int = 64, channels: int = 3,
                    source_channels: int = 0, limit: int = 0, seed: int = 0):
    """Unpaired images: DIR/A/ and DIR/B/ of any sizes (default DIR: DATA_ROOT/folder-unpaired).

    As many pairs as the larger domain has images: each domain's images in a random order, repeated as
    needed, reshuffled by ``seed``; options as for folder-pairs (``limit`` per domain).
    """
    import torch

    src_channels = check_options(image_size, channels, source_channels, limit)
    a_dir, b_dir = domain_folders(root, path, split, "folder-unpaired")
    a = sorted(images_by_name(a_dir, "folder-unpaired").values())
    b = sorted(images_by_name(b_dir, "folder-unpaired").values())
    a, b = (a[:limit], b[:limit]) if limit else (a, b)
    count = max(len(a), len(b))
    g = torch.Generator().manual_seed(seed)
    sources = read_floats(a, src_channels, image_size)[random_cover(len(a), count, g)]
    targets = read_floats(b, channels, image_size)[random_cover(len(b), count, g)]
    record = {"folders": [str(a_dir), str(b_dir)], "images": [len(a), len(b)], "seed": seed}
    return translation_data(targets, sources, False, record)


def random_cover(size: int, count: int, generator):
    """``count`` indices into ``size`` items: random permutations of all of them, one after another."""
    import torch

    rounds = -(-count // size)
    return torch.cat([torch.randperm(size, generator=generator) for _ in range(rounds)])[:count]


def write_domain_folders(top: Path, a_names: list[str], b_names: list[str], size: tuple[int, int] = (10, 12)) -> None:
    """Random RGB images, not square, as DIR/A/<name>.png and DIR/B/<name>.jpg (the same every time)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for domain, names, suffix in (("A", a_names, ".png"), ("B", b_names, ".jpg")):
        (top / domain).mkdir(parents=True, exist_ok=True)
        for name in names:
            pixels = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(top / domain / f"{name}{suffix}")


def _pairs_fixture(root: Path, split: str) -> None:
    """Six tiny pairs under ``root/folder-pairs`` (A/ as png, B/ as jpg), for the conformance kit."""
    names = ["a", "b", "c", "d", "e", "f"]
    write_domain_folders(Path(root) / "folder-pairs", names, names)


def _unpaired_fixture(root: Path, split: str) -> None:
    """Four A and seven B tiny images under ``root/folder-unpaired``, for the conformance kit."""
    write_domain_folders(Path(root) / "folder-unpaired", [f"a{i}" for i in range(4)], [f"b{i}" for i in range(7)])


folder_pairs.write_fixture = _pairs_fixture
folder_pairs.tiny_params = {"image_size": 8}
folder_unpaired.write_fixture = _unpaired_fixture
folder_unpaired.tiny_params = {"image_size": 8}


@hookimpl
def ganzoo_datasets(register):
    """Paired and unpaired image folders for image-to-image translation."""
    register("folder-pairs", folder_pairs, "paired images for pix2pix: DIR/A/ and DIR/B/ with matching names")
    register("folder-unpaired", folder_unpaired, "unpaired images for CycleGAN: DIR/A/ and DIR/B/, any sizes")
