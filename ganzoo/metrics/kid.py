"""Kernel Inception Distance between two feature sets.

Bińkowski et al. 2018, "Demystifying MMD GANs": the unbiased estimate of the squared maximum
mean discrepancy under the polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random
subsets (mean and standard deviation across subsets).
"""

from __future__ import annotations

import warnings


def kid(feats_a, feats_b, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID mean and standard deviation over ``subsets`` seeded random subsets of ``subset_size`` per set.

    Computed by torchmetrics' KernelInceptionDistance fed our own float64 features; the
    subset size is capped at the smaller set. The caller's random state is left untouched.
    """
    import torch
    from torchmetrics.image.kid import KernelInceptionDistance

    from ganzoo.metrics.features import MetricError, Precomputed, as_feature_pair

    a, b = as_feature_pair(feats_a, feats_b, "KID")
    size = min(subset_size, len(a), len(b))
    if size < 2 or subsets < 1:
        raise MetricError(f"KID needs at least 2 samples per set and 1 subset, got {size} samples and {subsets} subsets")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metric = KernelInceptionDistance(feature=Precomputed(a.shape[1]), subsets=subsets, subset_size=size)
        metric.update(a, real=True)
        metric.update(b, real=False)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            mean, std = metric.compute()
    return float(mean), float(std)
