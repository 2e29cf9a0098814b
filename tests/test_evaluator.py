"""The self-trained MNIST evaluator: accuracy, cache integrity, determinism, and Fréchet-distance anchors on real digits."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from ganzoo.metrics import frechet_distance
from ganzoo.metrics import evaluator as evaluator_mod
from ganzoo.metrics.evaluator import EvaluatorError, file_sha256, get_evaluator, train_classifier


@pytest.fixture(scope="module")
def evaluator(engine, mnist_root):
    """The MNIST evaluator from the user cache (trained there on first use, as in CI)."""
    return get_evaluator({"name": "mnist"}, mnist_root, "cpu", engine=engine)


@pytest.fixture(scope="module")
def mnist_test(engine, mnist_root):
    """The full MNIST test split, as float images in [-1, 1] (the loader keeps uint8 pixels)."""
    data = engine.load_data({"dataset": {"name": "mnist"}}, "test", mnist_root)
    return replace(data, x=data.floats())


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of (N, 1, H, W) images."""
    radius = max(1, int(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = (k / k.sum()).view(1, 1, 1, -1)
    x = F.conv2d(F.pad(x + 1, (radius, radius, 0, 0)), k)
    return F.conv2d(F.pad(x, (0, 0, radius, radius)), k.transpose(2, 3)) - 1


def test_evaluator_reaches_98_percent_and_its_protocol_tells_the_truth(evaluator, mnist_test):
    assert evaluator.test_accuracy >= 0.98
    predicted = evaluator.predict(mnist_test.x)
    assert float((predicted == mnist_test.y).double().mean()) == pytest.approx(evaluator.test_accuracy, abs=1e-6)
    protocol = evaluator.protocol()
    assert protocol["evaluator"] == "mnist-cnn-v1"
    assert protocol["evaluator_sha256"] == file_sha256(evaluator.weights_file)
    assert protocol["evaluator_test_samples"] == len(mnist_test) == 10_000
    assert protocol["evaluator_data_sha256"] == evaluator.data_sha256 and len(evaluator.data_sha256) == 64


def test_features_and_logits_have_the_documented_shapes(evaluator, mnist_test):
    x = mnist_test.x[:7]
    assert evaluator.features(x).shape == (7, 128)
    assert evaluator.logits(x).shape == (7, 10)
    up = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
    assert evaluator.features(up).shape == (7, 128)  # other sizes are resized to 28 x 28
    with pytest.raises(EvaluatorError, match=r"\(N, 1, H, W\)"):
        evaluator.features(torch.zeros(3, 3, 28, 28))


def test_a_cached_evaluator_is_reused_without_training(evaluator, engine, mnist_root, tmp_path, monkeypatch):
    shutil.copytree(evaluator.weights_file.parent, tmp_path / "evaluators")

    def no_training(*args, **kwargs):
        raise AssertionError("the cached evaluator should have been loaded, not retrained")

    monkeypatch.setattr(evaluator_mod, "train_classifier", no_training)
    again = get_evaluator({"name": "mnist", "limit": 100}, mnist_root, "cpu", cache_dir=tmp_path, engine=engine)
    assert again.weights_sha256 == evaluator.weights_sha256
    assert torch.equal(again.features(torch.zeros(2, 1, 28, 28)), evaluator.features(torch.zeros(2, 1, 28, 28)))


def test_tampered_weights_are_refused(evaluator, engine, mnist_root, tmp_path):
    shutil.copytree(evaluator.weights_file.parent, tmp_path / "evaluators")
    weights = tmp_path / "evaluators" / evaluator.weights_file.name
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(EvaluatorError, match="do not match the sha256"):
        get_evaluator({"name": "mnist"}, mnist_root, "cpu", cache_dir=tmp_path, engine=engine)


def test_training_is_deterministic_and_leaves_global_state_alone(engine, mnist_root):
    train = engine.load_data({"dataset": {"name": "mnist", "limit": 256}}, "train", mnist_root)
    rng, threads = torch.get_rng_state(), torch.get_num_threads()
    a = train_classifier(train, torch.device("cpu"), steps=12, batch_size=32, seed=3)
    b = train_classifier(train, torch.device("cpu"), steps=12, batch_size=32, seed=3)
    c = train_classifier(train, torch.device("cpu"), steps=12, batch_size=32, seed=4)
    assert torch.equal(torch.get_rng_state(), rng) and torch.get_num_threads() == threads
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_data_without_labelled_images_gets_no_evaluator(engine, tmp_path):
    with pytest.raises(EvaluatorError, match="no self-trained evaluator for data set 'ring8'"):
        get_evaluator({"name": "ring8"}, tmp_path, "cpu", engine=engine)


def test_frechet_distance_anchors_on_real_digits(evaluator, mnist_test):
    """Real vs real (random test halves) is small, real vs noise is large, blur raises it monotonically.

    The halves are drawn at random: MNIST's first 5,000 test digits come from other writers than
    its last 5,000, and the evaluator tells them apart (FD about 47 between them).
    """
    x = mnist_test.x[torch.randperm(len(mnist_test), generator=torch.Generator().manual_seed(0))]
    first, second = x[:5000], x[5000:]
    feats_first = evaluator.features(first)
    real_vs_real = frechet_distance(feats_first, evaluator.features(second))
    noise = torch.rand(5000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    real_vs_noise = frechet_distance(feats_first, evaluator.features(noise))
    blurred = [frechet_distance(feats_first, evaluator.features(blur(second, s))) for s in (0.5, 1.0, 1.5, 2.0)]
    print(f"FD real/real {real_vs_real:.4f}, real/noise {real_vs_noise:.2f}, blur {[round(b, 3) for b in blurred]}")
    assert real_vs_noise > 100 * real_vs_real
    assert real_vs_real < blurred[0] < blurred[1] < blurred[2] < blurred[3] < real_vs_noise
