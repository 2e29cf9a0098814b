"""Built-in plugin ``vision``: image data sets through torchvision, held in memory as tensors."""

from __future__ import annotations

from pathlib import Path

from ganzoo import hookimpl


def _to_data(images, labels, num_classes: int, image_size: int, limit: int):
    """uint8 (N, H, W[, C]) -> float (N, C, H, W) in [-1, 1], optionally resized and truncated."""
    import torch
    import torch.nn.functional as F

    from ganzoo.spec import Data, DataSpec

    x = torch.as_tensor(images)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    elif x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.permute(0, 3, 1, 2)
    y = torch.as_tensor(labels, dtype=torch.int64) if labels is not None else None
    if limit:
        x, y = x[:limit], (y[:limit] if y is not None else None)
    x = x.float().div(127.5).sub(1.0)
    if image_size and image_size != x.shape[-1]:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
        x = x.clamp(-1, 1)
    return Data(x.contiguous(), y, DataSpec(tuple(x.shape[1:]), num_classes if y is not None else 0))


def _check_split(split: str) -> bool:
    from ganzoo.errors import DataError

    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}; use train or test")
    return split == "train"


def mnist(root: Path, split: str, download: bool, image_size: int = 0, limit: int = 0):
    """MNIST digits, 1x28x28, ten classes."""
    from torchvision.datasets import MNIST

    ds = MNIST(str(root), train=_check_split(split), download=download)
    return _to_data(ds.data, ds.targets, 10, image_size, limit)


def fashion_mnist(root: Path, split: str, download: bool, image_size: int = 0, limit: int = 0):
    """Fashion-MNIST, 1x28x28, ten classes."""
    from torchvision.datasets import FashionMNIST

    ds = FashionMNIST(str(root), train=_check_split(split), download=download)
    return _to_data(ds.data, ds.targets, 10, image_size, limit)


def cifar10(root: Path, split: str, download: bool, image_size: int = 0, limit: int = 0, verify: bool = True):
    """CIFAR-10, 3x32x32, ten classes; ``verify`` false reads batch files that differ from the official
    release (a subset of it, or the conformance kit's fixture) without comparing their MD5 checksums."""
    ds = _cifar10_class(verify)(str(root), train=_check_split(split), download=download)
    return _to_data(ds.data, ds.targets, 10, image_size, limit)


def _cifar10_class(verify: bool):
    """torchvision's CIFAR10; unverified, its subclass that requires the files but not their checksums
    (torchvision skips the MD5 comparison for a file listed without one)."""
    from torchvision.datasets import CIFAR10

    if verify:
        return CIFAR10

    class UnverifiedCIFAR10(CIFAR10):
        train_list = [[name, None] for name, _ in CIFAR10.train_list]
        test_list = [[name, None] for name, _ in CIFAR10.test_list]
        meta = {**CIFAR10.meta, "md5": None}

    return UnverifiedCIFAR10


def image_folder(root: Path, split: str, download: bool, path: str = "", image_size: int = 64,
                 channels: int = 3, limit: int = 0):
    """A user's own images (torchvision ImageFolder layout: one sub-directory per class)."""
    import torch
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    from ganzoo.errors import DataError

    folder = Path(path).expanduser() if path else Path(root) / "images"
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist; set it with --set dataset.path=DIR")
    mode = "L" if channels == 1 else "RGB"
    tf = transforms.Compose([transforms.Resize(image_size), transforms.CenterCrop(image_size),
                             transforms.PILToTensor()])
    try:
        ds = ImageFolder(str(folder), transform=tf, loader=lambda p: _open_image(p, mode))
    except (FileNotFoundError, RuntimeError) as exc:
        raise DataError(f"image folder {folder}: {exc}".splitlines()[0]) from None
    count = len(ds) if not limit else min(limit, len(ds))
    images = torch.stack([ds[i][0] for i in range(count)])
    labels = torch.tensor([ds.targets[i] for i in range(count)])
    return _to_data(images, labels if len(ds.classes) > 1 else None, len(ds.classes), 0, 0)


def _open_image(path: str, mode: str):
    from PIL import Image

    with Image.open(path) as img:
        return img.convert(mode)


def _mnist_fixture(root: Path, split: str) -> None:
    """A tiny synthetic MNIST split under ``root``, for the conformance kit."""
    from ganzoo_plugins.fixtures import write_mnist

    write_mnist(root, split)


def _fashion_mnist_fixture(root: Path, split: str) -> None:
    """A tiny synthetic Fashion-MNIST split under ``root``, for the conformance kit."""
    from ganzoo_plugins.fixtures import write_fashion_mnist

    write_fashion_mnist(root, split)


def _cifar10_fixture(root: Path, split: str) -> None:
    """A tiny synthetic CIFAR-10 split under ``root``, for the conformance kit (loaded with verify=False)."""
    from ganzoo_plugins.fixtures import write_cifar10

    write_cifar10(root, split)


def _image_folder_fixture(root: Path, split: str) -> None:
    """A tiny synthetic image folder of two classes under ``root/images``, for the conformance kit."""
    from ganzoo_plugins.fixtures import write_image_folder

    write_image_folder(root, split)


mnist.write_fixture = _mnist_fixture
fashion_mnist.write_fixture = _fashion_mnist_fixture
cifar10.write_fixture = _cifar10_fixture
cifar10.tiny_params = {"verify": False}
image_folder.write_fixture = _image_folder_fixture
image_folder.tiny_params = {"image_size": 16}


@hookimpl
def ganzoo_datasets(register):
    """MNIST, Fashion-MNIST, CIFAR-10 and image folders."""
    register("mnist", mnist, "MNIST handwritten digits (torchvision)")
    register("fashion-mnist", fashion_mnist, "Fashion-MNIST (torchvision)")
    register("cifar10", cifar10, "CIFAR-10 (torchvision)")
    register("image-folder", image_folder, "your own images, one sub-directory per class (torchvision ImageFolder)")
