"""Self-trained evaluators: a small CNN classifier for MNIST-like data, trained by ganzoo itself.

On first use the classifier is trained on the data set's train split (deterministically, a
thousand to three thousand steps on one CPU thread), scored on its test split and cached under
``user_cache_dir()/evaluators`` with the sha256 of its weights, the sha256 of the data it saw
and its test accuracy. Its penultimate activations are the features of the Fréchet distance,
KID and PRDC; its logits serve conditional accuracy and the classifier score. Nothing is
downloaded. The cache and the data hash are ``ganzoo.metrics.evaluator_cache``'s, shared with the
autoencoder of ``ganzoo.metrics.autoencoder``.

    ev = get_evaluator({"name": "mnist"}, data_root, torch.device("cpu"))
    ev.features(x)   # (N, 128) float32; x is (N, C, H, W) in the data set's value range
    ev.logits(x)     # (N, num_classes)
    ev.protocol()    # name, weights sha256, data sha256, test accuracy, ...
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.jitter import random_affine
from ganzoo.metrics.evaluator_cache import (EvaluatorError, batched, cache_stem, cached_or_trained, default_engine,
                                            data_sha256, evaluator_identity, evaluator_source, file_sha256,
                                            train_seeded)

if TYPE_CHECKING:
    from ganzoo.engine import Engine
    from ganzoo.spec import Data

__all__ = ["DigitClassifier", "Evaluator", "EvaluatorError", "data_sha256", "file_sha256", "get_evaluator",
           "to_input", "train_classifier", "training_steps"]

#: Bump when the architecture or the training recipe changes: old cache entries are then ignored.
RECIPE_VERSION = 1
INPUT_SIZE = 28
FEATURE_DIM = 128
#: Dataset options that do not change what the evaluator learns (it always sees the full
#: train split, resized to INPUT_SIZE).
IGNORED_OPTIONS = ("limit", "image_size")


class DigitClassifier(nn.Module):
    """Two strided convolutions and a 128-unit penultimate layer: cheap on the CPU, >98% on MNIST."""

    def __init__(self, channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(64 * (INPUT_SIZE // 4) ** 2, FEATURE_DIM), nn.ReLU(),
        )
        self.head = nn.Linear(FEATURE_DIM, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of INPUT_SIZE x INPUT_SIZE images."""
        return self.head(self.body(x))


def to_input(x: torch.Tensor, channels: int, size: int = INPUT_SIZE) -> torch.Tensor:
    """Check (N, C, H, W) images and resize them to size x size (values stay in [-1, 1])."""
    if x.dim() != 4 or x.shape[1] != channels:
        raise EvaluatorError(f"the evaluator takes (N, {channels}, H, W) images, got shape {tuple(x.shape)}")
    x = x.float()
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x


def training_steps(samples: int, batch_size: int = 64) -> int:
    """Optimizer steps for a train split: two epochs, at least 1,000 (small sets) and at most 3,000."""
    return min(3000, max(1000, -(-2 * samples // batch_size)))


def train_classifier(train: "Data", device: torch.device, steps: int | None = None, batch_size: int = 64,
                     seed: int = 0) -> DigitClassifier:
    """Train a DigitClassifier deterministically (``train_seeded``: fixed seed and steps, Adam at 2e-3 with a
    one-cycle schedule, one CPU thread) on ``train``, each batch jittered by ``random_affine`` (up to 10 degrees, 2 pixels and 10%
    zoom, background moved in)."""
    channels = train.spec.shape[0]
    x_all, y_all = to_input(train.floats(), channels), train.y

    def batch_loss(model: nn.Module, idx: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return F.cross_entropy(model(random_affine(x_all[idx], 10.0, 2.0, scale=0.1, fill=-1.0, generator=g).to(device)), y_all[idx].to(device))

    return train_seeded(lambda: DigitClassifier(channels, train.spec.num_classes), len(x_all), batch_loss,
                        device=device, steps=steps or training_steps(len(train), batch_size), batch_size=batch_size,
                        lr=2e-3, seed=seed)


@dataclass
class Evaluator:
    """A trained classifier and the facts that make its numbers comparable."""

    name: str
    model: DigitClassifier
    device: torch.device
    channels: int
    num_classes: int
    weights_sha256: str
    data_sha256: str
    train_samples: int
    test_accuracy: float
    test_samples: int
    weights_file: Path

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (N, 128), float32 on the CPU, of images in the data's value range."""
        return batched(self.model.body, to_input(x, self.channels), self.device)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (N, num_classes), float32 on the CPU."""
        return batched(self.model, to_input(x, self.channels), self.device)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most likely class of each image (N,) int64."""
        return self.logits(x).argmax(dim=1)

    def protocol(self) -> dict:
        """Name, weights sha256, sha256 of the training data, test accuracy: the evaluator's identity."""
        return {
            **evaluator_identity(self.name, self.weights_sha256, self.data_sha256, self.train_samples),
            "evaluator_test_accuracy": self.test_accuracy,
            "evaluator_test_samples": self.test_samples,
            "features": f"penultimate layer ({FEATURE_DIM})",
        }


def _check_spec(name: str, data: "Data") -> None:
    spec = data.spec
    if spec.kind != "image" or spec.channels not in (1, 3) or spec.num_classes < 2:
        raise EvaluatorError(
            f"no self-trained evaluator for data set {name!r}: it needs labelled 1- or 3-channel images "
            f"(got {spec.kind} data of shape {spec.shape} with {spec.num_classes} classes)"
        )


def _train_and_score(train: "Data", test: "Data", device: torch.device) -> tuple[DigitClassifier, dict]:
    """A classifier trained on ``train`` and the facts to cache beside it: its accuracy on ``test``."""
    model = train_classifier(train, device)
    channels = train.spec.channels
    correct = (batched(model, to_input(test.floats(), channels), device).argmax(1) == test.y).double().mean()
    return model, {"train_samples": len(train), "test_accuracy": round(float(correct), 6), "test_samples": len(test),
                   "recipe_version": RECIPE_VERSION}


_MEMO: dict[tuple, Evaluator] = {}


def get_evaluator(dataset_config: dict | str, data_root: Path | str | None, device: torch.device | str = "cpu",
                  cache_dir: Path | None = None, engine: "Engine | None" = None) -> Evaluator:
    """The evaluator for a data set config (e.g. ``{"name": "mnist"}``): from the cache, or trained now.

    The data set's train split trains it and its test split scores it; both come from
    ``data_root`` (default: --data-root / GANZOO_DATA / the user cache), never downloaded
    unless the data set itself is.
    """
    source = evaluator_source(dataset_config, IGNORED_OPTIONS, data_root, device, cache_dir)
    if source.key in _MEMO:
        return _MEMO[source.key]
    engine, device = default_engine(engine), source.device
    train = source.load("train", engine)
    _check_spec(source.block["name"], train)
    data_hash = data_sha256(train)
    name = f"{source.block['name']}-cnn-v{RECIPE_VERSION}"
    stem = cache_stem(source.cache, name, data_hash)
    model, meta = cached_or_trained(
        stem, data_hash, lambda: DigitClassifier(train.spec.channels, train.spec.num_classes),
        lambda: _train_and_score(train, source.load("test", engine), device), device)
    evaluator = Evaluator(name, model, device, train.spec.channels, train.spec.num_classes, meta["weights_sha256"],
                          data_hash, int(meta["train_samples"]), float(meta["test_accuracy"]), int(meta["test_samples"]),
                          stem.with_suffix(".pt"))
    _MEMO[source.key] = evaluator
    return evaluator
