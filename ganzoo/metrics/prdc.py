"""Precision, recall, density and coverage of generated samples.

Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models": each real
sample i owns a ball of radius r_i, its distance to its k-th nearest real neighbour (and each
fake sample j one of radius s_j among the fakes).
  precision = fraction of fakes inside some real ball
  recall    = fraction of reals inside some fake ball
  density   = (1 / kM) sum_j #(real balls holding fake j)
  coverage  = fraction of real balls holding at least one fake
Distances are computed in row chunks, so 10,000 x 10,000 pairs never sit in memory at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def _sq_dists(a: torch.Tensor, b: torch.Tensor, b_sq: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances (len(a), len(b)) via |a|^2 + |b|^2 - 2 a.b, clamped at 0."""
    return ((a * a).sum(1, keepdim=True) + b_sq.unsqueeze(0) - 2.0 * (a @ b.T)).clamp_min_(0)


def kth_neighbour_sq_radii(x: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Squared distance of each row of x to its k-th nearest other row."""
    x_sq = (x * x).sum(1)
    out = x.new_empty(len(x))
    for i in range(0, len(x), chunk):
        d = _sq_dists(x[i : i + chunk], x, x_sq)
        out[i : i + chunk] = d.topk(k + 1, dim=1, largest=False).values[:, k]  # the smallest is the row itself
    return out


def prdc(real_feats, fake_feats, k: int = 5, chunk: int = 1024, dtype: "torch.dtype | None" = None) -> dict[str, float]:
    """Precision, recall, density and coverage (Naeem et al. 2020) of fake features against real ones.

    ``dtype`` is the precision of the distance computations (float32 by default: distances
    only meet thresholds, and float64 doubles the time on 10,000 x 10,000 sets).
    """
    import torch

    from ganzoo.metrics.features import MetricError, as_feature_pair

    dtype = dtype or torch.float32
    real, fake = (t.to(dtype) for t in as_feature_pair(real_feats, fake_feats, "PRDC"))
    if k < 1 or min(len(real), len(fake)) <= k:
        raise MetricError(f"PRDC with k={k} needs more than k samples per set (got {len(real)} real, {len(fake)} fake)")
    real_r, fake_r = kth_neighbour_sq_radii(real, k, chunk), kth_neighbour_sq_radii(fake, k, chunk)
    fake_sq = (fake * fake).sum(1)
    fake_in_real_balls = torch.zeros(len(fake), dtype=torch.int64)
    real_in_fake_ball = torch.zeros(len(real), dtype=torch.bool)
    real_ball_hit = torch.zeros(len(real), dtype=torch.bool)
    for i in range(0, len(real), chunk):
        d = _sq_dists(real[i : i + chunk], fake, fake_sq)
        inside_real = d <= real_r[i : i + chunk].unsqueeze(1)
        fake_in_real_balls += inside_real.sum(0)
        real_ball_hit[i : i + chunk] = inside_real.any(1)
        real_in_fake_ball[i : i + chunk] = (d <= fake_r.unsqueeze(0)).any(1)
    return {
        "precision": float((fake_in_real_balls > 0).double().mean()),
        "recall": float(real_in_fake_ball.double().mean()),
        "density": float(fake_in_real_balls.double().sum() / (k * len(fake))),
        "coverage": float(real_ball_hit.double().mean()),
    }
