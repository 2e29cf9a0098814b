"""Video metrics for digit clips (Moving MNIST; Srivastava et al. 2015), on the self-trained MNIST evaluator.

- frechet-frames: the Fréchet distance (Heusel et al. 2017) between evaluator features of
  generated frames and of real frames, every frame of every clip counted as one image.
- digit-consistency: the share of clips whose evaluator-predicted digit is the same in every
  frame, each frame cropped to its ink and centred as MNIST digits are; the same share on real
  clips is the ceiling (high for one digit per clip; with several digits in a frame the
  classifier of single digits wavers on real clips too). It also reports the agreement: the mean
  share of a clip's frames that give its most frequent prediction, which still grades generators
  whose clips all waver somewhere (the all-frames share is then 0).
- motion: the mean absolute difference between consecutive frames, on a [0, 1] pixel scale,
  for generated and real clips; a generator that freezes its clips (or flickers) shows a gap.

Every result carries the image metrics' protocol block (evaluator identity, data set, split,
sample counts, seed), its counts in clips.
"""

from __future__ import annotations

import torch

from ganzoo.metrics.base import EvalContext, MetricResult
from ganzoo.metrics.evaluator import Evaluator, get_evaluator
from ganzoo.metrics.registered import protocol

#: Digit clips are judged by the MNIST evaluator, whatever the clip size.
EVALUATOR_DATASET = {"name": "mnist"}


def digit_evaluator(ctx: EvalContext) -> Evaluator:
    """The self-trained MNIST evaluator (cached after the first use)."""
    return get_evaluator(EVALUATOR_DATASET, ctx.data_root, ctx.device, cache_dir=ctx.cache_dir)


def frames_of(clips: torch.Tensor) -> torch.Tensor:
    """(N, C, T, H, W) clips -> (N*T, C, H, W) frames, clip by clip."""
    return clips.transpose(1, 2).flatten(0, 1)


def centred_digits(frames: torch.Tensor, value_range: tuple[float, float], size: int = 28,
                   box: int = 20) -> torch.Tensor:
    """Crop each frame (M, C, H, W) to its ink's bounding box and fit it in a box x box square centred in
    size x size, as MNIST itself was prepared (LeCun et al. 1998), so the evaluator sees digits at its scale."""
    import torch.nn.functional as F

    lo, hi = value_range
    m, _, h, w = frames.shape
    unit = ((frames.float() - lo) / (hi - lo)).clamp(0, 1)
    ink = unit.amax(dim=1) > 0.25
    rows, cols = ink.any(dim=2), ink.any(dim=1)
    index_h, index_w = torch.arange(h).expand(m, h), torch.arange(w).expand(m, w)
    empty = ~rows.any(dim=1)
    top = torch.where(rows, index_h, h).amin(dim=1).where(~empty, 0)
    bottom = torch.where(rows, index_h, -1).amax(dim=1).where(~empty, h - 1) + 1
    left = torch.where(cols, index_w, w).amin(dim=1).where(~empty, 0)
    right = torch.where(cols, index_w, -1).amax(dim=1).where(~empty, w - 1) + 1
    side = torch.maximum(bottom - top, right - left).float() * size / box
    zero = torch.zeros(m)
    theta = torch.stack([torch.stack([side / w, zero, (left + right).float() / w - 1], 1),
                         torch.stack([zero, side / h, (top + bottom).float() / h - 1], 1)], 1)
    grid = F.affine_grid(theta, [m, frames.shape[1], size, size], align_corners=False)
    crops = F.grid_sample(unit, grid, align_corners=False, padding_mode="zeros")
    return crops * (hi - lo) + lo


def consistent_share(predictions: torch.Tensor) -> float:
    """Share of rows of (N, T) per-frame predictions that hold one value in every frame."""
    return float((predictions == predictions[:, :1]).all(dim=1).double().mean())


def majority_agreement(predictions: torch.Tensor) -> float:
    """Mean over rows of (N, T) per-frame predictions of the share of frames equal to the row's most frequent value."""
    most_frequent = predictions.mode(dim=1).values
    return float((predictions == most_frequent[:, None]).double().mean())


def mean_motion(clips: torch.Tensor, value_range: tuple[float, float]) -> float:
    """Mean absolute frame-to-frame difference of (N, C, T, H, W) clips, on a [0, 1] pixel scale."""
    lo, hi = value_range
    return float((clips[:, :, 1:].double() - clips[:, :, :-1].double()).abs().mean() / (hi - lo))


