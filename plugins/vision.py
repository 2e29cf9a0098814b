"""Built-in plugin ``vision``: image data sets through torchvision, held in memory as uint8 tensors."""

from __future__ import annotations

from pathlib import Path

from ganzoo import hookimpl


def _to_data(images, labels, num_classes: int, image_size: int, limit: int):
    """uint8 (N, H, W[, C]) -> uint8 (N, C, H, W) (``ganzoo.spec.Data`` maps 0..255 onto [-1, 1]), optionally
    resized (bilinear, antialiased, rounded back to 8 bits) and truncated."""
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
    if image_size and image_size != x.shape[-1]:
        x = F.interpolate(x.float(), size=(image_size, image_size), mode="bilinear", antialias=True,
                          align_corners=False)
        x = x.round().clamp(0, 255).to(torch.uint8)
    return Data(x.to(torch.uint8).contiguous(), y, DataSpec(tuple(x.shape[1:]), num_classes if y is not None else 0))


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


mnist.write_fixture = _mnist_fixture
fashion_mnist.write_fixture = _fashion_mnist_fixture
cifar10.write_fixture = _cifar10_fixture
cifar10.tiny_params = {"verify": False}


@hookimpl
def ganzoo_datasets(register):
    """MNIST, Fashion-MNIST and CIFAR-10 (image folders: the ``folder`` plugin)."""
    register("mnist", mnist, "MNIST handwritten digits (torchvision)")
    register("fashion-mnist", fashion_mnist, "Fashion-MNIST (torchvision)")
    register("cifar10", cifar10, "CIFAR-10 (torchvision)")
