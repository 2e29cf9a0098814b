"""A self-trained autoencoder whose code is the feature space of ``ae-fd``: any image data set, no labels, no download.

On first use a small convolutional autoencoder is trained on the data set's train split
(images resized to 32x32, any number of channels), deterministically for its seed, on one CPU
thread, with a tenth of the split (at most 1,000 images, a seeded choice) held out; its mean
squared reconstruction error on those held-out images is recorded with it, so a reader sees how
much of the data its 64-dimensional code captures. It is cached like the MNIST classifier
(``ganzoo.metrics.evaluator_cache``): ``CACHE/evaluators/NAME-ae-v1-DATAHASH16.{pt,json}``, the
sha256 of its weights and of the data it saw beside them.

The Fréchet distance in such a self-trained feature space follows Heusel et al. 2017 with the
Inception network replaced by an autoencoder trained on the domain itself, as the Fréchet Gesture
Distance of Yoon et al. 2020 does for motion. Its numbers compare runs on the same data set under
the same evaluator hash; they are not FIDs and compare with nothing published.

    ae = get_autoencoder({"name": "folder", "path": "faces/"}, data_root, "cpu")
    ae.features(x)      # (N, 64) float32; x is (N, C, H, W) in the data set's value range
    ae.reconstruct(x)   # (N, C, 32, 32)
    ae.protocol()       # name, weights sha256, data sha256, held-out reconstruction error, ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.metrics.evaluator import to_input
from ganzoo.metrics.evaluator_cache import (EvaluatorError, batched, cache_stem, cached_or_trained, default_engine,
                                            data_sha256, evaluator_identity, evaluator_source, train_seeded)

if TYPE_CHECKING:
    from ganzoo.engine import Engine
    from ganzoo.spec import Data

#: Bump when the architecture or the training recipe changes: old cache entries are then ignored.
RECIPE_VERSION = 1
INPUT_SIZE = 32
CODE_DIM = 64
WIDTHS = (16, 32, 64)
#: Share of the train split held out to measure the reconstruction error, and its cap.
HELDOUT_SHARE, HELDOUT_MAX = 0.1, 1000
BATCH_SIZE = 64
#: Training length: EPOCHS passes over the training images, within [MIN_STEPS, MAX_STEPS] steps.
EPOCHS, MIN_STEPS, MAX_STEPS = 8, 200, 1200
LEARNING_RATE = 2e-3


class ConvAutoencoder(nn.Module):
    """Three strided 4x4 convolutions to a 64-d code and their mirror image back (32x32 images, C channels)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        a, b, c = WIDTHS
        side = INPUT_SIZE // 8
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, a, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(a, b, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(b, c, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(c * side * side, CODE_DIM),
        )
        self.decoder = nn.Sequential(
            nn.Linear(CODE_DIM, c * side * side), nn.ReLU(), nn.Unflatten(1, (c, side, side)),
            nn.ConvTranspose2d(c, b, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(b, a, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(a, channels, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions of INPUT_SIZE x INPUT_SIZE images in [-1, 1]."""
        return self.decoder(self.encoder(x))


def to_unit_range(x: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Images in ``value_range`` mapped to [-1, 1], the range the autoencoder reconstructs."""
    lo, hi = value_range
    return x.float() if (lo, hi) == (-1.0, 1.0) else (x.float() - lo) * (2.0 / (hi - lo)) - 1.0


def training_steps(samples: int, batch_size: int = BATCH_SIZE) -> int:
    """Optimizer steps for ``samples`` training images: EPOCHS passes, within [MIN_STEPS, MAX_STEPS]."""
    return min(MAX_STEPS, max(MIN_STEPS, math.ceil(EPOCHS * samples / batch_size)))


def heldout_split(samples: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(training indices, held-out indices) of a split of ``samples`` images: a seeded tenth held out (at least
    one, at most HELDOUT_MAX), the rest for training."""
    if samples < 2:
        raise EvaluatorError(f"the autoencoder needs at least 2 training images (one is held out), got {samples}")
    held = min(HELDOUT_MAX, max(1, int(samples * HELDOUT_SHARE)))
    perm = torch.randperm(samples, generator=torch.Generator().manual_seed(seed))
    return perm[held:], perm[:held]


def train_autoencoder(x: torch.Tensor, device: torch.device, steps: int | None = None,
                      batch_size: int = BATCH_SIZE, seed: int = 0) -> ConvAutoencoder:
    """Train a ConvAutoencoder on (N, C, 32, 32) images in [-1, 1] by mean squared error, deterministically
    (``train_seeded``: fixed seed and steps, Adam with a one-cycle schedule, one CPU thread)."""
    def batch_loss(model: nn.Module, idx: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        batch = x[idx].to(device)
        return F.mse_loss(model(batch), batch)

    return train_seeded(lambda: ConvAutoencoder(x.shape[1]), len(x), batch_loss, device=device,
                        steps=steps or training_steps(len(x), batch_size), batch_size=min(batch_size, len(x)),
                        lr=LEARNING_RATE, seed=seed)


def reconstruction_mse(model: ConvAutoencoder, x: torch.Tensor, device: torch.device) -> float:
    """Mean squared error of the model's reconstructions of (N, C, 32, 32) images in [-1, 1]."""
    return float(((batched(model, x, device) - x) ** 2).double().mean())


@dataclass
class AutoencoderEvaluator:
    """A trained autoencoder and the facts that make distances in its code comparable."""

    name: str
    model: ConvAutoencoder
    device: torch.device
    channels: int
    value_range: tuple[float, float]
    weights_sha256: str
    data_sha256: str
    train_samples: int
    heldout_samples: int
    heldout_mse: float
    weights_file: Path

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        return to_input(to_unit_range(x, self.value_range), self.channels, INPUT_SIZE)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The code (N, 64), float32 on the CPU, of (N, C, H, W) images in the data's value range."""
        return batched(self.model.encoder, self._input(x), self.device)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions (N, C, 32, 32) in [-1, 1], float32 on the CPU."""
        return batched(self.model, self._input(x), self.device)

    def protocol(self) -> dict:
        """Name, weights sha256, sha256 of the data it saw, held-out reconstruction error: its identity."""
        return {
            **evaluator_identity(self.name, self.weights_sha256, self.data_sha256, self.train_samples),
            "evaluator_heldout_samples": self.heldout_samples,
            "evaluator_heldout_mse": self.heldout_mse,
            "features": f"autoencoder code ({CODE_DIM}) of {INPUT_SIZE}x{INPUT_SIZE} images in [-1, 1]",
        }


def _check_images(name: str, data: "Data") -> None:
    if data.spec.kind != "image":
        raise EvaluatorError(f"metric 'ae-fd' needs image data; data set {name!r} holds {data.spec.kind} data "
                             f"of shape {data.spec.shape}")


def _train_and_score(train: "Data", device: torch.device, seed: int) -> tuple[ConvAutoencoder, dict]:
    """An autoencoder trained on all but the held-out images of ``train``, and the facts to cache beside it."""
    x = to_input(to_unit_range(train.floats(), train.spec.value_range), train.spec.channels, INPUT_SIZE)
    fit, held = heldout_split(len(x), seed)
    model = train_autoencoder(x[fit], device, seed=seed)
    return model, {"train_samples": len(fit), "heldout_samples": len(held),
                   "heldout_mse": round(reconstruction_mse(model, x[held], device), 6),
                   "seed": seed, "recipe_version": RECIPE_VERSION}


_MEMO: dict[tuple, AutoencoderEvaluator] = {}


def get_autoencoder(dataset_config: dict | str, data_root: Path | str | None, device: torch.device | str = "cpu",
                    cache_dir: Path | None = None, engine: "Engine | None" = None,
                    seed: int = 0) -> AutoencoderEvaluator:
    """The autoencoder of a data set config (the run's ``dataset`` block): from the cache, or trained now on the
    train split from ``data_root`` (default: --data-root / GANZOO_DATA / the user cache)."""
    source = evaluator_source(dataset_config, (), data_root, device, cache_dir, seed)
    if source.key in _MEMO:
        return _MEMO[source.key]
    engine, device = default_engine(engine), source.device
    train = source.load("train", engine)
    _check_images(source.block["name"], train)
    data_hash = data_sha256(train)
    name = f"{source.block['name']}-ae-v{RECIPE_VERSION}"
    stem = cache_stem(source.cache, f"{name}-s{seed}" if seed else name, data_hash)
    channels = train.spec.channels
    model, meta = cached_or_trained(stem, data_hash, lambda: ConvAutoencoder(channels),
                                    lambda: _train_and_score(train, device, seed), device)
    evaluator = AutoencoderEvaluator(name, model, device, channels, tuple(train.spec.value_range),
                                     meta["weights_sha256"], data_hash, int(meta["train_samples"]),
                                     int(meta["heldout_samples"]), float(meta["heldout_mse"]), stem.with_suffix(".pt"))
    _MEMO[source.key] = evaluator
    return evaluator