def _protocol(ctx: EvalContext, name: str, real: torch.Tensor, fake: torch.Tensor, extractor: dict) -> dict:
    """The image metrics' protocol block, counted in clips, with the frames per clip."""
    return {**protocol(ctx, name, len(real), len(fake), extractor), "unit": "clips", "frames_per_clip": int(fake.shape[2])}


def _predictions(evaluator: Evaluator, clips: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    digits = centred_digits(frames_of(clips), value_range)
    return evaluator.predict(digits).view(clips.shape[0], clips.shape[2])


def frechet_frames_metric(ctx: EvalContext) -> MetricResult:
    """Fréchet distance of per-frame evaluator features, generated vs real frames."""
    from ganzoo.metrics.frechet import frechet_distance

    evaluator = digit_evaluator(ctx)
    fake, _ = ctx.fake()
    real = ctx.real_subset().x
    fd = frechet_distance(evaluator.features(frames_of(real)), evaluator.features(frames_of(fake)))
    return MetricResult({"fd": fd}, _protocol(ctx, "frechet-frames", real, fake, evaluator.protocol()))


def digit_consistency_metric(ctx: EvalContext) -> MetricResult:
    """Share of clips whose predicted digit never changes: generated, real (the ceiling) and their ratio;
    and the mean share of a clip's frames that agree with its most frequent prediction, generated and real."""
    evaluator = digit_evaluator(ctx)
    fake, _ = ctx.fake()
    real = ctx.real_subset().x
    fake_predictions = _predictions(evaluator, fake, ctx.spec.value_range)
    real_predictions = _predictions(evaluator, real, ctx.spec.value_range)
    fake_share, real_share = consistent_share(fake_predictions), consistent_share(real_predictions)
    ratio = fake_share / real_share if real_share > 0 else float("nan")
    return MetricResult({"fake": fake_share, "real": real_share, "ratio": ratio,
                         "fake_agreement": majority_agreement(fake_predictions),
                         "real_agreement": majority_agreement(real_predictions)},
                        _protocol(ctx, "digit-consistency", real, fake, evaluator.protocol()))


def motion_metric(ctx: EvalContext) -> MetricResult:
    """Mean absolute frame-to-frame difference of generated and real clips, and their gap."""
    fake, _ = ctx.fake()
    real = ctx.real_subset().x
    fake_motion = mean_motion(fake, ctx.spec.value_range)
    real_motion = mean_motion(real, ctx.spec.value_range)
    return MetricResult({"fake": fake_motion, "real": real_motion, "gap": abs(fake_motion - real_motion)},
                        _protocol(ctx, "motion", real, fake, {"pixel_scale": "[0, 1]"}))


def clip_accuracy_metric(ctx: EvalContext) -> MetricResult:
    """Class-conditional clips: the share of generated clips whose every frame the evaluator classifies as the
    digit they were asked for, and the share of frames that are; the same for real labelled clips (the ceiling)."""
    evaluator = digit_evaluator(ctx)
    fake, labels = ctx.fake()
    real = ctx.real_subset()
    fake_hits = _predictions(evaluator, fake, ctx.spec.value_range) == labels[:, None]
    real_hits = _predictions(evaluator, real.x, ctx.spec.value_range) == real.y[:, None]
    return MetricResult({"fake": float(fake_hits.all(dim=1).double().mean()),
                         "real": float(real_hits.all(dim=1).double().mean()),
                         "fake_frames": float(fake_hits.double().mean()),
                         "real_frames": float(real_hits.double().mean())},
                        _protocol(ctx, "clip-accuracy", real.x, fake, evaluator.protocol()))


def frechet_video_metric(ctx: EvalContext) -> MetricResult:
    """Fréchet distance of clip features from ganzoo's own video evaluator (trained on the run's clips), generated
    vs real clips: a Fréchet video distance that needs no download (not the I3D-based FVD)."""
    from ganzoo.metrics.frechet import frechet_distance
    from ganzoo.metrics.video_evaluator import get_video_evaluator

    evaluator = get_video_evaluator(ctx.dataset, ctx.data_root, ctx.device, cache_dir=ctx.cache_dir)
    fake, _ = ctx.fake()
    real = ctx.real_subset().x
    fd = frechet_distance(evaluator.features(real), evaluator.features(fake))
    return MetricResult({"fd": fd}, _protocol(ctx, "frechet-video", real, fake, evaluator.protocol()))

