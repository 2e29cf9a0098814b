"""Mode coverage for 2D Gaussian mixtures, after the PacGAN protocol (Lin et al. 2018).

Each generated sample is assigned to its nearest mode; it is high quality when it lies within
three standard deviations of that mode. A mode is covered when it holds at least one
high-quality sample. The reverse KL divergence compares the histogram of generated samples
over modes with the uniform histogram of the real mixture.
"""

from __future__ import annotations

import math

import torch

from ganzoo.errors import GanzooError
from ganzoo.metrics.base import EvalContext, MetricResult


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> float:
    """KL(p || q) of two histograms of the same shape (q > 0 wherever p is); empty bins of p add nothing, as in
    PacGAN's evaluation code; inf where it overflows."""
    held = p > 0
    kl = float((p[held] * (p[held] / q[held]).log()).sum())
    return kl if math.isfinite(kl) else float("inf")


def mode_statistics(samples: torch.Tensor, modes: torch.Tensor, std: float) -> dict[str, float]:
    """Modes covered, high-quality fraction and reverse KL of the mode histogram."""
    samples, modes = samples.double(), modes.double()
    dist = torch.cdist(samples, modes)
    nearest_dist, nearest = dist.min(dim=1)
    high = nearest_dist <= 3 * std
    k = modes.shape[0]
    hq_counts = torch.bincount(nearest[high], minlength=k)
    counts = torch.bincount(nearest, minlength=k).double()
    p = counts / counts.sum()
    return {
        "modes": float((hq_counts > 0).sum()),
        "num_modes": float(k),
        "high_quality": float(high.double().mean()),
        "reverse_kl": kl_divergence(p, torch.full_like(p, 1 / k)),
    }


def modes_metric(ctx: EvalContext) -> MetricResult:
    """The modes metric on ``ctx.n`` generated samples."""
    if "modes" not in ctx.real.info:
        raise GanzooError("metric 'modes' needs a Gaussian-mixture data set (ring8, grid25)")
    fake, _ = ctx.fake()
    values = mode_statistics(fake, ctx.real.info["modes"], float(ctx.real.info["std"]))
    protocol = {"name": "pacgan-modes", "threshold": "3 std", "std": float(ctx.real.info["std"]),
                "fake_samples": ctx.n, "seed": ctx.seed}
    return MetricResult(values, protocol)
