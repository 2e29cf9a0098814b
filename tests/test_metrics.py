"""The metric math against closed forms, independent brute force and the published PRDC anchor."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganzoo.metrics import classifier_score, conditional_accuracy, frechet_distance, kid, prdc
from ganzoo.metrics.features import MetricError


def exact_gaussian_sample(mean: np.ndarray, cov: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n points whose sample mean and (n-1)-normalised covariance are exactly mean and cov."""
    z = np.random.default_rng(seed).standard_normal((n, len(mean)))
    z -= z.mean(0)
    white = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z.T))).T
    return white @ np.linalg.cholesky(cov).T + mean


def test_frechet_matches_closed_form_for_non_commuting_2d_gaussians():
    # For 2x2 PSD S1, S2: Tr((S1^1/2 S2 S1^1/2)^1/2) = sqrt(Tr(S1 S2) + 2 sqrt(det S1 det S2)).
    m1, m2 = np.array([1000.0, -3.0]), np.array([1001.5, 2.0])
    s1 = np.array([[2.0, 0.9], [0.9, 1.0]])
    s2 = np.array([[0.5, -0.3], [-0.3, 3.0]])
    cross = math.sqrt(np.trace(s1 @ s2) + 2 * math.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    expected = float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * cross)
    got = frechet_distance(exact_gaussian_sample(m1, s1, 400, 0), exact_gaussian_sample(m2, s2, 300, 1))
    assert got == pytest.approx(expected, rel=1e-6)


def test_frechet_matches_closed_form_for_commuting_gaussians_in_16_dims():
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    a, b = rng.uniform(0.1, 4.0, 16), rng.uniform(0.1, 4.0, 16)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    m1, m2 = rng.standard_normal(16), rng.standard_normal(16)
    expected = float(((m1 - m2) ** 2).sum() + a.sum() + b.sum() - 2 * np.sqrt(a * b).sum())
    got = frechet_distance(torch.from_numpy(exact_gaussian_sample(m1, s1, 500, 3)),
                           torch.from_numpy(exact_gaussian_sample(m2, s2, 500, 4)).float().double())
    assert got == pytest.approx(expected, rel=1e-6)


def test_frechet_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    x = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(x, x + 2.0) == pytest.approx(8 * 4.0, rel=1e-9)


def test_frechet_refuses_fewer_samples_than_dimensions():
    with pytest.raises(MetricError, match="more samples than dimensions.*at least 33"):
        frechet_distance(torch.randn(32, 32), torch.randn(100, 32))
    with pytest.raises(MetricError, match="differ in width"):
        frechet_distance(torch.randn(100, 3), torch.randn(100, 4))


def brute_force_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b/d + 1)^3, written out pair by pair (Bińkowski et al. 2018, eq. 2)."""
    d, m = x.shape[1], len(x)
    k = lambda a, b: (a @ b / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_on_the_whole_set_equals_brute_force_unbiased_mmd():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((40, 6)), rng.standard_normal((40, 6)) * 1.3 + 0.4
    mean, std = kid(x, y, subsets=3, subset_size=40)
    assert mean == pytest.approx(brute_force_mmd2(x, y), rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-12)  # every subset is the whole set


def test_kid_is_near_zero_for_one_distribution_and_seeded():
    g = torch.Generator().manual_seed(6)
    a, b, c = torch.randn(600, 16, generator=g), torch.randn(600, 16, generator=g), torch.randn(600, 16, generator=g) + 0.5
    state = torch.get_rng_state()
    same, same_std = kid(a, b, subsets=20, subset_size=200, seed=1)
    assert torch.equal(state, torch.get_rng_state())
    shifted, _ = kid(a, c, subsets=20, subset_size=200, seed=1)
    assert abs(same) < 3 * same_std + 1e-3
    assert shifted > 10 * abs(same) and shifted > 0.05
    assert kid(a, c, subsets=20, subset_size=200, seed=1)[0] == shifted


def brute_force_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """PRDC from the full distance matrices (Naeem et al. 2020, eqs. 3-6)."""
    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    r_real = np.sort(dist(real, real), axis=1)[:, k]
    r_fake = np.sort(dist(fake, fake), axis=1)[:, k]
    rf = dist(real, fake)
    inside = rf <= r_real[:, None]
    return {"precision": inside.any(0).mean(), "recall": (rf <= r_fake[None, :]).any(1).mean(),
            "density": inside.sum() / (k * len(fake)), "coverage": (rf.min(1) <= r_real).mean()}


def test_prdc_equals_brute_force_and_ignores_the_chunk_size():
    rng = np.random.default_rng(7)
    real, fake = rng.standard_normal((300, 10)), rng.standard_normal((250, 10)) * 1.2 + 0.3
    expected = brute_force_prdc(real, fake, 5)
    for chunk in (7, 1024):
        got = prdc(real, fake, k=5, chunk=chunk, dtype=torch.float64)
        assert got == pytest.approx(expected, abs=1e-12)


def test_prdc_of_a_set_with_itself():
    x = torch.randn(400, 12, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    got = prdc(x, x, k=3, dtype=torch.float64)
    assert got["precision"] == got["recall"] == got["coverage"] == 1.0
    assert got["density"] == pytest.approx((3 + 1) / 3)  # each ball holds its centre and k neighbours


def test_prdc_anchor_published_with_the_method():
    """Naeem et al.'s reference: 10,000 vs 10,000 samples of N(0, I_1000), k=5."""
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(10_000, 1000, generator=g), torch.randn(10_000, 1000, generator=g)
    got = prdc(real, fake, k=5)
    assert got["precision"] == pytest.approx(0.47, abs=0.03)
    assert got["recall"] == pytest.approx(0.47, abs=0.03)
    assert got["density"] == pytest.approx(1.0, abs=0.1)
    assert got["coverage"] == pytest.approx(0.97, abs=0.015)


