"""Video metrics for digit clips (Moving MNIST; Srivastava et al. 2015), on the self-trained MNIST evaluator.

- frechet-frames: the Fréchet distance (Heusel et al. 2017) between evaluator features of
  generated frames and of real frames, every frame of every clip counted as one image.
- digit-consistency: the share of clips whose evaluator-predicted digit is the same in every
  frame; the same share on real clips is the ceiling, since a classifier of single centred
  digits also wavers on real multi-digit frames.
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


def consistent_share(predictions: torch.Tensor) -> float:
    """Share of rows of (N, T) per-frame predictions that hold one value in every frame."""
    return float((predictions == predictions[:, :1]).all(dim=1).double().mean())


def mean_motion(clips: torch.Tensor, value_range: tuple[float, float]) -> float:
    """Mean absolute frame-to-frame difference of (N, C, T, H, W) clips, on a [0, 1] pixel scale."""
    lo, hi = value_range
    return float((clips[:, :, 1:].double() - clips[:, :, :-1].double()).abs().mean() / (hi - lo))


def _protocol(ctx: EvalContext, name: str, real: torch.Tensor, fake: torch.Tensor, extractor: dict) -> dict:
    """The image metrics' protocol block, counted in clips, with the frames per clip."""
    return {**protocol(ctx, name, len(real), len(fake), extractor), "unit": "clips", "frames_per_clip": int(fake.shape[2])}


def _predictions(evaluator: Evaluator, clips: torch.Tensor) -> torch.Tensor:
    return evaluator.predict(frames_of(clips)).view(clips.shape[0], clips.shape[2])


def frechet_frames_metric(ctx: EvalContext) -> MetricResult:
    """Fréchet distance of per-frame evaluator features, generated vs real frames."""
    from ganzoo.metrics.frechet import frechet_distance

    evaluator = digit_evaluator(ctx)
    fake, _ = ctx.fake()
    real = ctx.real_subset().x
    fd = frechet_distance(evaluator.features(frames_of(real)), evaluator.features(frames_of(fake)))
    return MetricResult({"fd": fd}, _protocol(ctx, "frechet-frames", real, fake, evaluator.protocol()))


def digit_consistency_metric(ctx: EvalContext) -> MetricResult:
    """Share of clips whose predicted digit never changes: generated, real (the ceiling) and their ratio."""
    evaluator = digit_evaluator(ctx)
    fake, _ = ctx.fake()
    real = ctx.real_subset().x
    fake_share = consistent_share(_predictions(evaluator, fake))
    real_share = consistent_share(_predictions(evaluator, real))
    ratio = fake_share / real_share if real_share > 0 else float("nan")
    return MetricResult({"fake": fake_share, "real": real_share, "ratio": ratio},
                        _protocol(ctx, "digit-consistency", real, fake, evaluator.protocol()))


def motion_metric(ctx: EvalContext) -> MetricResult:
    """Mean absolute frame-to-frame difference of generated and real clips, and their gap."""
    fake, _ = ctx.fake()
    real = ctx.real_subset().x
    fake_motion = mean_motion(fake, ctx.spec.value_range)
    real_motion = mean_motion(real, ctx.spec.value_range)
    return MetricResult({"fake": fake_motion, "real": real_motion, "gap": abs(fake_motion - real_motion)},
                        _protocol(ctx, "motion", real, fake, {"pixel_scale": "[0, 1]"}))
