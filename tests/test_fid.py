"""The standard FID (``fid``): its input pipeline on the real network class, its distance on known Gaussians and a
stand-in network, and the one-line answers offline or without the extra; real weights only where they are on disk."""

from __future__ import annotations

import hashlib
import importlib.util
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.metrics import fid as fid_mod
from ganzoo.metrics.base import EvalContext
from ganzoo.metrics.features import MetricError
from ganzoo.metrics.frechet import frechet_distance
from ganzoo.spec import Data, DataSpec

REAL_WEIGHTS = fid_mod.weights_path()


class StopForward(Exception):
    """Raised by a hook to end a forward pass once its input is recorded."""


class PooledColours(nn.Module):
    """A stand-in feature network: uint8 (N, 3, H, W) -> the mean colour of each quadrant, (N, 12) float32."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.dtype == torch.uint8 and x.shape[1] == 3
        return F.adaptive_avg_pool2d(x.float(), 2).flatten(1)


def sqrtm_psd(m: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix, from its eigendecomposition."""
    values, vectors = torch.linalg.eigh(m)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def direct_frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2) in float64, without numpy or scipy."""
    a, b = a.double(), b.double()
    sa, sb = torch.cov(a.T), torch.cov(b.T)
    root = sqrtm_psd(sa)
    return float((a.mean(0) - b.mean(0)).square().sum() + sa.trace() + sb.trace()
                 - 2 * sqrtm_psd(root @ sb @ root).trace())


def gaussian_with_moments(mean: torch.Tensor, cov: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n samples whose sample mean and (unbiased) sample covariance are exactly ``mean`` and ``cov``."""
    z = torch.randn(n, len(mean), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    z = z - z.mean(0)
    z = z @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(z.T))).T
    return mean + z @ torch.linalg.cholesky(cov).T