def test_prdc_needs_more_samples_than_k():
    with pytest.raises(MetricError, match="more than k samples"):
        prdc(torch.randn(5, 3), torch.randn(50, 3), k=5)


def test_conditional_accuracy_counts_argmax_hits():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [5.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert conditional_accuracy(logits, torch.tensor([0, 1, 2, 2])) == 0.75
    with pytest.raises(MetricError):
        conditional_accuracy(logits, torch.tensor([0, 1]))


def test_classifier_score_closed_forms():
    uniform = torch.zeros(100, 10)
    assert classifier_score(uniform)[0] == pytest.approx(1.0)
    confident = 50.0 * torch.eye(10).repeat(20, 1)  # every split holds each class twice, all certain
    mean, std = classifier_score(confident)
    assert mean == pytest.approx(10.0, rel=1e-6) and std == pytest.approx(0.0, abs=1e-6)
    one_class = 50.0 * torch.eye(10)[torch.zeros(100, dtype=torch.long)]
    assert classifier_score(one_class)[0] == pytest.approx(1.0, rel=1e-6)


def test_the_metrics_plugin_registers_every_metric_with_provenance(engine):
    for name in ("fd", "kid", "prdc", "conditional-accuracy", "classifier-score", "fid-inception"):
        component = engine.registry.get("metrics", name)
        assert component.plugin == "metrics" and component.distribution == "ganzoo"
    assert engine.metric("conditional-accuracy").conditional


def test_inception_fid_names_the_weight_file_it_needs(tmp_path, monkeypatch):
    from ganzoo.metrics.inception import load_inception

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    expected = tmp_path / "hub" / "checkpoints" / "inception_v3_google-0cc3c7bd.pth"
    with pytest.raises(MetricError, match=f"weights at {expected} and ganzoo never downloads them"):
        load_inception()
    expected.parent.mkdir(parents=True)
    expected.write_bytes(b"not the published weights")
    with pytest.raises(MetricError, match="does not match torchvision's published hash"):
        load_inception()


def test_inception_features_are_the_2048_pool_activations():
    from torchvision.models import inception_v3

    from ganzoo.metrics.inception import build_inception, inception_features

    torch.manual_seed(0)
    reference = inception_v3(weights=None, aux_logits=True, init_weights=False).eval()
    model = build_inception(reference.state_dict())
    x = torch.rand(2, 3, 40, 40, generator=torch.Generator().manual_seed(1)) * 2 - 1
    feats = inception_features(model, x, torch.device("cpu"), batch=1)
    assert feats.shape == (2, 2048) and feats.dtype == torch.float64 and torch.isfinite(feats).all()
    pooled = []
    reference.avgpool.register_forward_hook(lambda module, inputs, output: pooled.append(output.flatten(1)))
    resized = torch.nn.functional.interpolate(x, size=(299, 299), mode="bilinear", antialias=True, align_corners=False)
    with torch.no_grad():
        reference(resized)
    assert torch.allclose(feats, pooled[0].double(), atol=1e-5)
    with pytest.raises(MetricError, match="RGB images"):
        inception_features(model, torch.zeros(2, 1, 28, 28), torch.device("cpu"))
