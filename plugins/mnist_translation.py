"""Built-in plugin ``mnist_translation``: offline image-to-image demo data made from MNIST.

``mnist-edges`` (paired, for pix2pix): the source is a digit's outline, its external morphological
gradient (the pixels a 3x3 dilation adds to the binarized digit), the target the digit itself.
``mnist-strokes`` (unpaired, for CycleGAN): domain A holds thinned digits, domain B thickened ones,
made from disjoint halves of the split; each is a 3x3 grayscale erosion or dilation taken at twice
the resolution (so strokes lose or gain about one pixel, and thin strokes survive), thinned digits
rescaled to a peak of full ink. Each sample keeps its source digit's class in
``extras["digits"]`` (its target's in ``extras["target_digits"]``) for the ``content-kept`` metric,
and ``info["evaluator"]`` names MNIST's self-trained evaluator for it and for ``fd``.
MNIST is read from the data root as ``vision`` reads it.
"""

from __future__ import annotations

from pathlib import Path

from ganzoo import hookimpl
from ganzoo.errors import DataError

SPLIT_SEEDS = {"train": 0, "test": 1}
EVALUATOR = {"name": "mnist"}


def load_digits(root: Path, split: str, download: bool, limit: int):
    """MNIST's split as float (N, 1, 28, 28) in [0, 1] and int64 labels (N,), the first ``limit`` if > 0."""
    from torchvision.datasets import MNIST

    if split not in SPLIT_SEEDS:
        raise DataError(f"unknown split {split!r}; use train or test")
    if limit < 0:
        raise DataError(f"dataset.limit must be 0 or more, got {limit}")
    ds = MNIST(str(root), train=split == "train", download=download)
    images, labels = (ds.data[:limit], ds.targets[:limit]) if limit else (ds.data, ds.targets)
    return images.unsqueeze(1).float().div(255.0), labels.long()


def outline(digits):
    """The external morphological gradient of the binarized digits (ink > 1/2): the ring of pixels a 3x3
    dilation adds, as 0/1 floats."""
    import torch.nn.functional as F

    ink = (digits > 0.5).float()
    return F.max_pool2d(ink, 3, 1, 1) - ink


def at_double_resolution(digits, operation):
    """``operation`` applied to the digits upsampled 2x (bilinear), averaged back down to their size."""
    import torch.nn.functional as F

    up = F.interpolate(digits, scale_factor=2, mode="bilinear", align_corners=False)
    return F.avg_pool2d(operation(up), 2)


def thin(digits):
    """Grayscale 3x3 erosion at double resolution, each digit rescaled to a peak of 1."""
    import torch.nn.functional as F

    eroded = at_double_resolution(digits, lambda u: -F.max_pool2d(-u, 3, 1, 1))
    return (eroded / eroded.amax((1, 2, 3), keepdim=True).clamp_min(1e-6)).clamp(0, 1)


def thick(digits):
    """Grayscale 3x3 dilation at double resolution."""
    import torch.nn.functional as F

    return at_double_resolution(digits, lambda u: F.max_pool2d(u, 3, 1, 1)).clamp(0, 1)


def demo_data(targets, sources, digits, target_digits, paired: bool):
    """Data of [0, 1] targets (x) and sources (y) mapped to [-1, 1], with the digits in extras."""
    from ganzoo.spec import Data, DataSpec

    spec = DataSpec(tuple(targets.shape[1:]), 0, (-1.0, 1.0), condition_shape=tuple(sources.shape[1:]))
    return Data((targets * 2 - 1).contiguous(), (sources * 2 - 1).contiguous(), spec,
                extras={"digits": digits, "target_digits": target_digits},
                info={"paired": paired, "evaluator": dict(EVALUATOR)})


def mnist_edges(root: Path, split: str, download: bool, limit: int = 0):
    """Paired MNIST: digit outlines (sources) and the digits (targets), 1x28x28; ``limit`` > 0 takes the first N."""
    digits, labels = load_digits(root, split, download, limit)
    return demo_data(digits, outline(digits), labels, labels, paired=True)


def mnist_strokes(root: Path, split: str, download: bool, limit: int = 0, seed: int = 0):
    """Unpaired MNIST: thinned digits (A, sources) and thickened digits (B, targets) from disjoint halves of the
    split, paired at random; ``seed`` draws the halves and the pairs; ``limit`` > 0 takes the first N digits."""
    import torch

    digits, labels = load_digits(root, split, download, limit)
    g = torch.Generator().manual_seed(seed * 2 + SPLIT_SEEDS[split])
    order = torch.randperm(len(digits), generator=g)
    half = len(digits) // 2
    if half == 0:
        raise DataError(f"mnist-strokes needs at least 2 digits, got {len(digits)}; raise dataset.limit")
    a, b = order[:half], order[half : 2 * half][torch.randperm(half, generator=g)]
    return demo_data(thick(digits[b]), thin(digits[a]), labels[a], labels[b], paired=False)


def _mnist_fixture(root: Path, split: str) -> None:
    """A tiny synthetic MNIST split under ``root`` to make the pairs from, for the conformance kit."""
    from ganzoo_plugins.fixtures import write_mnist

    write_mnist(root, split)


mnist_edges.write_fixture = _mnist_fixture
mnist_strokes.write_fixture = _mnist_fixture


@hookimpl
def ganzoo_datasets(register):
    """The two MNIST translation demos."""
    register("mnist-edges", mnist_edges, "paired MNIST for pix2pix: digit outlines -> digits")
    register("mnist-strokes", mnist_strokes, "unpaired MNIST for CycleGAN: thinned digits -> thickened digits")
