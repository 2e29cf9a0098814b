"""Built-in plugin ``stacked_mnist``: Stacked MNIST, 1,000 modes, and the ``stacked-modes`` metric that counts them.

Stacked MNIST (Metz et al. 2017, "Unrolled Generative Adversarial Networks"; the protocol of VEEGAN,
Srivastava et al. 2017, Table 2, and PacGAN, Lin et al. 2018, Table 2): three MNIST digits drawn at
random, stacked as the R, G and B channels of one 3x28x28 image. The three digits make a mode,
d_R·100 + d_G·10 + d_B, so the set has 1,000 modes of equal weight. PacGAN's experiment trains on
128,000 such images and scores 26,000 generated ones; those are the defaults of ``n`` and
``test_n`` here.

The images are drawn from the MNIST split under the data root (the train split's digits for the
train split, the test split's for the test split, so evaluation uses digits the evaluator never
saw), deterministically for ``seed``. The set is unlabelled (a conditional model cannot read the
modes it is scored on); each image's three digits are in ``Data.extras["digits"]`` (N, 3) and its
mode in ``Data.extras["mode"]`` (N,).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo import hookimpl
from ganzoo.metrics.base import Metric

if TYPE_CHECKING:
    import torch

SPLIT_SEEDS = {"train": 0, "test": 1}
#: PacGAN's Stacked MNIST experiment (the VEEGAN protocol): 128,000 training images, 26,000 scored.
PAPER_TRAIN_SAMPLES = 128_000
PAPER_EVAL_SAMPLES = 26_000


def stack_digits(images: "torch.Tensor", labels: "torch.Tensor", n: int,
                 seed: int) -> tuple["torch.Tensor", "torch.Tensor"]:
    """``n`` images (n, 3, 28, 28) uint8 whose channels are three MNIST digits drawn uniformly with replacement,
    and their digits (n, 3) int64, the same for a seed every time."""
    import torch

    g = torch.Generator().manual_seed(seed)
    which = torch.randint(0, images.shape[0], (n, 3), generator=g)
    return images[which], labels[which].to(torch.int64)


def _mnist(root: Path, split: str, download: bool):
    from torchvision.datasets import MNIST

    ds = MNIST(str(root), train=split == "train", download=download)
    return ds.data, ds.targets


def stacked_mnist(root: Path, split: str, download: bool, n: int = PAPER_TRAIN_SAMPLES,
                  test_n: int = PAPER_EVAL_SAMPLES, seed: int = 0):
    """Stacked MNIST, 3x28x28 in [-1, 1], unlabelled: ``n`` images in the train split, ``test_n`` in the test split."""
    from ganzoo.errors import DataError
    from ganzoo.spec import Data, DataSpec

    if split not in SPLIT_SEEDS:
        raise DataError(f"stacked-mnist: unknown split {split!r}; use train or test")
    count = n if split == "train" else test_n
    if count < 1:
        raise DataError(f"stacked-mnist: dataset.{'n' if split == 'train' else 'test_n'} must be at least 1, "
                        f"got {count}")
    images, labels = _mnist(root, split, download)
    stacked, digits = stack_digits(images, labels, count, seed * 2 + SPLIT_SEEDS[split])
    x = stacked.float().div_(127.5).sub_(1.0)
    mode = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    return Data(x, None, DataSpec((3, 28, 28)), {"digits": digits, "mode": mode})


def _mnist_fixture(root: Path, split: str) -> None:
    """A tiny synthetic MNIST split under ``root`` to stack digits from, for the conformance kit."""
    from ganzoo_plugins.fixtures import write_mnist

    write_mnist(root, split)


stacked_mnist.tiny_params = {"n": 64, "test_n": 32}
stacked_mnist.write_fixture = _mnist_fixture


def stacked_modes(ctx):
    """Modes covered, KL to uniform and confident share of generated Stacked MNIST (lazy import: torch stays out
    of `ganzoo list`)."""
    from ganzoo.metrics.stacked import stacked_modes_metric

    return stacked_modes_metric(ctx)


def real_stacked_modes(ctx, result):
    """The same figures on real Stacked MNIST of the evaluation split, with the evaluator's accuracy per channel."""
    from ganzoo.metrics.stacked import real_reference

    return real_reference(ctx, result)


@hookimpl
def ganzoo_datasets(register):
    """The Stacked MNIST data set."""
    register("stacked-mnist", stacked_mnist,
             "three MNIST digits as R, G, B: 1,000 modes (Metz et al. 2017; VEEGAN and PacGAN protocol)")


@hookimpl
def ganzoo_metrics(register):
    """The Stacked MNIST mode metric; its reference: the same figures on real stacked digits (the floor)."""
    register("stacked-modes", Metric(stacked_modes, kinds=("image",),
                                     goals={"modes": "max", "kl": "min", "kl_channels": "min", "dependence": "min",
                                            "confident": "max"},
                                     reference=real_stacked_modes),
             "modes covered of 1,000, KL(generated || uniform) and its parts, confident share (Stacked MNIST, "
             "PacGAN protocol)")
