"""Fréchet distance between two feature sets.

Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium" (the FID): fit a Gaussian to each set and take
||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)).
"""

from __future__ import annotations

import warnings

from ganzoo.metrics.features import MetricError, Precomputed, as_feature_pair


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between (N, D) feature sets, from float64 means and covariances.

    Computed by torchmetrics' FrechetInceptionDistance fed our own features; the trace of
    the matrix square root comes from the eigenvalues of S_a S_b, whose square roots are
    real and non-negative because S_a S_b is similar to the PSD matrix S_a^(1/2) S_b S_a^(1/2).
    Both sets are shifted by the first set's mean first (the distance does not change), which
    keeps the one-pass covariance free of cancellation. Needs more samples than dimensions.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    a, b = as_feature_pair(feats_a, feats_b, "Fréchet distance")
    dims, fewest = a.shape[1], min(len(a), len(b))
    if fewest <= dims:
        raise MetricError(
            f"the Fréchet distance of {dims}-dimensional features needs more samples than dimensions: "
            f"got {fewest}; use at least {dims + 1} (--n N or eval.n)"
        )
    shift = a.mean(dim=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fid = FrechetInceptionDistance(feature=Precomputed(dims))
        fid.update(a - shift, real=True)
        fid.update(b - shift, real=False)
        value = float(fid.compute())
    return max(value, 0.0)