def test_frechet_distance_of_known_gaussians_equals_the_closed_form():
    """Two Gaussians whose covariances share eigenvectors Q: FD = ||mu_a - mu_b||^2 + sum (sqrt(d_a) - sqrt(d_b))^2."""
    dims = 6
    q, _ = torch.linalg.qr(torch.randn(dims, dims, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    d_a = torch.tensor([4.0, 1.0, 0.25, 9.0, 2.0, 0.5], dtype=torch.float64)
    d_b = torch.tensor([1.0, 1.0, 1.0, 4.0, 8.0, 0.1], dtype=torch.float64)
    mu_a, mu_b = torch.zeros(dims, dtype=torch.float64), torch.linspace(-1, 2, dims, dtype=torch.float64)
    a = gaussian_with_moments(mu_a, q @ torch.diag(d_a) @ q.T, 500, 1)
    b = gaussian_with_moments(mu_b, q @ torch.diag(d_b) @ q.T, 700, 2)
    expected = float((mu_a - mu_b).square().sum() + (d_a.sqrt() - d_b.sqrt()).square().sum())
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    assert direct_frechet(a, b) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_uint8_conversion_rounds_back_to_the_stored_pixels_and_repeats_grayscale():
    pixels = torch.randint(0, 256, (5, 1, 7, 9), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    floats = pixels.float() / 127.5 - 1  # what Data.floats() gives for 8-bit images in [-1, 1]
    rgb = fid_mod.to_uint8_rgb(floats, (-1.0, 1.0))
    assert rgb.dtype == torch.uint8 and rgb.shape == (5, 3, 7, 9)
    assert all(torch.equal(rgb[:, c], pixels[:, 0]) for c in range(3))
    assert torch.equal(fid_mod.to_uint8_rgb(pixels.repeat(1, 3, 1, 1), (-1.0, 1.0)), rgb)  # uint8 passes through
    over = fid_mod.to_uint8_rgb(torch.tensor([-1.5, -1.0, 0.0, 1.0, 1.2]).view(1, 1, 1, 5).expand(1, 3, 1, 5), (-1, 1))
    assert over[0, 0, 0].tolist() == [0, 0, 128, 255, 255]
    with pytest.raises(MetricError, match=r"\(N, 1 or 3, H, W\)"):
        fid_mod.to_uint8_rgb(torch.zeros(2, 4, 8, 8), (-1.0, 1.0))


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """The FID network's architecture with random weights, saved under the name torch-fidelity's loader and ganzoo's
    hash check expect (the sha256 prefix in the name), so the real network class loads offline."""
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    model = inception_v3(weights=None, aux_logits=False, init_weights=False)
    model.fc = nn.Linear(2048, 1008)  # the TensorFlow graph's 1008 classes
    folder = tmp_path_factory.mktemp("fid-weights")
    draft = folder / "draft.pth"
    torch.save(model.state_dict(), draft)
    sha = hashlib.sha256(draft.read_bytes()).hexdigest()
    path = folder / f"weights-inception-2015-12-05-{sha[:8]}.pth"
    draft.rename(path)
    return path, sha


def test_the_fid_network_sees_8bit_rgb_resized_to_299_as_torch_fidelity_resizes(random_weights):
    """Grayscale floats in [-1, 1] reach the network's first convolution as 3 x 299 x 299 in [-1, 1]: the uint8
    pixels resized by torch-fidelity's TensorFlow-compatible bilinear (not torch's antialiased one), then scaled."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    path, sha = random_weights
    network, got_sha = fid_mod.load_fid_inception(path)
    assert got_sha == sha and fid_mod.load_fid_inception(path)[0] is network  # loaded once per process
    seen = []

    def record(module, inputs):
        seen.append(inputs[0].detach().clone())
        raise StopForward

    handle = network.Conv2d_1a_3x3.register_forward_pre_hook(record)
    try:
        gray = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
        with pytest.raises(StopForward):
            fid_mod.fid_features(network, gray, (-1.0, 1.0), torch.device("cpu"))
    finally:
        handle.remove()
    (x,) = seen
    assert x.shape == (2, 3, 299, 299) and x.dtype == torch.float32
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    pixels = fid_mod.to_uint8_rgb(gray, (-1.0, 1.0)).float()
    expected = (interpolate_bilinear_2d_like_tensorflow1x(pixels, size=(299, 299), align_corners=False) - 128) / 128
    assert torch.equal(x, expected)
    antialiased = (F.interpolate(pixels, size=(299, 299), mode="bilinear", antialias=True) - 128) / 128
    assert not torch.allclose(x, antialiased)


def test_the_fid_network_gives_2048_features(random_weights):
    path, _ = random_weights
    network, _ = fid_mod.load_fid_inception(path)
    images = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    feats = fid_mod.fid_features(network, images, (-1.0, 1.0), torch.device("cpu"))
    assert feats.shape == (1, fid_mod.FEATURE_DIM) and feats.dtype == torch.float64 and torch.isfinite(feats).all()


def image_context(real: torch.Tensor, fake: torch.Tensor, tmp_path) -> EvalContext:
    """An evaluation context of uint8 real images and fixed generated floats in [-1, 1]."""
    spec = DataSpec(tuple(real.shape[1:]))
    return EvalContext(spec=spec, real=Data(real, None, spec), sample=lambda n, labels: fake[:n], n=len(fake),
                       seed=0, device=torch.device("cpu"), dataset={"name": "stand-in"}, cache_dir=tmp_path)


def test_fid_on_a_stand_in_network_equals_a_direct_computation(tmp_path, monkeypatch):
    """The metric's whole path (8-bit conversion, features, Fréchet distance, protocol) with a small network in
    place of Inception, against the distance computed directly from that network's features."""
    g = torch.Generator().manual_seed(3)
    real = torch.randint(0, 256, (300, 3, 8, 8), generator=g, dtype=torch.uint8)
    fake = (torch.rand(300, 3, 8, 8, generator=g) * 1.6 - 0.9).clamp(-1, 1)
    ctx = image_context(real, fake, tmp_path)
    value, real_n, fake_n = fid_mod.fid_values(ctx, PooledColours())
    net = PooledColours()
    direct = direct_frechet(net(ctx.real_subset().x.add(1).mul(127.5).round().to(torch.uint8)),
                            net(fid_mod.to_uint8_rgb(fake, (-1.0, 1.0))))
    assert (real_n, fake_n) == (300, 300) and value > 1.0
    assert value == pytest.approx(direct, rel=1e-6)

    from ganzoo.metrics.registered import fid_metric

    monkeypatch.setattr(fid_mod, "load_fid_inception", lambda: (PooledColours(), "0" * 64))
    result = fid_metric(ctx)
    assert result.values["fid"] == pytest.approx(value, rel=1e-12)
    protocol = result.protocol
    assert protocol["name"] == "fid" and protocol["evaluator"].startswith("pt_inception-2015-12-05")
    assert protocol["input"] == "8-bit RGB" and "TensorFlow 1.x-compatible" in protocol["resize"]
    assert protocol["torch_fidelity_version"] and protocol["real_samples"] == protocol["fake_samples"] == 300


def test_grayscale_fid_says_it_is_not_comparable_with_rgb(tmp_path, monkeypatch):
    from ganzoo.metrics.registered import fid_metric

    g = torch.Generator().manual_seed(4)
    real = torch.randint(0, 256, (40, 1, 8, 8), generator=g, dtype=torch.uint8)
    ctx = image_context(real, torch.rand(40, 1, 8, 8, generator=g) * 2 - 1, tmp_path)
    monkeypatch.setattr(fid_mod, "load_fid_inception", lambda: (PooledColours(), "0" * 64))
    assert "not comparable with RGB" in fid_metric(ctx).protocol["input"]


def test_offline_without_the_weights_says_where_to_put_them_and_downloads_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    with pytest.raises(MetricError) as info:
        fid_mod.load_fid_inception()
    message = str(info.value)
    expected = tmp_path / "torch" / "hub" / "checkpoints" / fid_mod.WEIGHTS_FILE
    assert str(expected) in message and fid_mod.WEIGHTS_URL in message and "\n" not in message
    assert not (tmp_path / "torch").exists()


def test_without_the_extra_says_how_to_install_it(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch_fidelity" else real_find_spec(name, *a))
    with pytest.raises(MetricError, match=r"pip install 'ganzoo\[fid\]'.*uv sync --extra fid"):
        fid_mod.load_fid_inception()


def test_a_wrong_weight_file_is_refused(tmp_path):
    path = tmp_path / fid_mod.WEIGHTS_FILE
    path.write_bytes(b"not the weights")
    with pytest.raises(MetricError, match="is not the FID Inception weight file"):
        fid_mod.load_fid_inception(path)


def test_the_command_line_answers_in_one_line_offline(mnist_root, tmp_path, monkeypatch, capsys):
    """``ganzoo eval --samples ... --metrics fid`` offline with no weights: exit 2, one line naming the file."""
    import numpy as np

    from ganzoo.cli import main

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    samples = tmp_path / "s.npz"
    np.savez(samples, x=np.zeros((10, 28, 28), dtype=np.uint8))
    assert main(["eval", "--samples", str(samples), "--dataset", "mnist", "--metrics", "fid", "--data-root",
                 str(mnist_root)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and fid_mod.WEIGHTS_FILE in lines[0] and "Traceback" not in lines[0]


@pytest.mark.skipif(not REAL_WEIGHTS.is_file(), reason=f"the FID Inception weights are not at {REAL_WEIGHTS}")
def test_real_weights_give_torch_fidelity_and_torchmetrics_features():
    """With the published weights: ganzoo's features equal torchmetrics' (antialias=False) and torch-fidelity's own."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    from torchmetrics.image.fid import FrechetInceptionDistance

    network, sha = fid_mod.load_fid_inception()
    assert sha.startswith("6726825d")
    images = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(5)) * 2 - 1
    ours = fid_mod.fid_features(network, images, (-1.0, 1.0), torch.device("cpu"))
    pixels = fid_mod.to_uint8_rgb(images, (-1.0, 1.0))
    reference = FrechetInceptionDistance(feature=2048, antialias=False).inception(pixels).double()
    fidelity = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], str(REAL_WEIGHTS))(pixels)[0].double()
    assert torch.allclose(ours, reference, rtol=1e-5, atol=1e-5)
    assert torch.allclose(ours, fidelity, rtol=1e-4, atol=1e-4)
    assert math.isfinite(float(ours.sum()))
