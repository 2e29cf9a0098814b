"""A self-trained clip classifier whose features make ``frechet-video``: a Fréchet video distance with no download.

FVD (Unterthiner et al. 2018, "Towards Accurate Generative Models of Video") is the Fréchet distance
between real and generated clips in the features of I3D, a video network trained on Kinetics. Nobody
offline can fetch I3D, so ganzoo trains its own small 3D-convolution network on the run's Moving MNIST
clips (its train split): two heads on one 128-unit penultimate layer, one predicting the clip's digit
and one the direction of its first moves (which quadrant, from the ink's centre of mass), so that its
features see both what moves and how. It is scored on the test split (both accuracies are recorded)
and cached like the MNIST classifier (``ganzoo.metrics.evaluator_cache``):
``CACHE/evaluators/moving-mnist-video-v1-DATAHASH16.{pt,json}``. Its numbers compare runs on the same
clips under the same evaluator hash; they are not FVDs and compare with nothing published.

    ev = get_video_evaluator(run_config["dataset"], data_root, "cpu")
    ev.features(clips)   # (N, 128) float32; clips (N, C, T, H, W) in the data set's value range
    ev.protocol()        # name, weights sha256, data sha256, test accuracies, ...
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.metrics.evaluator_cache import (EvaluatorError, batched, cache_stem, cached_or_trained, default_engine,
                                            data_sha256, evaluator_identity, evaluator_source, train_seeded)

if TYPE_CHECKING:
    from ganzoo.engine import Engine
    from ganzoo.spec import Data

#: Bump when the architecture or the training recipe changes: old cache entries are then ignored.
RECIPE_VERSION = 1
FRAME_SIZE = 32
FEATURE_DIM = 128
#: Directions of motion told apart: the quadrant of the ink's move over the first DIRECTION_FRAMES frames.
DIRECTIONS, DIRECTION_FRAMES = 4, 3
BATCH_SIZE = 32
#: Training length: EPOCHS passes over the train split, within [MIN_STEPS, MAX_STEPS] steps.
EPOCHS, MIN_STEPS, MAX_STEPS = 3, 300, 1500
LEARNING_RATE = 1e-3
#: Dataset options that do not change the clips the evaluator learns from.
IGNORED_OPTIONS = ("labels",)


class ClipClassifier(nn.Module):
    """Two frame-wise 3D convolutions (1x4x4, space halved; every frame teaches the digit), then a
    spatio-temporal one (3x3x3, space halved), pooled to 2x4x4, a 128-unit layer, two heads."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(channels, 32, (1, 4, 4), (1, 2, 2), (0, 1, 1)), nn.ReLU(),
            nn.Conv3d(32, 64, (1, 4, 4), (1, 2, 2), (0, 1, 1)), nn.ReLU(),
            nn.Conv3d(64, 64, 3, (1, 2, 2), 1), nn.ReLU(),
            nn.AdaptiveAvgPool3d((2, 4, 4)), nn.Flatten(),
            nn.Linear(64 * 2 * 4 * 4, FEATURE_DIM), nn.ReLU(),
        )
        self.digit = nn.Linear(FEATURE_DIM, 10)
        self.direction = nn.Linear(FEATURE_DIM, DIRECTIONS)

    def forward(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Digit logits (N, 10) and direction logits (N, 4) of (N, C, T, 32, 32) clips in [-1, 1]."""
        h = self.body(clips)
        return self.digit(h), self.direction(h)


def to_clip_input(clips: torch.Tensor, channels: int, value_range: tuple[float, float]) -> torch.Tensor:
    """(N, C, T, H, W) clips in ``value_range`` -> float clips in [-1, 1] with FRAME_SIZE x FRAME_SIZE frames."""
    if clips.dim() != 5 or clips.shape[1] != channels:
        raise EvaluatorError(f"the video evaluator takes (N, {channels}, T, H, W) clips, got shape {tuple(clips.shape)}")
    lo, hi = value_range
    x = (clips.float() - lo) * (2.0 / (hi - lo)) - 1.0
    if x.shape[-2:] != (FRAME_SIZE, FRAME_SIZE):
        n, c, t = x.shape[:3]
        frames = F.interpolate(x.transpose(1, 2).flatten(0, 1), size=(FRAME_SIZE, FRAME_SIZE), mode="bilinear",
                               antialias=True, align_corners=False)
        x = frames.view(n, t, c, FRAME_SIZE, FRAME_SIZE).transpose(1, 2)
    return x.contiguous()


def directions(clips: torch.Tensor) -> torch.Tensor:
    """The quadrant (0..3: 2·[dx ≥ 0] + [dy ≥ 0]) of each clip's move of the ink's centre of mass from the first
    frame to frame DIRECTION_FRAMES (or the last), for (N, C, T, H, W) clips in [-1, 1]."""
    later = min(DIRECTION_FRAMES, clips.shape[2] - 1)
    ink = (clips[:, :, [0, later]].float() + 1).clamp_min(0).sum(1)  # (N, 2, H, W)
    h, w = ink.shape[-2:]
    mass = ink.sum((-2, -1)).clamp_min(1e-6)
    ys = (ink.sum(-1) * torch.arange(h, dtype=ink.dtype)).sum(-1) / mass
    xs = (ink.sum(-2) * torch.arange(w, dtype=ink.dtype)).sum(-1) / mass
    return 2 * (xs[:, 1] >= xs[:, 0]).long() + (ys[:, 1] >= ys[:, 0]).long()


def clip_targets(data: "Data") -> tuple[torch.Tensor, torch.Tensor]:
    """(digit, direction) targets of a Moving MNIST split: one-digit clips only."""
    digits = data.extras.get("digits")
    if digits is None or digits.dim() != 2 or digits.shape[1] != 1:
        raise EvaluatorError("metric 'frechet-video' trains its evaluator on one-digit Moving MNIST clips "
                             "(dataset moving-mnist with dataset.digits=1)")
    return digits[:, 0].long(), directions(to_clip_input(data.x, data.spec.channels, data.spec.value_range))


def training_steps(samples: int, batch_size: int = BATCH_SIZE) -> int:
    """Optimizer steps for ``samples`` training clips: EPOCHS passes, within [MIN_STEPS, MAX_STEPS]."""
    return min(MAX_STEPS, max(MIN_STEPS, -(-EPOCHS * samples // batch_size)))


def train_clip_classifier(x: torch.Tensor, digits: torch.Tensor, moves: torch.Tensor, device: torch.device,
                          steps: int | None = None, seed: int = 0) -> ClipClassifier:
    """Train a ClipClassifier on (N, C, T, 32, 32) clips by the sum of both heads' cross-entropies,
    deterministically (``train_seeded``: fixed seed and steps, Adam with a one-cycle schedule, one CPU thread)."""
    def batch_loss(model: nn.Module, idx: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        digit_logits, move_logits = model(x[idx].to(device))
        return (F.cross_entropy(digit_logits, digits[idx].to(device))
                + F.cross_entropy(move_logits, moves[idx].to(device)))

    return train_seeded(lambda: ClipClassifier(x.shape[1]), len(x), batch_loss, device=device,
                        steps=steps or training_steps(len(x)), batch_size=min(BATCH_SIZE, len(x)),
                        lr=LEARNING_RATE, seed=seed)


def accuracies(model: ClipClassifier, x: torch.Tensor, digits: torch.Tensor, moves: torch.Tensor,
               device: torch.device) -> tuple[float, float]:
    """Digit and direction accuracy of the model on (N, C, T, 32, 32) clips."""
    digit_logits = batched(lambda c: model(c)[0], x, device, batch=200)
    move_logits = batched(lambda c: model(c)[1], x, device, batch=200)
    return (float((digit_logits.argmax(1) == digits).double().mean()),
            float((move_logits.argmax(1) == moves).double().mean()))


@dataclass
class VideoEvaluator:
    """A trained clip classifier and the facts that make distances in its features comparable."""

    name: str
    model: ClipClassifier
    device: torch.device
    channels: int
    value_range: tuple[float, float]
    weights_sha256: str
    data_sha256: str
    train_samples: int
    test_samples: int
    digit_accuracy: float
    direction_accuracy: float

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (N, 128), float32 on the CPU, of (N, C, T, H, W) clips in the data's range."""
        return batched(self.model.body, to_clip_input(clips, self.channels, self.value_range), self.device, batch=200)

    def protocol(self) -> dict:
        """Name, weights sha256, sha256 of the clips it saw, its test accuracies: its identity."""
        return {
            **evaluator_identity(self.name, self.weights_sha256, self.data_sha256, self.train_samples),
            "evaluator_test_samples": self.test_samples,
            "evaluator_test_digit_accuracy": self.digit_accuracy,
            "evaluator_test_direction_accuracy": self.direction_accuracy,
            "features": f"penultimate layer ({FEATURE_DIM}) of ganzoo's 3D-conv clip classifier (digit and "
                        "direction of motion); not I3D, so not comparable with published FVDs",
        }


def _train_and_score(train: "Data", test: "Data", device: torch.device) -> tuple[ClipClassifier, dict]:
    """A clip classifier trained on ``train``, and the facts (with its test accuracies) to cache beside it."""
    x = to_clip_input(train.x, train.spec.channels, train.spec.value_range)
    digits, moves = clip_targets(train)
    model = train_clip_classifier(x, digits, moves, device)
    test_digits, test_moves = clip_targets(test)
    digit_acc, move_acc = accuracies(model, to_clip_input(test.x, test.spec.channels, test.spec.value_range),
                                     test_digits, test_moves, device)
    return model, {"train_samples": len(x), "test_samples": len(test), "digit_accuracy": round(digit_acc, 4),
                   "direction_accuracy": round(move_acc, 4), "recipe_version": RECIPE_VERSION}


_MEMO: dict[tuple, VideoEvaluator] = {}


def get_video_evaluator(dataset_config: dict | str, data_root: Path | str | None,
                        device: torch.device | str = "cpu", cache_dir: Path | None = None,
                        engine: "Engine | None" = None) -> VideoEvaluator:
    """The clip classifier of a video data set config (the run's ``dataset`` block): from the cache, or trained
    now on its train split and scored on its test split (from ``data_root``, else the default data root)."""
    source = evaluator_source(dataset_config, IGNORED_OPTIONS, data_root, device, cache_dir)
    if source.key in _MEMO:
        return _MEMO[source.key]
    engine, device = default_engine(engine), source.device
    train = source.load("train", engine)
    if train.spec.kind != "video":
        raise EvaluatorError(f"metric 'frechet-video' needs video data; data set {source.block['name']!r} holds "
                             f"{train.spec.kind} data")
    clip_targets(train)  # one-digit clips, checked before anything trains
    data_hash = data_sha256(train)
    name = f"{source.block['name']}-video-v{RECIPE_VERSION}"
    stem = cache_stem(source.cache, name, data_hash)
    channels = train.spec.channels
    model, meta = cached_or_trained(
        stem, data_hash, lambda: ClipClassifier(channels),
        lambda: _train_and_score(train, source.load("test", engine), device), device)
    evaluator = VideoEvaluator(name, model, device, channels, tuple(train.spec.value_range), meta["weights_sha256"],
                               data_hash, int(meta["train_samples"]), int(meta["test_samples"]),
                               float(meta["digit_accuracy"]), float(meta["direction_accuracy"]))
    _MEMO[source.key] = evaluator
    return evaluator
